package sandbox_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/grid-kyc/kyc-link/pkg/gridhook"
	"github.com/grid-kyc/kyc-link/pkg/kyc"
	"github.com/grid-kyc/kyc-link/pkg/sandbox"
)

func signingKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	secret, _, err := gridhook.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	k, err := gridhook.ParseSigningSecret(secret)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

const (
	held     = "Customer:held"
	approved = "Customer:approved"
)

// newInbox is an inbox behind a real server (the page's commands need its
// address) that pins k and reads customers from a fixed table.
func newInbox(t *testing.T, k *ecdsa.PrivateKey) (*sandbox.Inbox, string) {
	t.Helper()
	records := map[string]kyc.Customer{
		held:     {ID: held, PlatformID: "p1", Type: kyc.Individual, KYCStatus: "HOLD", Email: "held@example.com"},
		approved: {ID: approved, PlatformID: "p1", Type: kyc.Business, KYBStatus: "APPROVED"},
	}
	in := &sandbox.Inbox{
		Key: func(context.Context) (*ecdsa.PrivateKey, error) { return k, nil },
		Customer: func(_ context.Context, id string) (kyc.Customer, error) {
			if c, ok := records[id]; ok {
				return c, nil
			}
			return kyc.Customer{}, kyc.CustomerNotFound()
		},
	}
	srv := httptest.NewServer(routed(nil, in))
	t.Cleanup(srv.Close)
	return in, srv.URL
}

