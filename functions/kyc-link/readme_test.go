//go:build integration

package main_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/grid-kyc/kyc-link/internal/logbuf"
	"github.com/grid-kyc/kyc-link/pkg/sandbox"
)

// The README's first integration: the heading its sh block follows, the
// comment of its one step a person does in a browser, and what the block
// must say for this test to check it.
const (
	firstIntegration = "## Your first integration"
	browserStep      = "choose Approve"
	apiFromEnv       = "API=${API:-http://127.0.0.1:3000}"
)

// TestREADMEFirstIntegration runs the README's "Your first integration"
// block as written, with bash, against the binary started as make run
// starts it (embedded seed, a signing key file), its API pointed at it.
// The block's browser step (open the kycUrl, choose Approve) is done as
// the sandbox page's form does, then the rest of the block runs in the
// same shell. Every step is checked against what the README says of it:
// its status (from the server's request log), what it printed, and what
// the inbox received.
func TestREADMEFirstIntegration(t *testing.T) {
	block := readmeBlock(t, firstIntegration)
	for _, says := range []string{apiFromEnv, browserStep, "kycStatus APPROVED", "changes nothing", "POST /sandbox/webhooks/test sends one now"} {
		if !strings.Contains(block, says) {
			t.Fatalf("the README's first integration no longer says %q; change this test with it:\n%s", says, block)
		}
	}
	steps, rest := splitAtBrowserStep(t, block)
	base, logs := start(t, "KYC_SIGNING_KEY_FILE="+filepath.Join(t.TempDir(), "sandbox-signing-key.pem"))
	inbox := base + "/sandbox/inbox/platform-demo"

	sh := startShell(t, base)
	out := sh.run(t, steps)
	if len(out) != 4 {
		t.Fatalf("steps 1-3 printed %d lines; want 4 (the id, the config, the test webhook, the link):\n%s\nstderr:\n%s",
			len(out), strings.Join(out, "\n"), sh.stderr)
	}

	// 1. The customer was created: its id is printed.
	id := out[0]
	if !regexp.MustCompile(`^Customer:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`).MatchString(id) {
		t.Fatalf("step 1 printed %q; want the new customer's id", id)
	}
	// 2. PATCH /config answers the endpoint the seed already set; the test
	// webhook reached it and it answered 200.
	config := decodeLine[struct{ ID, WebhookEndpoint string }](t, out[1])
	if config.ID != "PlatformConfig:platform-demo" || config.WebhookEndpoint != inbox {
		t.Errorf("PATCH /config printed %s; want the demo platform's endpoint %s", out[1], inbox)
	}
	sent := decodeLine[struct {
		URL    string `json:"url"`
		Status int    `json:"response_status"`
	}](t, out[2])
	if sent.URL != inbox || sent.Status != 200 {
		t.Errorf("POST /sandbox/webhooks/test printed %s; want the inbox's 200", out[2])
	}
	// Both calls answer only once the test webhook (if any) was answered,
	// so the inbox holds exactly what they sent: one TEST, from POST
	// /sandbox/webhooks/test; the PATCH sent none.
	if tests := hooksOf(readInboxHooks(t, base), "", "TEST"); len(tests) != 1 || !tests[0].verified {
		t.Errorf("the inbox has TEST webhooks %+v; want one, verified (the PATCH changes nothing and sends nothing)", tests)
	}
	// 3. The link.
	link := decodeLine[struct{ KycURL, ExpiresAt, Provider, Token string }](t, out[3])
	expires, err := time.Parse(time.RFC3339, link.ExpiresAt)
	if !strings.HasPrefix(link.KycURL, base+sandbox.PathPrefix) || link.Provider != "SUMSUB" || link.Token == "" || err != nil || !expires.After(time.Now()) {
		t.Fatalf("step 3 printed %s; want a sandbox link", out[3])
	}

	// The browser step: open the kycUrl, choose Approve.
	resp, err := http.Get(link.KycURL)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(page), `value="`+sandbox.Approve+`"`) {
		t.Fatalf("the kycUrl's page = %d, without an Approve button:\n%s", resp.StatusCode, page)
	}
	decideByForm(t, link.KycURL, sandbox.Approve)

	out = sh.finish(t, rest)
	if len(out) != 2 {
		t.Fatalf("steps 4-5 printed %d lines; want 2 (the customer, the list):\n%s\nstderr:\n%s",
			len(out), strings.Join(out, "\n"), sh.stderr)
	}
	// 5. The customer read back, approved; the list holds only PENDING
	// customers, so not this one.
	c := decodeLine[struct{ ID, PlatformCustomerID, CustomerType, KycStatus, Email string }](t, out[0])
	if c.ID != id || c.KycStatus != "APPROVED" || c.PlatformCustomerID != "user-42" || c.CustomerType != "INDIVIDUAL" || c.Email != "jane@example.com" {
		t.Errorf("GET /customers/{id} printed %s; want customer %s with kycStatus APPROVED", out[0], id)
	}
	list := decodeLine[struct {
		Data []struct{ ID, KycStatus string }
	}](t, out[1])
	for _, l := range list.Data {
		if l.ID == id || l.KycStatus != "PENDING" {
			t.Errorf("GET /customers?kycStatus=PENDING listed %+v", l)
		}
	}
	if all := strings.Join(sh.printed, "\n"); strings.Contains(all, "123-45-6789") || strings.Contains(all, "identifier") {
		t.Errorf("an answer carries the identifier:\n%s", all)
	}

	// 4. The inbox receives both webhooks, in either order, each verified
	// against the served key. Delivery runs in the background: read the
	// inbox until both are there.
	var hooks []inboxHook
	eventually(t, 30*time.Second, "the inbox to receive CUSTOMER.KYC_PENDING and CUSTOMER.KYC_APPROVED", func() bool {
		hooks = readInboxHooks(t, base)
		return len(hooksOf(hooks, id, "CUSTOMER.KYC_PENDING")) > 0 && len(hooksOf(hooks, id, "CUSTOMER.KYC_APPROVED")) > 0
	})
	for _, h := range hooks {
		if !h.verified {
			t.Errorf("the inbox did not verify %+v", h)
		}
	}
	if tests := hooksOf(hooks, "", "TEST"); len(tests) != 1 {
		t.Errorf("the inbox has %d TEST webhooks; want 1", len(tests))
	}

	// Every request of the journey answered what the README says. A log
	// line is written just after its answer: wait for the last ones.
	want := map[string]struct{ status, count int }{
		"POST /customers": {201, 1}, "PATCH /config": {200, 1}, "POST /sandbox/webhooks/test": {200, 1},
		"POST /customers/{customerId}/kyc-link": {201, 1}, "GET /customers/{customerId}": {200, 1}, "GET /customers": {200, 1},
		"POST /webhooks/sumsub": {200, 2}, // the page's Approve: applicantPending, then the decision
	}
	var lines []requestLine
	eventually(t, 20*time.Second, "the request log lines of every step", func() bool {
		lines = nil
		for _, l := range requestLines(t, logs) {
			if _, ok := want[l.Route]; ok {
				lines = append(lines, l)
			}
		}
		return len(lines) >= 8
	})
	count := map[string]int{}
	for _, l := range lines {
		count[l.Route]++
		if l.Status != want[l.Route].status {
			t.Errorf("%s answered %d; want %d (log line %s)", l.Route, l.Status, want[l.Route].status, l.raw)
		}
		if l.Route == "PATCH /config" && (l.TestStatus != nil || l.TestError != "") {
			t.Errorf("PATCH /config sent a TEST webhook: %s", l.raw)
		}
	}
	for route, w := range want {
		if count[route] != w.count {
			t.Errorf("%d requests to %s; want %d", count[route], route, w.count)
		}
	}
}

