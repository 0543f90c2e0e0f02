package httpapi_test

import (
	"bytes"
	"crypto/ecdsa"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/grid-kyc/kyc-link/internal/contract"
	"github.com/grid-kyc/kyc-link/pkg/auth"
	"github.com/grid-kyc/kyc-link/pkg/gridhook"
	"github.com/grid-kyc/kyc-link/pkg/httpapi"
	"github.com/grid-kyc/kyc-link/pkg/idempotency"
	"github.com/grid-kyc/kyc-link/pkg/kyc"
	"github.com/grid-kyc/kyc-link/pkg/memstore"
	"github.com/grid-kyc/kyc-link/pkg/secrets"
	"github.com/grid-kyc/kyc-link/pkg/webhooks"
)

const janeSmith = `{"customerType":"INDIVIDUAL","platformCustomerId":"user-9f84e0c2","region":"US",
  "currencies":["USD"],"fullName":"Jane Smith","birthDate":"1990-01-15","nationality":"US",
  "email":"jane.smith@example.com","phoneNumber":"+14155551234","idType":"SSN","identifier":"123-45-6789",
  "address":{"line1":"123 Market Street","city":"Seattle","state":"WA","postalCode":"98101","country":"US"}}`

type platformEnv struct {
	t       *testing.T
	handler http.Handler
	logs    *bytes.Buffer
	store   *memstore.Customers
	outbox  *contactOutbox
}

// newPlatformEnv serves the platform API and the link on memory stores,
// as make run does, for platform-a (tok-a) and platform-b (tok-b).
func newPlatformEnv(t *testing.T) *platformEnv {
	t.Helper()
	logs := &bytes.Buffer{}
	logger := slog.New(slog.NewJSONHandler(&syncWriter{w: logs}, nil))
	tokens := &secrets.Cached[auth.Tokens]{Source: secrets.Memory{"tokens": tokensSecret()}, ID: "tokens", Parse: auth.ParseTokens, MaxAge: time.Minute}
	store := memstore.NewCustomers()
	secret, _, err := gridhook.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	keys := &secrets.Cached[*ecdsa.PrivateKey]{Source: secrets.Memory{"signing": secret}, ID: "signing", Parse: gridhook.ParseSigningSecret, MaxAge: time.Minute}
	customers := &kyc.Customers{Store: store, Sealer: memstore.NewSealer(), CursorKey: memstore.RandomKey(), Now: time.Now,
		Contact: kyc.ContactRules{Regions: kyc.EEARegions(), Channels: []kyc.Channel{kyc.ChannelEmail, kyc.ChannelPhone}}}
	outbox := &contactOutbox{}
	platform := &httpapi.Platform{
		Customers: customers,
		Contacts: &kyc.ContactVerifications{Customers: customers, Codes: &memstore.ContactCodes{}, Email: outbox, Phone: outbox,
			Key: memstore.RandomKey(), Now: time.Now},
		Platforms: &kyc.Platforms{Store: memstore.NewPlatforms(nil),
			CheckEndpoint: func(u string) error { return webhooks.CheckEndpoint(u, true) },
			Sender:        &webhooks.TestSender{Key: keys, Client: webhooks.NewClient(2*time.Second, true), Now: time.Now},
			Now:           time.Now},
	}
	platform.Owners = &kyc.BeneficialOwners{Customers: customers, Store: store}
	link := &httpapi.Link{Links: &kyc.Links{Customers: store, Provider: &fakeProvider{}, TTL: time.Minute, Now: time.Now}}
	srv := &httpapi.Server{Link: link, Platform: platform, Logger: logger, Timeout: 10 * time.Second,
		Auth: &auth.Authenticator{Tokens: tokens}, Idempotency: &idempotency.Guard{Secret: memstore.RandomKey(), Store: memstore.NewIdempotency()}}
	return &platformEnv{t: t, handler: srv.Handler(), logs: logs, store: store, outbox: outbox}
}

