//go:build integration

package sandbox_test

import (
	"html"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/grid-kyc/kyc-link/pkg/gridhook"
	"github.com/grid-kyc/kyc-link/pkg/sandbox"
)

// TestInboxCommandsVerifyByHand runs the page's copy-paste commands, as a
// developer would, in a shell: openssl and Node.js must both accept the
// webhook, with the key and raw body fetched from the server.
func TestInboxCommandsVerifyByHand(t *testing.T) {
	for _, tool := range []string{"openssl", "node", "curl"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is not installed (it ships with this project's machine image): %v", tool, err)
		}
	}
	k := signingKey(t)
	in, base := newInbox(t, k)
	deliver(t, base, k, approvedBody)
	// A forged body: the same commands must say no.
	deliver(t, base, nil, strings.Replace(approvedBody, "APPROVED", "REJECTED", 2),
		gridhook.SignatureHeader, in.Entries()[0].Header.Get(gridhook.SignatureHeader))
	_, page := get(t, base+sandbox.InboxPrefix)
	for seq, want := range map[int][2]string{1: {"Verified OK\n", "verified\n"}, 2: {"Verification failure", "NOT verified\n"}} {
		section := regexp.MustCompile(`(?s)<section class="hook" id="hook-` + strconv.Itoa(seq) + `".*?</section>`).FindString(page)
		for i, class := range []string{"cmd-openssl", "cmd-node"} {
			m := regexp.MustCompile(`(?s)<pre class="` + class + `">(.*?)</pre>`).FindStringSubmatch(section)
			if m == nil {
				t.Fatalf("#%d has no %s command", seq, class)
			}
			cmd := exec.Command("bash", "-c", html.UnescapeString(m[1]))
			cmd.Dir = t.TempDir()
			out, _ := cmd.CombinedOutput()
			if !strings.Contains(string(out), want[i]) {
				t.Errorf("#%d %s printed %q; want %q", seq, class, out, want[i])
			}
		}
	}
}

func TestInboxCommandsQuoteWhatArrived(t *testing.T) {
	k := signingKey(t)
	_, base := newInbox(t, k)
	// A hostile header must not turn the copy-paste command into another one.
	deliver(t, base, nil, approvedBody, gridhook.SignatureHeader, `{"v":"1","s":"x'; touch pwned; echo '"}`)
	_, page := get(t, base+sandbox.InboxPrefix)
	m := regexp.MustCompile(`(?s)<pre class="cmd-openssl">(.*?)</pre>`).FindStringSubmatch(page)
	if m == nil {
		t.Fatal("no command")
	}
	dir := t.TempDir()
	cmd := exec.Command("bash", "-c", html.UnescapeString(m[1]))
	cmd.Dir = dir
	cmd.Run()
	if _, err := exec.Command("test", "-e", dir+"/pwned").Output(); err == nil {
		t.Fatal("the header's text ran as a command")
	}
}
