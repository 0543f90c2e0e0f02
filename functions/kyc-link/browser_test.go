//go:build integration

package main_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/grid-kyc/kyc-link/pkg/app"
	"github.com/grid-kyc/kyc-link/pkg/gridhook"
	"github.com/grid-kyc/kyc-link/pkg/sandbox"
)

// The seeded customers the browser journey decides on (testSeed adds the
// third to the embedded seed: the demo platform has two that can get a link).
const (
	individual = "Customer:019542f5-b3e7-1d02-0000-000000000001"
	business   = "Customer:019542f5-b3e7-1d02-0000-000000000002"
	third      = "Customer:019542f5-b3e7-1d02-0000-000000000006"
	// Already PENDING: a Hold sends no webhook at all (applicantPending
	// changes nothing, and Grid has no HOLD webhook).
	pending  = "Customer:019542f5-b3e7-1d02-0000-000000000008"
	demoAuth = "demo-token:demo-secret-not-for-production"
)

// testSeed writes the embedded seed plus customers, platforms and tokens to
// a file for KYC_SEED_FILE.
func testSeed(t *testing.T, customers, platforms, tokens []map[string]any) string {
	t.Helper()
	var seed map[string]any
	if err := json.Unmarshal(app.DefaultSeed(), &seed); err != nil {
		t.Fatal(err)
	}
	for _, c := range customers {
		seed["customers"] = append(seed["customers"].([]any), c)
	}
	for _, p := range platforms {
		seed["platforms"] = append(seed["platforms"].([]any), p)
	}
	apiTokens := seed["apiTokens"].(map[string]any)
	for _, tok := range tokens {
		apiTokens["tokens"] = append(apiTokens["tokens"].([]any), tok)
	}
	b, _ := json.Marshal(seed)
	path := filepath.Join(t.TempDir(), "seed.json")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func individualOf(id, platform string) map[string]any {
	return map[string]any{"id": id, "platformId": platform, "customerType": "INDIVIDUAL", "kycStatus": "UNVERIFIED",
		"createdAt": "2025-10-13T12:00:00Z", "updatedAt": "2025-10-13T12:00:00Z"}
}

// link creates a link through the API, as the README's curl does, and
// returns its kycUrl.
func link(t *testing.T, base, user, customerID, body string) string {
	t.Helper()
	id, secret, _ := strings.Cut(user, ":")
	resp, got := call(t, "POST", base+"/customers/"+customerID+"/kyc-link", basicAuth(id, secret), body,
		"Idempotency-Key", fmt.Sprint(time.Now().UnixNano()))
	if resp.StatusCode != 201 {
		t.Fatalf("link for %s = %d %v", customerID, resp.StatusCode, got)
	}
	return got["kycUrl"].(string)
}

// servedKey is the key GET /sandbox/webhook-key serves.
func servedKey(t *testing.T, base string) (string, *ecdsa.PublicKey) {
	t.Helper()
	resp, err := http.Get(base + sandbox.WebhookKeyPath)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	block, _ := pem.Decode(b)
	if resp.StatusCode != 200 || block == nil {
		t.Fatalf("%s = %d %q", sandbox.WebhookKeyPath, resp.StatusCode, b)
	}
	pub, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return string(b), pub.(*ecdsa.PublicKey)
}

// chromium is Debian's Chromium, which make test installs; missing, the
// test fails with the reason.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"/usr/bin/chromium", "chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("chromium is not installed: make test installs Debian's package (as root: apt-get install chromium); the browser journey needs it")
	return ""
}

// browser starts a headless Chromium for t, emulating a phone's screen.
func browser(t *testing.T, deadline time.Duration) context.Context {
	t.Helper()
	profile := t.TempDir() // removed after the browser has stopped
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	t.Cleanup(cancel)
	alloc, stopAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(chromium(t)), chromedp.UserDataDir(profile),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true), chromedp.Flag("no-default-browser-check", true))
	t.Cleanup(stopAlloc)
	bctx, stopBrowser := chromedp.NewContext(alloc)
	t.Cleanup(stopBrowser)
	if err := chromedp.Do(bctx, chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(3), chromedp.EmulateMobile)); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return bctx
}