// readmeBlock is the first sh code block after heading in README.md.
func readmeBlock(t *testing.T, heading string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, after, found := strings.Cut(string(b), "\n"+heading+"\n")
	if !found {
		t.Fatalf("README.md has no heading %q", heading)
	}
	_, block, found := strings.Cut(after, "\n```sh\n")
	block, _, closed := strings.Cut(block, "\n```\n")
	if !found || !closed {
		t.Fatalf("README.md has no sh block under %q", heading)
	}
	return block + "\n"
}

// splitAtBrowserStep splits block before the comment that follows the
// browser step's commands: what runs before a person opens the kycUrl,
// and the rest.
func splitAtBrowserStep(t *testing.T, block string) (before, rest string) {
	t.Helper()
	lines := strings.SplitAfter(block, "\n")
	step := -1
	for i, l := range lines {
		if strings.HasPrefix(l, "#") && strings.Contains(l, browserStep) {
			step = i
			break
		}
	}
	for i := step + 1; step >= 0 && i < len(lines); i++ {
		if strings.HasPrefix(lines[i], "#") {
			return strings.Join(lines[:i], ""), strings.Join(lines[i:], "")
		}
	}
	t.Fatalf("the block has no comment saying %q followed by its commands and a next step:\n%s", browserStep, block)
	return "", ""
}

// shell is one bash reading a script from its stdin, as a terminal where
// the block is pasted in two parts: variables set before the browser step
// are there after it. -e and pipefail: any failing command ends it.
type shell struct {
	cmd     *exec.Cmd
	stdin   io.WriteCloser
	lines   chan string // stdout, closed at its end
	stderr  *logbuf.Buffer
	printed []string
	marker  string
}