// call sends a request as platform-a (or as the token in header
// "Authorization") and checks the answer against the contract.
func (e *platformEnv) call(method, path, body string, header ...string) *httptest.ResponseRecorder {
	e.t.Helper()
	r := httptest.NewRequest(method, "http://api.test"+path, strings.NewReader(body))
	r.Header.Set("Authorization", basic("tok-a", secretA))
	if body != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	e.handler.ServeHTTP(w, r)
	tmpl := strings.SplitN(path, "?", 2)[0]
	if strings.HasPrefix(tmpl, "/customers/") && !strings.HasSuffix(tmpl, "/kyc-link") {
		tmpl = contract.CustomerPath
		for suffix, p := range map[string]string{"/verify-email": contract.VerifyEmailPath, "/verify-email/confirm": contract.VerifyEmailConfirmPath,
			"/verify-phone": contract.VerifyPhonePath, "/verify-phone/confirm": contract.VerifyPhoneConfirmPath} {
			if strings.HasSuffix(path, suffix) {
				tmpl = p
			}
		}
	}
	if strings.HasPrefix(tmpl, "/beneficial-owners/") {
		tmpl = contract.BeneficialOwnerPath
	}
	// A 405 answers an operation the contract does not have (TestRouter
	// checks its shape).
	if !strings.HasSuffix(tmpl, "/kyc-link") && w.Code != http.StatusMethodNotAllowed {
		if err := contract.CheckOperation(method, tmpl, w.Code, w.Header(), w.Body.Bytes()); err != nil {
			e.t.Errorf("%s %s: %v", method, path, err)
		}
	}
	return w
}

func decode[T any](t *testing.T, w *httptest.ResponseRecorder) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(w.Body.Bytes(), &v); err != nil {
		t.Fatalf("%d %s: %v", w.Code, w.Body, err)
	}
	return v
}

type customer struct {
	ID, PlatformCustomerID, CustomerType, KycStatus, UmaAddress, Email, CreatedAt, UpdatedAt string
	IsDeleted                                                                                bool
}

// TestPlatformJourney: a platform creates a customer, reads it, finds it
// in the list, changes it, gets a link for it and deletes it, through
// Grid's routes; the identifier never comes back.
func TestPlatformJourney(t *testing.T) {
	e := newPlatformEnv(t)
	w := e.call("POST", "/customers", janeSmith)
	if w.Code != 201 {
		t.Fatalf("create = %d %s", w.Code, w.Body)
	}
	if strings.Contains(w.Body.String(), "123-45-6789") || strings.Contains(w.Body.String(), "identifier") {
		t.Fatalf("the answer carries the identifier: %s", w.Body)
	}
	c := decode[customer](t, w)
	if !strings.HasPrefix(c.ID, "Customer:") || c.KycStatus != "UNVERIFIED" || c.UmaAddress == "" || c.PlatformCustomerID != "user-9f84e0c2" {
		t.Fatalf("created %+v", c)
	}
	if got := decode[customer](t, e.call("GET", "/customers/"+c.ID, "")); got != c {
		t.Fatalf("GET = %+v; want what create answered %+v", got, c)
	}
	list := decode[struct {
		Data    []customer
		HasMore bool
	}](t, e.call("GET", "/customers?platformCustomerId=user-9f84e0c2", ""))
	if len(list.Data) != 1 || list.Data[0].ID != c.ID || list.HasMore {
		t.Fatalf("list = %+v", list)
	}
	if w := e.call("GET", "/customers?kycStatus=UNVERIFIED&limit=1", ""); w.Code != 200 {
		t.Fatalf("status filter = %d %s", w.Code, w.Body)
	}
	w = e.call("PATCH", "/customers/"+c.ID, `{"email":"jane@example.org"}`)
	if up := decode[customer](t, w); w.Code != 200 || up.Email != "jane@example.org" || up.UpdatedAt < c.UpdatedAt {
		t.Fatalf("patch = %d %s", w.Code, w.Body)
	}
	if w := e.call("POST", "/customers/"+c.ID+"/kyc-link", `{}`); w.Code != 201 {
		t.Fatalf("link for a customer created through the API = %d %s", w.Code, w.Body)
	}
	w = e.call("DELETE", "/customers/"+c.ID, "")
	if d := decode[customer](t, w); w.Code != 200 || !d.IsDeleted {
		t.Fatalf("delete = %d %s", w.Code, w.Body)
	}
	gone := e.call("DELETE", "/customers/"+c.ID, "")
	checkGrid(t, gone, 410, "CUSTOMER_DELETED")
	if gone.Header().Get("X-Should-Retry") != "false" {
		t.Errorf("410 without X-Should-Retry: false")
	}
	checkGrid(t, e.call("PATCH", "/customers/"+c.ID, `{"email":"x@example.org"}`), 410, "CUSTOMER_DELETED")
	checkGrid(t, e.call("POST", "/customers/"+c.ID+"/kyc-link", `{}`), 404, "USER_NOT_FOUND")
	if strings.Contains(e.logs.String(), "123-45-6789") || strings.Contains(e.logs.String(), "Jane") || strings.Contains(e.logs.String(), "jane") {
		t.Fatalf("personal data in the log:\n%s", e.logs)
	}
}