// do runs steps, giving up after within: every wait in this test has a
// deadline, and a missed one fails with what the page showed.
func do(t *testing.T, ctx context.Context, within time.Duration, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, within)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		page, _ := chromedp.Run(context.WithoutCancel(ctx), chromedp.Evaluate[string](`document.documentElement.outerHTML`))
		t.Fatalf("%s: %v\npage:\n%s", what, err, page)
	}
}

func eval[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("%s: %v", expr, err)
	}
	return v
}

// fitsAPhone: the page has the viewport tag and nothing makes it wider than
// the phone's screen (long ids and bodies wrap, tables scroll inside).
const fitsAPhone = `(document.querySelector('meta[name=viewport]') || {}).content === 'width=device-width, initial-scale=1' &&
	document.documentElement.scrollWidth <= window.innerWidth`

// inboxSummary is what the inbox page shows, read from its DOM (fits is
// measured with every raw body, header list and command opened).
type inboxSummary struct {
	Fingerprint string `json:"fingerprint"`
	Hooks       []struct {
		Type      string `json:"type"`
		Customer  string `json:"customer"`
		Verified  string `json:"verified"`
		Signature string `json:"signature"`
	} `json:"hooks"`
	Status map[string]string `json:"status"`
	Fits   bool              `json:"fits"`
}

const readInbox = `(() => ({
	fingerprint: (document.querySelector('#fingerprint') || {}).textContent || '',
	hooks: [...document.querySelectorAll('section.hook')].map(s => ({type: s.dataset.type, customer: s.dataset.customer,
		verified: s.dataset.verified, signature: s.querySelector('dd .ok, dd .bad').textContent})),
	status: Object.fromEntries([...document.querySelectorAll('#customers tr[data-customer]')].map(r => [r.dataset.customer, r.dataset.status])),
	fits: (document.querySelectorAll('details').forEach(d => { d.open = true }), ` + fitsAPhone + `),
}))()`