func startShell(t *testing.T, api string) *shell {
	t.Helper()
	s := &shell{stderr: &logbuf.Buffer{}, lines: make(chan string, 64), marker: fmt.Sprintf("readme-test-step-done-%d", time.Now().UnixNano())}
	s.cmd = exec.Command("bash", "-e", "-o", "pipefail", "-s")
	s.cmd.Dir = t.TempDir()
	s.cmd.Env = append(os.Environ(), "API="+api)
	s.cmd.Stderr = s.stderr
	var err error
	if s.stdin, err = s.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	stdout, err := s.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(s.lines)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			s.lines <- sc.Text()
		}
	}()
	t.Cleanup(func() {
		s.stdin.Close()
		s.cmd.Process.Kill()
		for range s.lines { // let the reader end before Wait closes its pipe
		}
		s.cmd.Wait()
	})
	return s
}

// run sends script and returns the lines it printed, once it has run.
func (s *shell) run(t *testing.T, script string) []string {
	t.Helper()
	if _, err := io.WriteString(s.stdin, script+"echo "+s.marker+"\n"); err != nil {
		t.Fatal(err)
	}
	return s.read(t, true)
}

// finish sends script, ends the input and returns the lines it printed;
// bash must exit 0.
func (s *shell) finish(t *testing.T, script string) []string {
	t.Helper()
	if _, err := io.WriteString(s.stdin, script); err != nil {
		t.Fatal(err)
	}
	s.stdin.Close()
	out := s.read(t, false)
	if err := s.cmd.Wait(); err != nil {
		t.Fatalf("the README's block: %v\nprinted:\n%s\nstderr:\n%s", err, strings.Join(s.printed, "\n"), s.stderr)
	}
	return out
}

// read collects stdout up to the marker (or its end), within a minute.
func (s *shell) read(t *testing.T, toMarker bool) []string {
	t.Helper()
	var out []string
	deadline := time.After(time.Minute)
	for {
		select {
		case l, open := <-s.lines:
			switch {
			case !open && toMarker:
				t.Fatalf("the README's block ended early\nprinted:\n%s\nstderr:\n%s", strings.Join(append(s.printed, out...), "\n"), s.stderr)
			case !open:
				s.printed = append(s.printed, out...)
				return out
			case toMarker && l == s.marker:
				s.printed = append(s.printed, out...)
				return out
			}
			out = append(out, l)
		case <-deadline:
			t.Fatalf("the README's block did not finish within a minute\nprinted:\n%s\nstderr:\n%s", strings.Join(append(s.printed, out...), "\n"), s.stderr)
		}
	}
}

func decodeLine[T any](t *testing.T, line string) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(line), &v); err != nil {
		t.Fatalf("%q is not the JSON answer the README shows: %v", line, err)
	}
	return v
}

type inboxHook struct {
	typ, customer string
	verified      bool
}

var hookSection = regexp.MustCompile(`<section class="hook"[^>]* data-type="([^"]*)" data-customer="([^"]*)" data-verified="([^"]*)"`)

// readInboxHooks is every webhook the inbox page lists.
func readInboxHooks(t *testing.T, base string) []inboxHook {
	t.Helper()
	resp, err := http.Get(base + sandbox.InboxPrefix)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("the inbox = %d %s", resp.StatusCode, b)
	}
	var hooks []inboxHook
	for _, m := range hookSection.FindAllStringSubmatch(string(b), -1) {
		hooks = append(hooks, inboxHook{typ: m[1], customer: m[2], verified: m[3] == "true"})
	}
	return hooks
}

func hooksOf(hooks []inboxHook, customer, typ string) []inboxHook {
	var out []inboxHook
	for _, h := range hooks {
		if h.customer == customer && h.typ == typ {
			out = append(out, h)
		}
	}
	return out
}

// requestLine is one API request's log line.
type requestLine struct {
	Route      string `json:"route"`
	Status     int    `json:"status"`
	TestStatus *int   `json:"test_webhook_status"`
	TestError  string `json:"test_webhook_error"`
	raw        string
}

func requestLines(t *testing.T, logs *logbuf.Buffer) []requestLine {
	t.Helper()
	var out []requestLine
	for _, raw := range strings.Split(logs.String(), "\n") {
		var l struct {
			Msg string `json:"msg"`
			requestLine
		}
		if json.Unmarshal([]byte(raw), &l) == nil && l.Msg == "request" {
			l.requestLine.raw = raw
			out = append(out, l.requestLine)
		}
	}
	return out
}

// eventually polls cond until it holds, failing after within.
func eventually(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(within); !cond(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("gave up waiting for %s after %v", what, within)
		}
	}
}