func checkGrid(t *testing.T, w *httptest.ResponseRecorder, status int, code string) {
	t.Helper()
	var g struct {
		Status  int
		Code    string
		Details map[string]any
	}
	if err := json.Unmarshal(w.Body.Bytes(), &g); err != nil || w.Code != status || g.Status != status || g.Code != code {
		t.Fatalf("%d %s; want %d %s", w.Code, w.Body, status, code)
	}
}

// TestPlatformTenantIsolation: another platform's customer is, on every
// route, the same 404 as an unknown one, byte for byte but the request id.
func TestPlatformTenantIsolation(t *testing.T) {
	e := newPlatformEnv(t)
	c := decode[customer](t, e.call("POST", "/customers", janeSmith))
	unknown := "Customer:019542f5-b3e7-7d02-8000-000000000009"
	asB := []string{"Authorization", basic("tok-b", "secret-b")}
	for _, tc := range []struct{ method, path, body string }{
		{"GET", "/customers/%s", ""},
		{"PATCH", "/customers/%s", `{"email":"b@example.org"}`},
		{"DELETE", "/customers/%s", ""},
		{"POST", "/customers/%s/kyc-link", `{}`},
	} {
		other := e.call(tc.method, fmt.Sprintf(tc.path, c.ID), tc.body, asB...)
		none := e.call(tc.method, fmt.Sprintf(tc.path, unknown), tc.body, asB...)
		if other.Code != 404 || strip(other) != strip(none) {
			t.Errorf("%s %s: other platform's %d %s, unknown %d %s", tc.method, tc.path, other.Code, other.Body, none.Code, none.Body)
		}
	}
	if l := decode[struct{ Data []customer }](t, e.call("GET", "/customers", "", asB...)); len(l.Data) != 0 {
		t.Errorf("platform-b lists %d of platform-a's customers", len(l.Data))
	}
	if got := decode[customer](t, e.call("GET", "/customers/"+c.ID, "")); got.Email != "jane.smith@example.com" {
		t.Errorf("platform-b changed platform-a's customer: %+v", got)
	}
}

// strip removes the request id, the only part allowed to differ.
func strip(w *httptest.ResponseRecorder) string {
	return strings.ReplaceAll(w.Body.String(), w.Header().Get("X-Request-Id"), "")
}

