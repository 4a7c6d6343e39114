package credential

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestRead(t *testing.T) {
	tests := []struct {
		name, in string
		want     Request
	}{
		{"basic", "protocol=https\nhost=github.com\n\n", Request{Protocol: "https", Host: "github.com"}},
		{"eof without blank line", "protocol=https\nhost=github.com", Request{Protocol: "https", Host: "github.com"}},
		{"stops at blank line", "protocol=https\n\nhost=evil.example\n", Request{Protocol: "https"}},
		{"crlf", "protocol=https\r\nhost=h:8443\r\n\r\n", Request{Protocol: "https", Host: "h:8443"}},
		{"value keeps '='", "password=a=b\n", Request{Password: "a=b"}},
		{"unknown keys ignored", "protocol=https\nfuture-key=x\nhost=h\n", Request{Protocol: "https", Host: "h"}},
		{"all fields", "protocol=https\nhost=github.com\npath=o/r.git\nusername=alice\npassword=p\npassword_expiry_utc=1700000000\n",
			Request{Protocol: "https", Host: "github.com", Path: "o/r.git", Username: "alice", Password: "p", PasswordExpiryUTC: time.Unix(1700000000, 0)}},
		{"arrays", "wwwauth[]=Basic realm=\"GitHub\"\nwwwauth[]=Bearer\ncapability[]=authtype\n",
			Request{WWWAuth: []string{`Basic realm="GitHub"`, "Bearer"}, Capabilities: []string{"authtype"}}},
		{"empty array value clears", "wwwauth[]=a\nwwwauth[]=\nwwwauth[]=b\n", Request{WWWAuth: []string{"b"}}},
		{"url split", "url=https://alice@github.com:8443/o/r.git\n",
			Request{Protocol: "https", Host: "github.com:8443", Username: "alice", Path: "o/r.git"}},
		{"url with password and escapes", "url=https://a%40b:p%3Aw@h/x%20y\n",
			Request{Protocol: "https", Host: "h", Username: "a@b", Password: "p:w", Path: "x y"}},
		{"url clears earlier parts", "username=bob\npath=p\nurl=https://h\n", Request{Protocol: "https", Host: "h"}},
		{"later keys override url", "url=https://h\nhost=other\n", Request{Protocol: "https", Host: "other"}},
		{"ipv6 host", "url=http://[::1]:8080/r\n", Request{Protocol: "http", Host: "[::1]:8080", Path: "r"}},
		{"empty input", "", Request{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Read(strings.NewReader(tt.in))
			if err != nil {
				t.Fatalf("Read: %v", err)
			}
			if !reflect.DeepEqual(*got, tt.want) {
				t.Errorf("got %+v\nwant %+v", *got, tt.want)
			}
		})
	}
}

func TestReadErrors(t *testing.T) {
	tests := []struct{ name, in, wantErr string }{
		{"no equals", "protocol=https\nghu_secretlooking\n", "line 2: not of the form key=value"},
		{"empty key", "=x\n", "not of the form"},
		{"nul", "host=a\x00b\n", "NUL"},
		{"too long", "password=" + strings.Repeat("a", MaxLine) + "\n", "longer than 65535"},
		{"url without scheme", "url=github.com/x\n", "no scheme"},
		{"bad escape", "url=https://%zz@h\n", "bad %-escape"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Read(strings.NewReader(tt.in))
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want it to mention %q", err, tt.wantErr)
			}
			if strings.Contains(err.Error(), "ghu_") {
				t.Errorf("error echoes the input line")
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error is not one line")
			}
		})
	}
}

func TestLongestLineAccepted(t *testing.T) {
	v := strings.Repeat("a", MaxLine-len("password=")-1)
	got, err := Read(strings.NewReader("password=" + v + "\n"))
	if err != nil || got.Password != v {
		t.Fatalf("a %d-byte line was not accepted: %v", MaxLine, err)
	}
}

func TestAnswerRoundTrip(t *testing.T) {
	a := Answer{Username: "octocat", Password: "ghu_x", Expiry: time.Unix(1800000000, 0)}
	var buf bytes.Buffer
	if _, err := a.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	want := "username=octocat\npassword=ghu_x\npassword_expiry_utc=1800000000\n"
	if buf.String() != want {
		t.Fatalf("wrote %q, want %q", buf.String(), want)
	}
	req, err := Read(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if req.Username != a.Username || req.Password != a.Password || !req.PasswordExpiryUTC.Equal(a.Expiry) {
		t.Fatalf("read back %+v", req)
	}
}

func TestAnswerRefusesLineBreaks(t *testing.T) {
	for _, bad := range []string{"a\nhost=evil", "a\rb", "a\x00b"} {
		var buf bytes.Buffer
		if _, err := (Answer{Username: "u", Password: bad}).WriteTo(&buf); err == nil {
			t.Errorf("password %q accepted", bad)
		}
		if buf.Len() != 0 {
			t.Errorf("half an answer written: %q", buf.String())
		}
	}
}

func TestAnswerQuit(t *testing.T) {
	var b strings.Builder
	if _, err := (Answer{Quit: true}).WriteTo(&b); err != nil || b.String() != "quit=1\n" {
		t.Errorf("quit answer %q, %v", b.String(), err)
	}
}