// TestBrowserJourney is the journey a platform developer clicks through on
// make run, in headless Chromium on a phone-sized screen: a link per
// customer (made through the API), Approve, Reject and Hold on the sandbox
// page, then the inbox: each Grid webhook verified against the served key,
// and the held customers' records at HOLD though no webhook says so (one of
// them got no webhook at all).
func TestBrowserJourney(t *testing.T) {
	ctx := browser(t, 3*time.Minute)
	platform := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `<!doctype html><title>platform</title><p id="landed">back on the platform</p>`)
	}))
	defer platform.Close()
	alreadyPending := individualOf(pending, "platform-demo")
	alreadyPending["kycStatus"] = "PENDING"
	base, logs := start(t, "KYC_SEED_FILE="+testSeed(t, []map[string]any{individualOf(third, "platform-demo"), alreadyPending}, nil, nil),
		"KYC_SIGNING_KEY_FILE="+filepath.Join(t.TempDir(), "key.pem"))

	for _, step := range []struct {
		customer, body, decision, after string
	}{
		// The seed's demo redirect is a placeholder: the page stays, pointing to the inbox.
		{individual, `{"redirectUri":"https://app.example.com/onboarding/done"}`, sandbox.Approve, "#placeholder"},
		// No redirectUri: the page stays.
		{business, `{}`, sandbox.Reject, "#decided"},
		// A real redirectUri: the page says where it goes, then goes there.
		{third, `{"redirectUri":"` + platform.URL + `/onboarding/done"}`, sandbox.Hold, "#continue"},
		{pending, `{}`, sandbox.Hold, "#decided"},
	} {
		kycURL := link(t, base, demoAuth, step.customer, step.body)
		button := `button[value="` + step.decision + `"]`
		do(t, ctx, 20*time.Second, "open the link page", chromedp.Navigate(kycURL), chromedp.WaitVisible(chromedp.CSS(button)))
		if !eval[bool](t, ctx, fitsAPhone) {
			t.Errorf("the link page for %s does not fit a phone's screen", step.customer)
		}
		if icon := eval[string](t, ctx, `fetch('/favicon.ico').then(r => r.status + ' ' + r.headers.get('content-type'))`); icon != "200 image/x-icon" {
			t.Errorf("/favicon.ico = %s", icon)
		}
		do(t, ctx, 20*time.Second, step.decision, chromedp.Click(chromedp.CSS(button)), chromedp.WaitVisible(chromedp.CSS(step.after)))
		if got := eval[string](t, ctx, `document.querySelector('#decided').textContent`); !strings.HasPrefix(got, "Decision sent: "+step.decision+". See the platform inbox") {
			t.Errorf("after %s the page says %q", step.decision, got)
		}
		if step.after == "#continue" {
			if got := eval[string](t, ctx, `document.querySelector('#continue').textContent`); !strings.Contains(got, "Continuing to "+strings.TrimPrefix(platform.URL, "http://")) {
				t.Errorf("the page says %q; want where it sends the user", got)
			}
			do(t, ctx, 20*time.Second, "follow the redirectUri", chromedp.WaitVisible(chromedp.CSS("#landed")))
			if u := eval[string](t, ctx, `location.href`); u != platform.URL+"/onboarding/done" {
				t.Errorf("landed on %s", u)
			}
		} else if eval[bool](t, ctx, `!!document.querySelector('meta[http-equiv=refresh]')`) {
			t.Errorf("after %s without a real redirectUri the page still sends the user away", step.decision)
		}
	}

	// The inbox: webhooks are delivered in the background, so read it until
	// it shows all of them or the deadline passes.
	want := map[string][]string{
		individual: {"CUSTOMER.KYC_APPROVED", "CUSTOMER.KYC_PENDING"},
		business:   {"CUSTOMER.KYB_PENDING", "CUSTOMER.KYB_REJECTED"},
		third:      {"CUSTOMER.KYC_PENDING"},
		pending:    nil,
	}
	wantStatus := map[string]string{individual: "APPROVED", business: "REJECTED", third: "HOLD", pending: "HOLD"}
	var got inboxSummary
	arrived := func() bool {
		types := map[string][]string{}
		for _, h := range got.Hooks {
			types[h.Customer] = append(types[h.Customer], h.Type)
		}
		for id := range types {
			slices.Sort(types[id])
		}
		for id, w := range want {
			if !slices.Equal(types[id], w) || got.Status[id] != wantStatus[id] {
				return false
			}
		}
		return true
	}
	for end := time.Now().Add(30 * time.Second); !arrived(); {
		if time.Now().After(end) {
			t.Fatalf("the inbox never showed every webhook and status: %+v\nlog:\n%s", got, logs)
		}
		do(t, ctx, 20*time.Second, "open the inbox", chromedp.Navigate(base+sandbox.InboxPrefix), chromedp.WaitVisible(chromedp.CSS("#key")))
		if v, err := chromedp.Run(ctx, chromedp.Evaluate[inboxSummary](readInbox)); err == nil { // a reload can interrupt a read
			got = v
		}
	}
	_, pub := servedKey(t, base)
	if got.Fingerprint != gridhook.Fingerprint(pub) {
		t.Errorf("the inbox names key %s; /sandbox/webhook-key serves %s", got.Fingerprint, gridhook.Fingerprint(pub))
	}
	for _, h := range got.Hooks {
		if h.Verified != "true" || h.Signature != "verified" {
			t.Errorf("webhook %s for %s: %s", h.Type, h.Customer, h.Signature)
		}
	}
	if !got.Fits {
		t.Error("the inbox does not fit a phone's screen")
	}
	for _, id := range []string{third, pending} {
		if held := eval[string](t, ctx, `document.querySelector('#customers tr[data-customer="`+id+`"]').textContent`); !strings.Contains(held, "on hold: no webhook for this") {
			t.Errorf("the held customer's row says %q", held)
		}
	}

	// A developer copies the openssl command of one webhook into a shell.
	cmdText := eval[string](t, ctx, `document.querySelector('section.hook pre.cmd-openssl').textContent`)
	cmd := exec.Command("bash", "-c", cmdText)
	cmd.Dir = t.TempDir()
	if out, err := cmd.CombinedOutput(); err != nil || string(out) != "Verified OK\n" {
		t.Errorf("the inbox's openssl command: %v %s", err, out)
	}
}