// TestPlatformBadInput: bad bodies, fields and queries are 400 naming the
// field, unknown methods 405; nothing is a 5xx.
func TestPlatformBadInput(t *testing.T) {
	e := newPlatformEnv(t)
	c := decode[customer](t, e.call("POST", "/customers", janeSmith))
	for _, tc := range []struct {
		name, method, path, body string
		status                   int
		field                    string
	}{
		{"unknown field", "POST", "/customers", `{"customerType":"INDIVIDUAL","nope":1}`, 400, "nope"},
		{"bad phone", "POST", "/customers", `{"customerType":"INDIVIDUAL","phoneNumber":"555"}`, 400, "phoneNumber"},
		{"not JSON", "POST", "/customers", `{`, 400, "body"},
		{"no type", "POST", "/customers", `{}`, 400, "customerType"},
		{"business without legal name", "POST", "/customers", `{"customerType":"BUSINESS","businessInfo":{"country":"US"}}`, 400, "businessInfo.legalName"},
		{"status is not the platform's", "PATCH", "/customers/" + c.ID, `{"kycStatus":"APPROVED"}`, 400, "kycStatus"},
		{"region is immutable", "PATCH", "/customers/" + c.ID, `{"region":"GB"}`, 400, "region"},
		{"limit too large", "GET", "/customers?limit=101", "", 400, "limit"},
		{"forged cursor", "GET", "/customers?cursor=abc", "", 400, "cursor"},
		{"unknown query", "GET", "/customers?nope=1", "", 400, "nope"},
		{"bad customer id", "GET", "/customers/a%20b", "", 400, "customerId"},
		{"webhook not public https", "PATCH", "/config", `{"webhookEndpoint":"http://example.com/hooks"}`, 400, "webhookEndpoint"},
		{"config unknown field", "PATCH", "/config", `{"umaDomain":"x"}`, 400, "umaDomain"},
		// Go's client maps these to localhost and 127.0.0.1 when it dials
		// (issue 27): refused as hosts that are not ASCII.
		{"webhook host full-width localhost", "PATCH", "/config", `{"webhookEndpoint":"https://ｌｏｃａｌｈｏｓｔ:8443/hook"}`, 400, "webhookEndpoint"},
		{"webhook host with ideographic dots", "PATCH", "/config", `{"webhookEndpoint":"https://127。0。0。1:8443/hook"}`, 400, "webhookEndpoint"},
		{"webhook host percent-encoded full-width", "PATCH", "/config", `{"webhookEndpoint":"https://%EF%BD%8Cocalhost:8443/hook"}`, 400, "webhookEndpoint"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := e.call(tc.method, tc.path, tc.body)
			checkGrid(t, w, tc.status, "INVALID_INPUT")
			var g struct{ Details map[string]any }
			json.Unmarshal(w.Body.Bytes(), &g)
			if g.Details["field"] != tc.field {
				t.Errorf("details.field = %v; want %s (%s)", g.Details["field"], tc.field, w.Body)
			}
		})
	}
	// The log names the field, never the value sent.
	if !strings.Contains(e.logs.String(), `"field":"phoneNumber"`) || strings.Contains(e.logs.String(), `"555"`) {
		t.Errorf("the 400's log line does not name the field (or quotes the value):\n%s", e.logs)
	}
	for _, tc := range []struct{ method, path, allow string }{
		{"PUT", "/customers", "GET, HEAD, POST"},
		{"POST", "/customers/" + c.ID, "DELETE, GET, HEAD, PATCH"},
		{"DELETE", "/config", "GET, HEAD, PATCH"},
	} {
		w := e.call(tc.method, tc.path, "")
		if w.Code != 405 || w.Header().Get("Allow") != tc.allow {
			t.Errorf("%s %s = %d Allow %q; want 405 %q", tc.method, tc.path, w.Code, w.Header().Get("Allow"), tc.allow)
		}
	}
	checkGrid(t, e.call("GET", "/customers", "", "Authorization", basic("tok-a", "wrong")), 401, "UNAUTHORIZED")
}