// deliver posts body to the inbox as the delivery does, signed with k.
func deliver(t *testing.T, base string, k *ecdsa.PrivateKey, body string, header ...string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest("POST", base+sandbox.InboxPrefix+"p1", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if k != nil {
		sig, err := gridhook.Sign(k, []byte(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set(gridhook.SignatureHeader, sig)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

func get(t *testing.T, url string) (*http.Response, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// A webhook body as Grid sends it: compact JSON, non-ASCII kept as UTF-8.
const approvedBody = `{"id":"Webhook:1","type":"CUSTOMER.KYB_APPROVED","timestamp":"2026-11-26T09:00:00.123Z","data":{"id":"Customer:approved","customerType":"BUSINESS","kybStatus":"APPROVED","email":"josé@example.com","updatedAt":"2026-11-26T09:00:00.123Z","isDeleted":false}}`

func TestInboxKeepsWhatArrivedAsItArrived(t *testing.T) {
	k := signingKey(t)
	in, base := newInbox(t, k)
	if resp := deliver(t, base, k, approvedBody, "X-Extra", "kept"); resp.StatusCode != 200 {
		t.Fatalf("signed webhook = %d", resp.StatusCode)
	}
	if resp := deliver(t, base, k, approvedBody); resp.StatusCode != http.StatusConflict {
		t.Fatalf("same id again = %d; want 409", resp.StatusCode)
	}
	if resp := deliver(t, base, signingKey(t), strings.Replace(approvedBody, "Webhook:1", "Webhook:2", 1)); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("other key = %d; want 401", resp.StatusCode)
	}
	es := in.Entries()
	if len(es) != 3 {
		t.Fatalf("%d entries", len(es))
	}
	e := es[0]
	if string(e.Body) != approvedBody || e.Seq != 1 || !e.Verified || e.Answer != 200 || e.Type != "CUSTOMER.KYB_APPROVED" || e.Status != "APPROVED" {
		t.Fatalf("entry = %+v", e)
	}
	if e.KeyFingerprint != gridhook.Fingerprint(&k.PublicKey) {
		t.Fatalf("checked against %q; want the pinned key's fingerprint", e.KeyFingerprint)
	}
	if e.Header.Get("X-Extra") != "kept" || e.Header.Get(gridhook.SignatureHeader) == "" || e.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("headers = %v", e.Header)
	}
	if e.At.Location() != time.UTC {
		t.Fatalf("At in %v; want UTC", e.At.Location())
	}
	if !es[1].Duplicate || es[1].Answer != 409 || es[2].Verified || es[2].Answer != 401 {
		t.Fatalf("duplicate %+v, forged %+v", es[1], es[2])
	}

	// The raw body is served byte for byte, with the Content-Type it came with.
	resp, raw := get(t, base+sandbox.InboxPrefix+"raw/1")
	if resp.StatusCode != 200 || raw != approvedBody || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("raw = %d %q %v", resp.StatusCode, raw, resp.Header)
	}
	for _, n := range []string{"0", "4", "x", ""} {
		if resp, _ := get(t, base+sandbox.InboxPrefix+"raw/"+n); resp.StatusCode != 404 {
			t.Errorf("raw/%s = %d; want 404", n, resp.StatusCode)
		}
	}

	// The page shows it: body and headers as received, the verdict and the
	// key, the time with its zone.
	resp, page := get(t, base+sandbox.InboxPrefix)
	if resp.StatusCode != 200 {
		t.Fatalf("page = %d", resp.StatusCode)
	}
	body := regexp.MustCompile(`(?s)<section class="hook" id="hook-1".*?<pre class="body">(.*?)</pre>`).FindStringSubmatch(page)
	if body == nil || html.UnescapeString(body[1]) != approvedBody {
		t.Fatalf("page does not show the raw body of #1:\n%s", page)
	}
	for _, want := range []string{
		"X-Extra: kept", "Content-Type: application/json", "X-Grid-Signature: " + e.Header.Get(gridhook.SignatureHeader),
		`<span class="ok">verified</span>`, `<span class="bad">INVALID</span>`, "(duplicate id: 409)",
		"against key <code>" + e.KeyFingerprint + "</code>", `<code id="fingerprint">` + e.KeyFingerprint + "</code>",
		e.At.Format("2006-01-02 15:04:05.000") + " UTC", `href="/sandbox/inbox/raw/1" download="webhook-1.json"`,
	} {
		if !strings.Contains(html.UnescapeString(page), want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Contains(page, `http-equiv="refresh"`) {
		t.Error("the page reloads on a timer; it must reload only when something arrived")
	}
}

func TestInboxShowsEachCustomersStatusNow(t *testing.T) {
	k := signingKey(t)
	in, base := newInbox(t, k)
	decide := in.Track(func(context.Context, string, string) error { return nil })
	failing := in.Track(func(context.Context, string, string) error { return errors.New("receiver answered 500") })
	_, before := get(t, base+sandbox.InboxPrefix)
	if !strings.Contains(before, "Nothing yet") {
		t.Fatalf("empty inbox page:\n%s", before)
	}
	version := func() string {
		resp, err := http.Head(base + sandbox.InboxPrefix)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.Header.Get("X-Inbox-Version")
	}
	v0 := version()
	// Hold sends applicantPending and then applicantOnHold: the platform
	// gets KYC_PENDING and nothing for the hold.
	decide(context.Background(), held, sandbox.Hold)
	v1 := version()
	deliver(t, base, k, `{"id":"Webhook:p","type":"CUSTOMER.KYC_PENDING","data":{"id":"Customer:held","kycStatus":"PENDING"}}`)
	deliver(t, base, k, approvedBody)
	failing(context.Background(), "Customer:gone", sandbox.Approve)
	if v0 == v1 || v1 == version() {
		t.Fatalf("X-Inbox-Version %q, %q, %q: want a change with every decision and webhook", v0, v1, version())
	}
	if d := in.Decisions(); len(d) != 2 || d[0].CustomerID != held || d[0].Decision != "hold" || d[1].Err == "" {
		t.Fatalf("decisions = %+v", d)
	}
	_, page := get(t, base+sandbox.InboxPrefix)
	rows := regexp.MustCompile(`(?s)<tr data-customer="([^"]*)" data-status="([^"]*)">(.*?)</tr>`).FindAllStringSubmatch(page, -1)
	got := map[string][2]string{}
	var order []string
	for _, r := range rows {
		got[html.UnescapeString(r[1])] = [2]string{r[2], r[3]}
		order = append(order, html.UnescapeString(r[1]))
	}
	if len(got) != 3 || order[0] != "Customer:gone" {
		t.Fatalf("customer rows %v; want 3, the latest activity first", order)
	}
	if r := got[held]; r[0] != "HOLD" || !strings.Contains(r[1], "<code>kycStatus</code>") || !strings.Contains(r[1], "CUSTOMER.KYC_PENDING") || !strings.Contains(r[1], "on hold: no webhook") {
		t.Errorf("held row = %v", r)
	}
	if r := got[approved]; r[0] != "APPROVED" || !strings.Contains(r[1], "<code>kybStatus</code>") {
		t.Errorf("approved row = %v", r)
	}
	if r := got["Customer:gone"]; r[0] != "" || !strings.Contains(r[1], "not sent: receiver answered 500") || !strings.Contains(r[1], "bad") {
		t.Errorf("unknown customer row = %v", r)
	}
	if strings.Contains(page, "held@example.com") {
		t.Error("the customers table shows the record's personal data; it shows only the status")
	}
}

func TestWebhookKeyIsServed(t *testing.T) {
	k := signingKey(t)
	_, base := newInbox(t, k)
	resp, body := get(t, base+sandbox.WebhookKeyPath)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/x-pem-file" {
		t.Fatalf("key = %d %v", resp.StatusCode, resp.Header)
	}
	block, _ := pem.Decode([]byte(body))
	if block == nil || block.Type != "PUBLIC KEY" {
		t.Fatalf("not a PEM public key: %q", body)
	}
	pub, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil || !k.PublicKey.Equal(pub) {
		t.Fatalf("served key is not the signing key's public half: %v", err)
	}
	if resp.Header.Get("X-Key-Fingerprint") != gridhook.Fingerprint(&k.PublicKey) {
		t.Fatalf("X-Key-Fingerprint = %q", resp.Header.Get("X-Key-Fingerprint"))
	}
	if resp, err := http.Post(base+sandbox.WebhookKeyPath, "text/plain", nil); err != nil || resp.StatusCode != 405 {
		t.Fatalf("POST key = %v %v", resp, err)
	}

	broken := httptest.NewServer(routed(nil, &sandbox.Inbox{Key: func(context.Context) (*ecdsa.PrivateKey, error) { return nil, errors.New("secret missing") }}))
	defer broken.Close()
	if resp, body := get(t, broken.URL+sandbox.WebhookKeyPath); resp.StatusCode != 503 || !strings.Contains(body, "secret missing") {
		t.Fatalf("no key = %d %s", resp.StatusCode, body)
	}
	if _, page := get(t, broken.URL+sandbox.InboxPrefix); !strings.Contains(page, "no key (secret missing)") {
		t.Fatalf("page without a key:\n%s", page)
	}
}

func TestInboxKeepsTheNewestEntries(t *testing.T) {
	k := signingKey(t)
	in, base := newInbox(t, k)
	for i := range sandbox.MaxEntries + 1 {
		deliver(t, base, k, `{"id":"Webhook:`+strconv.Itoa(i)+`"}`)
	}
	es := in.Entries()
	if len(es) != sandbox.MaxEntries || es[0].Seq != 2 {
		t.Fatalf("%d entries from #%d; want %d from #2", len(es), es[0].Seq, sandbox.MaxEntries)
	}
	if resp, _ := get(t, base+sandbox.InboxPrefix+"raw/1"); resp.StatusCode != 404 {
		t.Fatalf("dropped raw = %d", resp.StatusCode)
	}
	if resp, body := get(t, base+sandbox.InboxPrefix+"raw/"+strconv.Itoa(sandbox.MaxEntries+1)); resp.StatusCode != 200 || !strings.Contains(body, strconv.Itoa(sandbox.MaxEntries)) {
		t.Fatalf("newest raw = %d %s", resp.StatusCode, body)
	}
}

// TestInboxShowsTheNewestWebhookByTimestamp: webhooks can arrive out of
// order; the customers table shows the newest by the envelope's timestamp,
// as a platform keeps it, not the last to arrive (issue 27: after Approve
// the inbox showed the PENDING that arrived after the APPROVED).
func TestInboxShowsTheNewestWebhookByTimestamp(t *testing.T) {
	k := signingKey(t)
	_, base := newInbox(t, k)
	deliver(t, base, k, `{"id":"Webhook:a","type":"CUSTOMER.KYC_APPROVED","timestamp":"2026-11-26T09:00:01.000Z","data":{"id":"Customer:held","kycStatus":"APPROVED"}}`)
	deliver(t, base, k, `{"id":"Webhook:p","type":"CUSTOMER.KYC_PENDING","timestamp":"2026-11-26T09:00:00.000Z","data":{"id":"Customer:held","kycStatus":"PENDING"}}`)
	// Unsigned, newer still: not accepted, so not the platform's newest.
	deliver(t, base, nil, `{"id":"Webhook:x","type":"CUSTOMER.KYC_REJECTED","timestamp":"2026-11-26T09:00:02.000Z","data":{"id":"Customer:held","kycStatus":"REJECTED"}}`)
	_, page := get(t, base+sandbox.InboxPrefix)
	row := regexp.MustCompile(`(?s)<tr data-customer="Customer:held" data-status="[^"]*">(.*?)</tr>`).FindStringSubmatch(page)
	if row == nil || !strings.Contains(row[1], "CUSTOMER.KYC_APPROVED") || strings.Contains(row[1], "CUSTOMER.KYC_PENDING") || strings.Contains(row[1], "REJECTED") {
		t.Fatalf("held row = %q; want the APPROVED (newer timestamp), though the PENDING arrived last", row)
	}
}
