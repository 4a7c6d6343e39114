package status

import (
	"context"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ghapp-creds/git-credential-ghapp/pkg/origin"
	"github.com/ghapp-creds/git-credential-ghapp/pkg/testsupport"
)

func TestOtherHelpersIsNeverNull(t *testing.T) {
	b, err := json.Marshal(&Report{})
	if err != nil || !strings.Contains(string(b), `"other_helpers":[]`) {
		t.Errorf("an empty report: %s, %v", b, err)
	}
}

func TestFindOtherHelpersCoversEveryServedHost(t *testing.T) {
	home := testsupport.Isolate(t)
	global := filepath.Join(home, ".gitconfig")
	for _, kv := range [][2]string{
		{"credential.helper", "store --file=/tmp/x"},
		{"credential.https://ghe.example.com.helper", ""},
		{"credential.https://ghe.example.com.helper", "ghapp"},
		{"credential.https://ghe.example.com.helper", "cache"},
		{"credential.https://gitlab.example.com.helper", "oauth"},
	} {
		if out, err := exec.Command("git", "config", "--global", "--add", kv[0], kv[1]).CombinedOutput(); err != nil {
			t.Fatalf("git config: %v %s", err, out)
		}
	}
	r := &Report{}
	hs, err := r.FindOtherHelpers(context.Background(), "", nil)
	if err != nil {
		t.Fatal(err)
	}
	want := OtherHelpers{
		{Helper: "store --file=/tmp/x", Scope: "global", File: global, Stores: true},
		{Helper: "cache", Scope: "global", File: global, Stores: true},
	}
	if len(hs) != 2 || len(r.OtherHelpers) != 2 || r.OtherHelpers[0] != want[0] || r.OtherHelpers[1] != want[1] {
		t.Errorf("other helpers %+v, want %+v", r.OtherHelpers, want)
	}
	o, _ := origin.ParseURL("https://gitlab.example.com")
	if _, err := r.FindOtherHelpers(context.Background(), "", &o); err != nil || len(r.OtherHelpers) != 2 || r.OtherHelpers[1].Helper != "oauth" || r.OtherHelpers[1].Stores {
		t.Errorf("for one host: %+v, %v", r.OtherHelpers, err)
	}
}