// TestCreateIdempotencyAndConflicts: one platformCustomerId, 20 concurrent
// creates with different keys: exactly one 201, the rest 409 naming the
// field; a replay of the winner's key answers the same customer.
func TestCreateIdempotencyAndConflicts(t *testing.T) {
	e := newPlatformEnv(t)
	var wg sync.WaitGroup
	codes := make([]int, 20)
	bodies := make([]string, 20)
	for i := range codes {
		wg.Go(func() {
			w := e.call("POST", "/customers", `{"customerType":"INDIVIDUAL","platformCustomerId":"dup-1"}`, "Idempotency-Key", fmt.Sprintf("k-%d", i))
			codes[i], bodies[i] = w.Code, w.Body.String()
		})
	}
	wg.Wait()
	winner := -1
	for i, c := range codes {
		switch {
		case c == 201 && winner < 0:
			winner = i
		case c == 409 && strings.Contains(bodies[i], "PLATFORM_CUSTOMER_ID_EXISTS"):
		default:
			t.Fatalf("create %d = %d %s; want one 201, the rest 409 PLATFORM_CUSTOMER_ID_EXISTS", i, c, bodies[i])
		}
	}
	if winner < 0 {
		t.Fatal("no create succeeded")
	}
	again := e.call("POST", "/customers", `{"customerType":"INDIVIDUAL","platformCustomerId":"dup-1"}`, "Idempotency-Key", fmt.Sprintf("k-%d", winner))
	if again.Code != 201 || again.Header().Get("Idempotent-Replayed") != "true" || again.Body.String() != bodies[winner] {
		t.Fatalf("replay = %d %s; want the first answer, replayed", again.Code, again.Body)
	}
	if w := e.call("POST", "/customers", `{"customerType":"BUSINESS"}`, "Idempotency-Key", fmt.Sprintf("k-%d", winner)); w.Code != 409 {
		t.Fatalf("the key with another body = %d; want 409", w.Code)
	}
}

// TestConfigAndTestWebhook: the platform sets its webhook endpoint; the
// change sends a signed TEST webhook there, and POST
// /sandbox/webhooks/test sends one now, answering what the endpoint said.
func TestConfigAndTestWebhook(t *testing.T) {
	e := newPlatformEnv(t)
	checkGrid(t, e.call("POST", "/sandbox/webhooks/test", ""), 400, "WEBHOOK_ENDPOINT_NOT_SET")
	var mu sync.Mutex
	var got []string
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, r.Header.Get("X-Grid-Signature")+" "+string(b))
		mu.Unlock()
		w.WriteHeader(202)
		io.WriteString(w, "thanks")
	}))
	defer hook.Close()
	w := e.call("PATCH", "/config", `{"webhookEndpoint":"`+hook.URL+`/grid"}`)
	if w.Code != 200 || !strings.Contains(w.Body.String(), hook.URL+"/grid") {
		t.Fatalf("PATCH /config = %d %s", w.Code, w.Body)
	}
	if cfg := e.call("GET", "/config", ""); !strings.Contains(cfg.Body.String(), hook.URL+"/grid") {
		t.Fatalf("GET /config = %s", cfg.Body)
	}
	w = e.call("POST", "/sandbox/webhooks/test", "")
	var d struct {
		URL    string `json:"url"`
		Status int    `json:"response_status"`
		Body   string `json:"response_body"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &d); err != nil || w.Code != 200 || d.Status != 202 || d.Body != "thanks" || d.URL != hook.URL+"/grid" {
		t.Fatalf("test webhook = %d %s", w.Code, w.Body)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 2 || !strings.Contains(got[0], `"type":"TEST"`) || !strings.HasPrefix(got[0], `{"v":"1","s":`) {
		t.Fatalf("the endpoint got %q; want two signed TEST webhooks (the change's and the test's)", got)
	}
	hook.Close()
	checkGrid(t, e.call("POST", "/sandbox/webhooks/test", ""), 400, "WEBHOOK_DELIVERY_ERROR")
}
