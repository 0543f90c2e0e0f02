//go:build integration

package main_test

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/grid-kyc/kyc-link/internal/e2e"
	"github.com/grid-kyc/kyc-link/internal/motoserver"
	"github.com/grid-kyc/kyc-link/pkg/gridhook"
	"github.com/grid-kyc/kyc-link/pkg/sandbox"
)

var binary string

func TestMain(m *testing.M) { os.Exit(e2e.Main(m, "dev", &binary)) }

// TestDevBootsAndAnswers: make dev provisions moto from template.yaml and
// serves the whole journey with the aws backend: a link, a decision, and
// the platform's webhook delivered through the outbox stream and the queue.
func TestDevBootsAndAnswers(t *testing.T) {
	if _, err := exec.LookPath("moto_server"); err != nil {
		var srv *motoserver.Server
		srv.Need(t) // skips, or fails under make test
	}
	// make dev signs with make run's key file.
	keyFile := filepath.Join(t.TempDir(), "sandbox-signing-key.pem")
	key, _, err := gridhook.LoadOrCreateKeyFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	base, _, logs := e2e.Start(t, binary, "KYC_TEMPLATE=../../template.yaml", "KYC_SIGNING_KEY_FILE="+keyFile)
	if resp, err := http.Get(base + sandbox.WebhookKeyPath); err != nil {
		t.Fatal(err)
	} else {
		served, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(served) != gridhook.PublicPEM(key) {
			t.Fatalf("%s serves %q; want the key file's public key", sandbox.WebhookKeyPath, served)
		}
	}
	req, _ := http.NewRequest("POST", base+"/customers/Customer:019542f5-b3e7-1d02-0000-000000000001/kyc-link", strings.NewReader(`{}`))
	req.SetBasicAuth("demo-token", "demo-secret-not-for-production")
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", "dev-test")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 201 {
		t.Fatalf("link = %d %s; log:\n%s", resp.StatusCode, body, logs)
	}
	page := strings.Split(strings.Split(string(body), `"kycUrl":"`)[1], `"`)[0]
	decided, err := http.PostForm(page, url.Values{"decision": {"approve"}})
	if err != nil {
		t.Fatal(err)
	}
	decided.Body.Close()
	var inbox string
	for end := time.Now().Add(15 * time.Second); !strings.Contains(inbox, "CUSTOMER.KYC_APPROVED"); time.Sleep(200 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("the approval never reached the inbox:\n%s\nlog:\n%s", inbox, logs)
		}
		r, err := http.Get(base + "/sandbox/inbox/")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(r.Body)
		r.Body.Close()
		inbox = string(b)
	}
	if strings.Contains(inbox, "INVALID") || !strings.Contains(inbox, gridhook.Fingerprint(&key.PublicKey)) {
		t.Fatalf("a webhook failed its signature check:\n%s", inbox)
	}
	platformAPI(t, base, logs)
	contactVerification(t, base, logs)
	submission(t, base, logs)
}

// submission: a complete verification made through the platform API goes
// to the provider as under AWS, through the verifications stream, the
// submission queue and its worker (on moto: S3 for the file, KMS to open
// the identifier); make dev's provider, the sandbox, approves it a moment
// later through the receiver, which moves the verification.
func submission(t *testing.T, base string, logs fmt.Stringer) {
	t.Helper()
	call := func(method, path, contentType string, body []byte, want int) map[string]any {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, bytes.NewReader(body))
		req.SetBasicAuth("demo-token", "demo-secret-not-for-production")
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != want {
			t.Fatalf("%s %s = %d %s; want %d; log:\n%s", method, path, resp.StatusCode, raw, want, logs)
		}
		var out map[string]any
		json.Unmarshal(raw, &out)
		return out
	}
	c := call("POST", "/customers", "application/json", []byte(`{"customerType":"INDIVIDUAL","platformCustomerId":"dev-sub-`+strings.ToLower(rand.Text()[:8])+`",
	  "fullName":"Ada Lovelace","birthDate":"1990-01-15","nationality":"US","idType":"SSN","identifier":"123-45-6789",
	  "address":{"line1":"1 Analytical Way","city":"Boston","postalCode":"02110","country":"US"}}`), 201)
	id, _ := c["id"].(string)
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for _, kv := range [][2]string{{"documentType", "PASSPORT"}, {"country", "US"}, {"documentHolder", id}} {
		mw.WriteField(kv[0], kv[1])
	}
	fw, _ := mw.CreateFormFile("file", "passport.png")
	fw.Write([]byte("\x89PNG\r\n\x1a\nDEV-PASSPORT"))
	mw.Close()
	call("POST", "/documents", mw.FormDataContentType(), b.Bytes(), 201)
	v := call("POST", "/verifications", "application/json", []byte(`{"customerId":"`+id+`"}`), 200)
	vid, _ := v["id"].(string)
	if v["verificationStatus"] != "IN_PROGRESS" {
		t.Fatalf("verification %v; want IN_PROGRESS", v)
	}
	for end := time.Now().Add(20 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		got := call("GET", "/verifications/"+url.PathEscape(vid), "", nil, 200)
		if got["verificationStatus"] == "APPROVED" {
			break
		}
		if time.Now().After(end) {
			t.Fatalf("the verification is %v, not approved by the sandbox within 20 s; log:\n%s", got["verificationStatus"], logs)
		}
	}
	if !strings.Contains(logs.String(), `"msg":"submission","verification_id":"`+vid+`","outcome":"submitted"`) {
		t.Errorf("no submission line for %s", vid)
	}
	if strings.Contains(logs.String(), "123-45-6789") {
		t.Error("the identifier reached the log")
	}
}

