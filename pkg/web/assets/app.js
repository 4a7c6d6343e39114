// The sign-in page: shows api/status and keeps it current without a
// reload, and starts and ends sign-ins. Text from the server is inserted
// only as text (textContent), never as HTML; every URL is relative, so
// the page works under whatever prefix a proxy serves it at.
'use strict';

(function () {
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const fast = 2000; // while a code waits to be entered
  const slow = 5000;
  // Every request through jupyter-server-proxy counts as activity, so a
  // forgotten tab that kept asking would keep the hub from stopping an
  // idle server: updates pause after this long without a click or a key,
  // unless a code is waiting.
  const idle = 30 * 60 * 1000;

  let skew = 0; // the server's clock minus ours, in ms, from its Date header
  let shown = ''; // what the page last drew, to redraw only on change
  let timer = 0;
  let busy = false;
  let again = false; // a refresh was asked for while one was running
  let report = null;
  let used = Date.now(); // the last click or key press
  let paused = false;

  // The secret of a TCP server arrives as ?token=; its cookie now stands
  // in for it, so the address bar (and a copy of it) need not show it.
  if (new URLSearchParams(location.search).has('token')) {
    history.replaceState(null, '', location.pathname);
  }

  // el builds an element: attrs are attributes, children nodes or text.
  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v !== null && v !== undefined && v !== false) e.setAttribute(k, v);
    }
    for (const c of children) {
      if (c === null || c === undefined || c === false) continue;
      e.append(typeof c === 'string' ? document.createTextNode(c) : c);
    }
    return e;
  }

  // webLink returns u when it is an http(s) URL, else null.
  function webLink(u) {
    try {
      const x = new URL(u);
      return x.protocol === 'https:' || x.protocol === 'http:' ? x.href : null;
    } catch (e) {
      return null;
    }
  }

  function externalLink(href, text, cls) {
    const u = webLink(href);
    if (!u) return el('span', {class: cls}, text);
    return el('a', {href: u, target: '_blank', rel: 'noopener noreferrer', class: cls}, text);
  }

  function now() {
    return Date.now() + skew;
  }

  // clock is a countdown: 14:52, or 1:02:03 past an hour.
  function clock(ms) {
    const s = Math.max(0, Math.floor(ms / 1000));
    const h = Math.floor(s / 3600);
    const m = Math.floor((s % 3600) / 60);
    const ss = String(s % 60).padStart(2, '0');
    return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
  }

  // span is a duration in words: 7 h 59 min, 12 min, 40 s.
  function span(ms) {
    const s = Math.max(0, Math.floor(ms / 1000));
    if (s < 60) return `${s} s`;
    const m = Math.floor(s / 60);
    if (m < 60) return `${m} min`;
    const h = Math.floor(m / 60);
    if (h < 48) return m % 60 ? `${h} h ${m % 60} min` : `${h} h`;
    return `${Math.floor(h / 24)} days`;
  }

  function showProblem(text) {
    const p = document.getElementById('problem');
    p.textContent = text || '';
    p.hidden = !text;
  }

  async function call(path, form) {
    const opts = {credentials: 'same-origin', cache: 'no-store', headers: {}};
    if (form) {
      opts.method = 'POST';
      opts.headers['X-CSRF-Token'] = csrf;
      opts.body = new URLSearchParams(form);
    }
    const r = await fetch(path, opts);
    const date = Date.parse(r.headers.get('Date') || '');
    if (!Number.isNaN(date)) skew = date - Date.now();
    let body = null;
    try {
      body = await r.json();
    } catch (e) {
      body = null;
    }
    if (!r.ok) {
      const err = new Error((body && body.error) || `the server answered ${r.status}`);
      err.status = r.status;
      throw err;
    }
    return body;
  }

  function schedule() {
    clearTimeout(timer);
    const waiting = report && report.pending && report.pending.length > 0;
    if (!waiting && Date.now() - used > idle) {
      paused = true;
      document.getElementById('updated').textContent =
        'Updates paused after 30 minutes without use; click anywhere on the page to resume.';
      return;
    }
    timer = setTimeout(refresh, waiting ? fast : slow);
  }

  function wake() {
    used = Date.now();
    if (paused) {
      paused = false;
      refresh();
    }
  }

  async function refresh() {
    if (busy) {
      again = true;
      return;
    }
    busy = true;
    try {
      report = await call('api/status');
      showProblem('');
      draw(report);
      document.getElementById('updated').textContent =
        'Updated ' + new Date().toLocaleTimeString();
    } catch (e) {
      if (e.status === 403) {
        showProblem('This page is no longer valid (the server restarted?): ' + e.message);
      } else {
        showProblem('Cannot get the status: ' + e.message + '. Retrying…');
      }
    } finally {
      busy = false;
      if (again) {
        again = false;
        setTimeout(refresh, 0);
      } else if (!document.hidden) {
        schedule();
      }
    }
  }

  // draw redraws only what changed, so a selection or a focused button
  // survives the polling; the countdowns tick on their own.
  function draw(rep) {
    const key = JSON.stringify({
      a: rep.accounts.map((a) => ({...a, expires_in_seconds: 0})),
      p: rep.pending,
    });
    if (key === shown) return;
    shown = key;
    drawPending(rep.pending);
    drawAccounts(rep.accounts);
    tick();
  }

  function drawPending(pending) {
    const box = document.getElementById('pending');
    document.getElementById('pending-section').hidden = pending.length === 0;
    box.replaceChildren(...pending.map((p) => {
      const where = webLink(p.verification_uri);
      const label = where ? where.replace(/^https:\/\//, '').replace(/\/$/, '') : '';
      return el('div', {class: 'card pending', 'data-host': p.url},
        el('p', {class: 'lead'}, 'To sign in to ', el('strong', {}, p.host), ', enter this code on GitHub:'),
        el('div', {class: 'code-row'},
          el('output', {class: 'code', 'aria-label': 'Code'}, p.user_code),
          el('button', {type: 'button', class: 'secondary', 'data-action': 'copy', 'data-code': p.user_code}, 'Copy')),
        el('div', {class: 'code-actions'},
          where ? el('a', {class: 'button primary', href: where, target: '_blank', rel: 'noopener noreferrer'},
            `Open ${label} ↗`) : null,
          el('span', {class: 'countdown muted', 'data-until': p.expires_at, 'data-kind': 'code'}, '')));
    }));
  }

  function drawAccounts(accounts) {
    const box = document.getElementById('accounts');
    if (accounts.length === 0) {
      box.replaceChildren(el('p', {class: 'muted empty'}, 'No account is signed in. Use a Sign in button below, or run a git command that needs GitHub.'));
      return;
    }
    box.replaceChildren(...accounts.map(drawAccount));
  }

  function drawAccount(a) {
    const card = el('div', {class: 'card account', 'data-login': a.login, 'data-host': a.url},
      el('div', {class: 'account-head'},
        el('div', {},
          el('h3', {}, el('span', {class: 'login'}, a.login), el('span', {class: 'host'}, ` on ${a.host}`)),
          el('p', {class: 'muted'}, el('span', {'data-until': a.expires_at, 'data-kind': 'token'}, ''))),
        el('button', {type: 'button', class: 'danger', 'data-action': 'signout', 'data-host': a.url, 'data-login': a.login},
          'Sign out')));
    if (a.error) card.append(el('p', {class: 'problem'}, a.error));
    const ins = a.installations || [];
    if (ins.length === 0 && !a.error) {
      card.append(el('p', {}, 'The app is not installed on any repository this account can reach.'));
    } else if (ins.length > 0) {
      card.append(el('h4', {}, 'Repositories this token can reach'));
      for (const i of ins) card.append(drawInstallation(a, i));
    }
    if (a.truncated) {
      card.append(el('p', {class: 'muted'}, 'The list is cut short: the server listed more than this page reads.'));
    }
    if (a.install_url) {
      card.append(el('p', {class: 'install'},
        externalLink(a.install_url, `Install ${a.app_slug || 'the app'} on ${ins.length ? 'more' : 'your'} repositories ↗`)));
    }
    return card;
  }

  function drawInstallation(a, i) {
    const kind = i.account_type === 'Organization' ? 'organization' : 'user';
    const head = el('p', {class: 'installation-head'}, el('strong', {}, i.account), ` ${kind}`);
    const box = el('div', {class: 'installation'}, head);
    if (i.repositories === null || i.repositories === undefined) {
      box.append(el('p', {class: 'muted'}, `Every repository of ${i.account}.`));
      return box;
    }
    if (i.repositories.length === 0) {
      box.append(el('p', {class: 'muted'}, 'No repository you can reach.'));
      return box;
    }
    box.append(el('ul', {class: 'repos'}, ...i.repositories.map((r) =>
      el('li', {}, externalLink(a.url ? `${a.url.replace(/\/$/, '')}/${r}` : '', r)))));
    return box;
  }

  // tick updates every countdown once a second.
  function tick() {
    for (const e of document.querySelectorAll('[data-until]')) {
      const left = Date.parse(e.dataset.until) - now();
      if (e.dataset.kind === 'code') {
        e.textContent = left > 0 ? `Expires in ${clock(left)}` : 'Expired: sign in again';
        e.classList.toggle('expired', left <= 0);
      } else {
        const until = new Date(Date.parse(e.dataset.until)).toLocaleTimeString([], {hour: '2-digit', minute: '2-digit'});
        e.textContent = left > 0 ? `Token valid for ${span(left)} (until ${until})` : 'Token expired';
      }
    }
  }

  async function signIn(button) {
    const label = button.textContent;
    button.disabled = true;
    button.textContent = 'Starting…';
    try {
      await call('api/login', {host: button.dataset.host});
      showProblem('');
    } catch (e) {
      showProblem('Cannot start the sign-in: ' + e.message);
    } finally {
      button.disabled = false;
      button.textContent = label;
    }
    await refresh();
  }

  async function signOut(button) {
    button.disabled = true;
    button.textContent = 'Signing out…';
    try {
      await call('api/logout', {host: button.dataset.host, login: button.dataset.login});
      showProblem('');
    } catch (e) {
      showProblem('Cannot sign out: ' + e.message);
      button.disabled = false;
      button.textContent = 'Sign out';
    }
    await refresh();
  }

  async function copy(button) {
    const code = button.dataset.code;
    let ok = false;
    try {
      await navigator.clipboard.writeText(code);
      ok = true;
    } catch (e) {
      // No clipboard API (plain http, or a frame without the permission):
      // select the code so that Ctrl+C copies it.
      const out = button.parentElement.querySelector('.code');
      const range = document.createRange();
      range.selectNodeContents(out);
      const sel = window.getSelection();
      sel.removeAllRanges();
      sel.addRange(range);
      try {
        ok = document.execCommand('copy');
      } catch (e2) {
        ok = false;
      }
    }
    button.textContent = ok ? 'Copied' : 'Press Ctrl+C';
    setTimeout(() => { button.textContent = 'Copy'; }, 2000);
  }

  document.addEventListener('click', (ev) => {
    const b = ev.target.closest('button[data-action]');
    if (!b || b.disabled) return;
    if (b.dataset.action === 'signin') signIn(b);
    else if (b.dataset.action === 'signout') signOut(b);
    else if (b.dataset.action === 'copy') copy(b);
  });

  document.addEventListener('pointerdown', wake);
  document.addEventListener('keydown', wake);

  // A hidden tab need not ask; it catches up when seen again.
  document.addEventListener('visibilitychange', () => {
    if (document.hidden) {
      clearTimeout(timer);
    } else {
      used = Date.now();
      paused = false;
      refresh();
    }
  });

  setInterval(tick, 1000);
  window.__loadedOnce = true;
  refresh();
})();