// contactVerification: the seed's customer …0005 must verify its email;
// make dev sends the code through SES on moto (the sandbox code, 123456),
// the inbox shows the message, and the code confirms.
func contactVerification(t *testing.T, base string, logs fmt.Stringer) {
	t.Helper()
	const id = "Customer:019542f5-b3e7-1d02-0000-000000000005"
	post := func(path, body string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest("POST", base+"/customers/"+id+path, strings.NewReader(body))
		req.SetBasicAuth("demo-token", "demo-secret-not-for-production")
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(raw)
	}
	if code, body := post("/verify-email", ""); code != 204 {
		t.Fatalf("verify-email = %d %s; log:\n%s", code, body, logs)
	}
	r, err := http.Get(base + "/sandbox/inbox/")
	if err != nil {
		t.Fatal(err)
	}
	inbox, _ := io.ReadAll(r.Body)
	r.Body.Close()
	if !strings.Contains(string(inbox), "grace@example.com") || !strings.Contains(string(inbox), "123456") {
		t.Errorf("the inbox does not show the code sent to grace@example.com")
	}
	if code, body := post("/verify-email/confirm", `{"code":"123456"}`); code != 200 || !strings.Contains(body, `"contactVerification":{"email":"VERIFIED"}`) {
		t.Fatalf("confirm = %d %s; log:\n%s", code, body, logs)
	}
}

// platformAPI: the platform API on what make dev provisioned from the
// template: two customers created (an identifier sealed by moto's KMS under
// the template's alias), read back, and listed a page at a time through the
// by-platform index with a cursor signed by the stack's generated key.
func platformAPI(t *testing.T, base string, logs fmt.Stringer) {
	t.Helper()
	call := func(method, path, body string, want int) map[string]any {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		req.SetBasicAuth("demo-token", "demo-secret-not-for-production")
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != want {
			t.Fatalf("%s %s = %d %s; want %d; log:\n%s", method, path, resp.StatusCode, raw, want, logs)
		}
		var out map[string]any
		if err := json.Unmarshal(raw, &out); err != nil {
			t.Fatalf("%s %s: %v: %s", method, path, err, raw)
		}
		return out
	}
	sfx := strings.ToLower(rand.Text()[:8])
	var ids []string
	for i, body := range []string{
		`{"customerType":"INDIVIDUAL","platformCustomerId":"dev-a-` + sfx + `","fullName":"Dev Boot","idType":"SSN","identifier":"123-45-6789"}`,
		`{"customerType":"INDIVIDUAL","platformCustomerId":"dev-b-` + sfx + `"}`,
	} {
		c := call("POST", "/customers", body, 201)
		id, _ := c["id"].(string)
		if !strings.HasPrefix(id, "Customer:") || c["kycStatus"] != "UNVERIFIED" {
			t.Fatalf("customer %d = %v", i, c)
		}
		if _, leaked := c["identifier"]; leaked {
			t.Fatalf("the answer carries the identifier: %v", c)
		}
		ids = append(ids, id)
	}
	if got := call("GET", "/customers/"+url.PathEscape(ids[0]), "", 200); got["id"] != ids[0] {
		t.Fatalf("GET = %v; want %s", got, ids[0])
	}
	// Every page of one customer: both appear, each once.
	seen := map[string]bool{}
	for cursor, pages := "", 0; ; pages++ {
		q := "/customers?limit=1"
		if cursor != "" {
			q += "&cursor=" + url.QueryEscape(cursor)
		}
		page := call("GET", q, "", 200)
		data, _ := page["data"].([]any)
		for _, d := range data {
			c, _ := d.(map[string]any)
			id, _ := c["id"].(string)
			if seen[id] {
				t.Fatalf("%s listed twice", id)
			}
			seen[id] = true
		}
		next, _ := page["nextCursor"].(string)
		if page["hasMore"] != true || next == "" || pages > 50 {
			break
		}
		cursor = next
	}
	for _, id := range ids {
		if !seen[id] {
			t.Errorf("%s is not listed (listed: %v)", id, seen)
		}
	}
}
