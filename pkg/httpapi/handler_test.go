package httpapi_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/grid-kyc/kyc-link/internal/contract"
	"github.com/grid-kyc/kyc-link/pkg/auth"
	"github.com/grid-kyc/kyc-link/pkg/httpapi"
	"github.com/grid-kyc/kyc-link/pkg/idempotency"
	"github.com/grid-kyc/kyc-link/pkg/kyc"
	"github.com/grid-kyc/kyc-link/pkg/memstore"
	"github.com/grid-kyc/kyc-link/pkg/secrets"
	"github.com/grid-kyc/kyc-link/pkg/sumsub"
)

const (
	custA    = "Customer:019542f5-b3e7-1d02-0000-000000000001"
	custB    = "Customer:019542f5-b3e7-1d02-0000-000000000004" // platform-b's
	custGone = "Customer:019542f5-b3e7-1d02-0000-000000000003"
	secretA  = "secret-a-0123456789"
)

// fakeProvider counts calls and can be made slow or failing.
type fakeProvider struct {
	calls atomic.Int32
	delay time.Duration
	err   error
	last  atomic.Pointer[kyc.LinkRequest]
}

func (p *fakeProvider) Name() string { return "SUMSUB" }

func (p *fakeProvider) CreateLink(ctx context.Context, r kyc.LinkRequest) (string, string, error) {
	n := p.calls.Add(1)
	p.last.Store(&r)
	if p.delay > 0 {
		select {
		case <-time.After(p.delay):
		case <-ctx.Done():
			return "", "", &kyc.Error{Code: kyc.CodeUnavailable, Message: "slow", RetryAfter: time.Second, Cause: ctx.Err()}
		}
	}
	if p.err != nil {
		return "", "", p.err
	}
	return "https://in.sumsub.com/websdk/p/" + strings.Repeat("x", int(n)), "_act-sbx-jwt-token", nil
}

type env struct {
	t testing.TB
	// unchecked skips the contract check (benchmarks measure the handler).
	unchecked bool
	srv       *httpapi.Server
	link      *httpapi.Link
	handler   http.Handler
	provider  *fakeProvider
	logs      *bytes.Buffer
	idem      idempotency.Store
}

func tokensSecret() string {
	return `{"tokens":[{"id":"tok-a","platformId":"platform-a","secretSha256":"` + auth.DigestHex(secretA) + `"},` +
		`{"id":"tok-b","platformId":"platform-b","secretSha256":"` + auth.DigestHex("secret-b") + `"}]}`
}

func newEnv(t testing.TB, idem idempotency.Store) *env {
	t.Helper()
	logs := &bytes.Buffer{}
	p := &fakeProvider{}
	store := memstore.NewCustomers(
		kyc.Customer{ID: custA, PlatformID: "platform-a", Type: kyc.Individual, Email: "ada@example.com", PhoneNumber: "+14155550100"},
		kyc.Customer{ID: custB, PlatformID: "platform-b"},
		kyc.Customer{ID: custGone, PlatformID: "platform-a", IsDeleted: true},
	)
	l := &httpapi.Link{
		Links: &kyc.Links{Customers: store, Provider: p, TTL: 30 * time.Minute, Now: time.Now},
		// As with the sandbox provider; TestRedirectRulesPerProvider covers
		// Sumsub's stricter rule.
		LocalRedirects: true,
	}
	logger := slog.New(slog.NewJSONHandler(&syncWriter{w: logs}, nil))
	l.Links.Logger = logger
	srv := &httpapi.Server{Link: l, Logger: logger, Timeout: 5 * time.Second,
		Auth: &auth.Authenticator{Tokens: &secrets.Cached[auth.Tokens]{
			Source: secrets.Memory{"tokens": tokensSecret()}, ID: "tokens", Parse: auth.ParseTokens, MaxAge: time.Minute}}}
	if idem != nil {
		srv.Idempotency = &idempotency.Guard{Secret: memstore.RandomKey(), Store: idem}
	}
	return &env{t: t, srv: srv, link: l, handler: srv.Handler(), provider: p, logs: logs, idem: idem}
}

type syncWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

func basic(id, secret string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(id+":"+secret))
}

type req struct {
	method, path, body string
	header             map[string]string
}

func post(path, body string, header ...string) req {
	r := req{method: "POST", path: path, body: body, header: map[string]string{
		"Authorization": basic("tok-a", secretA), "Content-Type": "application/json"}}
	for i := 0; i+1 < len(header); i += 2 {
		if header[i+1] == "<unset>" {
			delete(r.header, header[i])
			continue
		}
		r.header[header[i]] = header[i+1]
	}
	return r
}

func link(id string) string { return "/customers/" + id + "/kyc-link" }

func (e *env) do(r req) *httptest.ResponseRecorder {
	hr := httptest.NewRequest(r.method, "http://api.test/", strings.NewReader(r.body))
	hr.URL.Path, hr.URL.RawPath = "", ""
	hr.URL = mustURL(r.path)
	hr.RequestURI = r.path
	for k, v := range r.header {
		hr.Header[http.CanonicalHeaderKey(k)] = []string{v}
	}
	w := httptest.NewRecorder()
	e.handler.ServeHTTP(w, hr)
	// Every response the handler tests produce must keep the contract.
	if e.unchecked {
		return w
	}
	if err := contract.CheckResponse(w.Code, w.Header(), w.Body.Bytes()); err != nil {
		e.t.Errorf("%s %.80s: %v", r.method, r.path, err)
	}
	return w
}

type gridError struct {
	Status  int            `json:"status"`
	Code    string         `json:"code"`
	Message string         `json:"message"`
	Details map[string]any `json:"details"`
}

// checkError asserts the Grid error shape and returns it.
func checkError(t *testing.T, w *httptest.ResponseRecorder, status int, code string) gridError {
	t.Helper()
	if w.Code != status {
		t.Fatalf("status = %d; want %d; body %s", w.Code, status, w.Body)
	}
	if ct := w.Header().Get("Content-Type"); ct != "application/json" {
		t.Fatalf("Content-Type = %q", ct)
	}
	var e gridError
	dec := json.NewDecoder(bytes.NewReader(w.Body.Bytes()))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil {
		t.Fatalf("body is not a Grid error: %v: %s", err, w.Body)
	}
	if e.Status != status || e.Code != code || e.Message == "" {
		t.Fatalf("error = %+v; want status %d code %s and a message", e, status, code)
	}
	return e
}

func TestCreatesLink(t *testing.T) {
	e := newEnv(t, nil)
	before := time.Now()
	w := e.do(post(link(custA), `{"redirectUri":"https://app.example.com/onboarding/done"}`))
	if w.Code != 201 {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	var body map[string]string
	json.Unmarshal(w.Body.Bytes(), &body)
	want := map[string]string{"kycUrl": "https://in.sumsub.com/websdk/p/x", "provider": "SUMSUB", "token": "_act-sbx-jwt-token",
		"expiresAt": body["expiresAt"]} // checked below
	if diff := cmp.Diff(want, body); diff != "" {
		t.Fatalf("body (-want +got):\n%s", diff)
	}
	exp, err := time.Parse(time.RFC3339, body["expiresAt"])
	if err != nil || !strings.HasSuffix(body["expiresAt"], "Z") {
		t.Fatalf("expiresAt %q is not RFC 3339 UTC", body["expiresAt"])
	}
	if d := exp.Sub(before); d < 29*time.Minute || d > 31*time.Minute {
		t.Fatalf("expiresAt is %s from now; want the 30m TTL", d)
	}
	if got := w.Header().Get("Cache-Control"); got != "no-store" {
		t.Errorf("Cache-Control = %q; want no-store", got)
	}
	if w.Header().Get("X-Request-Id") == "" {
		t.Error("no X-Request-Id")
	}
	got := *e.provider.last.Load()
	wantReq := kyc.LinkRequest{CustomerID: custA, Type: kyc.Individual, RedirectURI: "https://app.example.com/onboarding/done",
		Email: "ada@example.com", PhoneNumber: "+14155550100", TTL: 30 * time.Minute}
	if got != wantReq {
		t.Fatalf("provider got %+v; want %+v", got, wantReq)
	}
}

func TestEmptyBodiesAndEncodedColon(t *testing.T) {
	e := newEnv(t, nil)
	for _, r := range []req{
		post(link(custA), ""),
		post(link(custA), "{}"),
		post(link(custA), " \n"),
		post(link(strings.ReplaceAll(custA, ":", "%3A")), ""),
		post(link(custA), "", "Content-Type", "<unset>"),
		post(link(custA), `{"redirectUri":"http://localhost:8080/done"}`),
		post(link(custA), `{"redirectUri":"http://127.0.0.2/done"}`),
		post(link(custA), `{"redirectUri":"http://[::1]:3000/done"}`),
		post(link(custA), `{"redirectUri":"https://xn--bcher-kva.example/done?x=%20y#frag"}`),
		post(link(custA), `{"redirectUri":"https://XN--BCHER-KVA.example./done"}`),
		post(link(custA), `{"redirectUri":"https://`+strings.Repeat(strings.Repeat("a", 63)+".", 3)+`example/"}`),
		post(link(custA), "{}", "Content-Type", "application/json; charset=utf-8"),
		post(link(custA), "", "Authorization", "basic "+strings.TrimPrefix(basic("tok-a", secretA), "Basic ")),
	} {
		if w := e.do(r); w.Code != 201 {
			t.Errorf("%s %q %v = %d %s; want 201", r.path, r.body, r.header, w.Code, w.Body)
		}
	}
}

// TestTenantIsolation: platform A sends every kind of request for platform
// B's customer; each answer is indistinguishable (status, body, headers,
// apart from the request id) from the same request for a customer that does
// not exist, or was deleted, and nothing reaches the provider.
func TestTenantIsolation(t *testing.T) {
	e := newEnv(t, memstore.NewIdempotency())
	variants := map[string]func(id string) req{
		"no body":       func(id string) req { return post(link(id), ``) },
		"empty object":  func(id string) req { return post(link(id), `{}`) },
		"redirect":      func(id string) req { return post(link(id), `{"redirectUri":"https://a.example/x"}`) },
		"localhost":     func(id string) req { return post(link(id), `{"redirectUri":"http://localhost/x"}`) },
		"encoded colon": func(id string) req { return post(link(strings.ReplaceAll(id, ":", "%3A")), `{}`) },
		"charset":       func(id string) req { return post(link(id), `{}`, "Content-Type", "application/json; charset=utf-8") },
		"no type":       func(id string) req { return post(link(id), `{}`, "Content-Type", "<unset>") },
		"idempotent":    func(id string) req { return post(link(id), `{}`, "Idempotency-Key", "iso-"+id) },
		"key reused":    func(id string) req { return post(link(id), `{}`, "Idempotency-Key", "iso-shared") },
		"lower basic": func(id string) req {
			return post(link(id), `{}`, "Authorization", "basic "+basic("tok-a", secretA)[6:])
		},
	}
	for name, mk := range variants {
		t.Run(name, func(t *testing.T) {
			var answers []string
			for _, id := range []string{custB, "Customer:019542f5-b3e7-1d02-0000-00000000ffff", custGone} {
				w := e.do(mk(id))
				checkError(t, w, 404, "USER_NOT_FOUND")
				h := w.Header().Clone()
				h.Del("X-Request-Id")
				answers = append(answers, w.Body.String()+"|"+headerString(h))
			}
			if answers[0] != answers[1] || answers[1] != answers[2] {
				t.Fatalf("answers differ:\n%s", strings.Join(answers, "\n"))
			}
		})
	}
	if e.provider.calls.Load() != 0 {
		t.Fatal("provider called for a customer the platform does not own")
	}
	// Platform B reaches its own customer: the 404s above were not a broken fixture.
	if w := e.do(post(link(custB), `{}`, "Authorization", basic("tok-b", "secret-b"))); w.Code != 201 {
		t.Fatalf("platform B for its own customer = %d %s", w.Code, w.Body)
	}
}

func headerString(h http.Header) string {
	var b strings.Builder
	h.Write(&b)
	return b.String()
}

func TestProviderFailures(t *testing.T) {
	e := newEnv(t, nil)
	e.provider.err = &kyc.Error{Code: kyc.CodeUnavailable, Message: "The verification provider is temporarily unavailable.", RetryAfter: 2 * time.Second, Dependency: kyc.DepProvider, Cause: errors.New("sumsub: HTTP 502")}
	w := e.do(post(link(custA), ""))
	ge := checkError(t, w, 503, "SERVICE_UNAVAILABLE")
	if w.Header().Get("Retry-After") != "2" || w.Header().Get("Retry-After-Ms") != "2000" {
		t.Errorf("retry headers = %v", w.Header())
	}
	if ge.Details["requestId"] != w.Header().Get("X-Request-Id") {
		t.Errorf("details.requestId = %v; want the X-Request-Id", ge.Details["requestId"])
	}
	e.provider.err = errors.New("boom: internal detail")
	w = e.do(post(link(custA), ""))
	ge = checkError(t, w, 500, "INTERNAL_ERROR")
	if strings.Contains(w.Body.String(), "internal detail") || ge.Details["requestId"] == nil {
		t.Errorf("500 body leaks the cause or lacks the request id: %s", w.Body)
	}
	if !strings.Contains(e.logs.String(), "internal detail") {
		t.Errorf("the cause must be logged")
	}
}

// downSource is a secret source in an outage.
type downSource struct{}

func (downSource) SecretString(context.Context, string) (string, error) {
	return "", errors.New("connection refused")
}

// TestTokenSecretFaults: a tokens secret that cannot be read right now is
// 503 with a retry hint; one that does not exist or is not in the expected
// format is our misconfiguration: 500, no retry hint.
func TestTokenSecretFaults(t *testing.T) {
	for _, tc := range []struct {
		name   string
		src    secrets.Source
		status int
		code   string
	}{
		{"outage", downSource{}, 503, "SERVICE_UNAVAILABLE"},
		{"missing secret", secrets.Memory{}, 500, "INTERNAL_ERROR"},
		{"not the tokens format", secrets.Memory{"tokens": `{"tokens":"nope"}`}, 500, "INTERNAL_ERROR"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, nil)
			e.srv.Auth = &auth.Authenticator{Tokens: &secrets.Cached[auth.Tokens]{Source: tc.src, ID: "tokens", Parse: auth.ParseTokens}}
			w := e.do(post(link(custA), ""))
			checkError(t, w, tc.status, tc.code)
			if hasRetry := w.Header().Get("Retry-After") != ""; hasRetry != (tc.status == 503) {
				t.Fatalf("Retry-After %q with status %d; want one only with 503", w.Header().Get("Retry-After"), tc.status)
			}
		})
	}
}

// panicky is a customer store with a bug.
type panicky struct{}

func (panicky) FindCustomer(context.Context, string) (kyc.Customer, error) { panic("bug") }

// panickyProvider is a provider with a bug.
type panickyProvider struct{ kyc.Provider }

func (panickyProvider) CreateLink(context.Context, kyc.LinkRequest) (string, string, error) {
	panic("bug")
}

func TestPanicIs500(t *testing.T) {
	e := newEnv(t, memstore.NewIdempotency())
	store := e.link.Links.Customers
	// The lookup runs on its own goroutine; its panic must not take the
	// process down. The provider's runs on the request's.
	for name, set := range map[string]func(){
		"lookup":   func() { e.link.Links.Customers, e.link.Links.Provider = panicky{}, e.provider },
		"provider": func() { e.link.Links.Customers, e.link.Links.Provider = store, panickyProvider{e.provider} },
	} {
		set()
		t.Run(name+" no key", func(t *testing.T) { checkError(t, e.do(post(link(custA), "")), 500, "INTERNAL_ERROR") })
		t.Run(name+" key", func(t *testing.T) {
			checkError(t, e.do(post(link(custA), "", "Idempotency-Key", "panic-"+name)), 500, "INTERNAL_ERROR")
		})
	}
}

// rendezvous makes the customer lookup and the idempotency acquire each wait
// until the other has started: run one after the other, they deadlock.
type rendezvous struct {
	lookupStarted, acquireStarted chan struct{}
}

func (r *rendezvous) meet(mine, theirs chan struct{}) error {
	close(mine)
	select {
	case <-theirs:
		return nil
	case <-time.After(2 * time.Second):
		return errors.New("the other call never started: lookup and acquire ran one after the other")
	}
}

type meetingCustomers struct {
	kyc.CustomerStore
	r *rendezvous
}

func (m meetingCustomers) FindCustomer(ctx context.Context, id string) (kyc.Customer, error) {
	if err := m.r.meet(m.r.lookupStarted, m.r.acquireStarted); err != nil {
		return kyc.Customer{}, err
	}
	return m.CustomerStore.FindCustomer(ctx, id)
}

type meetingStore struct {
	idempotency.Store
	r *rendezvous
}

func (m meetingStore) Acquire(ctx context.Context, rec idempotency.Record, now time.Time) (*idempotency.Record, error) {
	if err := m.r.meet(m.r.acquireStarted, m.r.lookupStarted); err != nil {
		return nil, err
	}
	return m.Store.Acquire(ctx, rec, now)
}

// TestLookupRunsAlongsideAcquire: with a key, the customer lookup and the
// idempotency acquire are one round trip, not two.
func TestLookupRunsAlongsideAcquire(t *testing.T) {
	r := &rendezvous{lookupStarted: make(chan struct{}), acquireStarted: make(chan struct{})}
	e := newEnv(t, meetingStore{Store: memstore.NewIdempotency(), r: r})
	svc := e.link.Links
	svc.Customers = meetingCustomers{CustomerStore: svc.Customers, r: r}
	if w := e.do(post(link(custA), `{}`, "Idempotency-Key", "together")); w.Code != 201 {
		t.Fatalf("%d %s; want 201 with lookup and acquire side by side", w.Code, w.Body)
	}
}

func TestLogsOneLinePerRequestWithoutSecrets(t *testing.T) {
	e := newEnv(t, nil)
	e.do(post(link(custA), `{"redirectUri":"https://app.example.com/x"}`))
	e.do(post(link(custA), `{}`, "Authorization", basic("tok-a", "wrong-secret-value")))
	lines := strings.Split(strings.TrimSpace(e.logs.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d log lines; want 2:\n%s", len(lines), e.logs)
	}
	var first map[string]any
	json.Unmarshal([]byte(lines[0]), &first)
	for _, k := range []string{"request_id", "route", "status", "latency_ms", "customer_id", "platform_id"} {
		if _, ok := first[k]; !ok {
			t.Errorf("log line lacks %s: %s", k, lines[0])
		}
	}
	for _, secret := range []string{secretA, "wrong-secret-value", "ada@example.com", "+14155550100", "_act-sbx-jwt-token"} {
		if strings.Contains(e.logs.String(), secret) {
			t.Errorf("logs contain %q", secret)
		}
	}
}

// TestContactVerificationRequired: the gate's 409 in the Grid shape, with
// its reason and channels, marked not worth retrying, and no provider call.
func TestContactVerificationRequired(t *testing.T) {
	e := newEnv(t, memstore.NewIdempotency())
	gated := "Customer:gated"
	e.link.Links = &kyc.Links{Customers: memstore.NewCustomers(kyc.Customer{ID: gated, PlatformID: "platform-a",
		ContactVerification: kyc.ContactVerification{Email: "PENDING", Phone: "VERIFIED"}}),
		Provider: e.provider, TTL: time.Minute, Now: time.Now}
	for _, key := range []string{"", "gated-key"} {
		var w = e.do(post(link(gated), `{}`))
		if key != "" {
			w = e.do(post(link(gated), `{}`, "Idempotency-Key", key))
		}
		ge := checkError(t, w, 409, "CONFLICT")
		if ge.Details["reason"] != "CONTACT_VERIFICATION_REQUIRED" || fmt.Sprint(ge.Details["channels"]) != "[email]" {
			t.Fatalf("details = %v; want reason CONTACT_VERIFICATION_REQUIRED, channels [email]", ge.Details)
		}
		if got := w.Header().Get("X-Should-Retry"); got != "false" {
			t.Fatalf("X-Should-Retry = %q; want false", got)
		}
	}
	if n := e.provider.calls.Load(); n != 0 {
		t.Fatalf("provider called %d times; want 0", n)
	}
}

// TestRedirectRulesPerProvider: with Sumsub only public https redirects
// pass (it refuses the rest); the sandbox also takes loopback, http or
// https. Everything else is the same 400 for both.
func TestRedirectRulesPerProvider(t *testing.T) {
	for _, tc := range []struct {
		uri              string
		sandbox, sumsubs bool // accepted with each provider
	}{
		{"https://app.example.com/done", true, true},
		{"https://8.8.8.8/done", true, true},
		{"https://[2001:4860:4860::8888]/done", true, true},
		{"http://localhost:8080/done", true, false},
		{"http://127.0.0.1/done", true, false},
		{"http://[::1]:3000/done", true, false},
		{"https://localhost/done", true, false},
		{"https://127.0.0.2/done", true, false},
		{"https://app.localhost/done", false, false},
		{"https://10.0.0.1/done", false, false},
		{"https://192.168.1.10/done", false, false},
		{"https://169.254.169.254/latest", false, false},
		{"https://100.64.0.1/done", false, false},
		{"https://0.0.0.0/done", false, false},
		{"https://[fd00:ec2::254]/", false, false},
		{"http://app.example.com/done", false, false},
	} {
		for _, p := range []struct {
			name   string
			local  bool
			accept bool
		}{{"sandbox", true, tc.sandbox}, {"sumsub", false, tc.sumsubs}} {
			t.Run(p.name+" "+tc.uri, func(t *testing.T) {
				e := newEnv(t, nil)
				e.link.LocalRedirects = p.local
				w := e.do(post(link(custA), `{"redirectUri":"`+tc.uri+`"}`))
				if p.accept && w.Code != 201 {
					t.Fatalf("%d %s; want 201", w.Code, w.Body)
				}
				if !p.accept {
					if ge := checkError(t, w, 400, "INVALID_INPUT"); ge.Details["field"] != "redirectUri" {
						t.Fatalf("details = %v; want field redirectUri", ge.Details)
					}
				}
			})
		}
	}
}

// fakeLimiter refuses while limited is set, or fails with err.
// fakeLimiter is read by lookups that may outlive their request (a replay
// does not wait for its limit check), so its state is atomic.
type fakeLimiter struct {
	limited atomic.Bool
	err     atomic.Pointer[error]
	calls   atomic.Int32
}

func (f *fakeLimiter) Allow(context.Context, string) (time.Duration, error) {
	f.calls.Add(1)
	if f.limited.Load() {
		return 1500 * time.Millisecond, nil
	}
	if err := f.err.Load(); err != nil {
		return 0, *err
	}
	return 0, nil
}

// TestRateLimited: over the limit a link is 429 RATE_LIMITED in the Grid
// shape with Retry-After, and Sumsub is not asked; a replay is never
// refused; a counter store that fails lets links through.
func TestRateLimited(t *testing.T) {
	e := newEnv(t, memstore.NewIdempotency())
	lim := &fakeLimiter{}
	e.link.Links.Limits = lim
	if w := e.do(post(link(custA), `{}`, "Idempotency-Key", "before")); w.Code != 201 {
		t.Fatalf("under the limit: %d %s", w.Code, w.Body)
	}
	lim.limited.Store(true)
	for _, key := range []string{"", "fresh-key"} {
		var w *httptest.ResponseRecorder
		if key == "" {
			w = e.do(post(link(custA), `{}`))
		} else {
			w = e.do(post(link(custA), `{}`, "Idempotency-Key", key))
		}
		checkError(t, w, 429, "RATE_LIMITED")
		if w.Header().Get("Retry-After") != "2" || w.Header().Get("Retry-After-Ms") != "1500" {
			t.Fatalf("headers %v; want Retry-After 2 and Retry-After-Ms 1500", w.Header())
		}
	}
	if w := e.do(post(link(custA), `{}`, "Idempotency-Key", "before")); w.Code != 201 || w.Header().Get("Idempotent-Replayed") != "true" {
		t.Fatalf("replay while limited = %d replayed=%q; want the replay", w.Code, w.Header().Get("Idempotent-Replayed"))
	}
	if n := e.provider.calls.Load(); n != 1 {
		t.Fatalf("provider called %d times; want 1 (only the first link)", n)
	}
	// A refused keyed request left its key free: it runs once allowed.
	lim.limited.Store(false)
	if w := e.do(post(link(custA), `{}`, "Idempotency-Key", "fresh-key")); w.Code != 201 || w.Header().Get("Idempotent-Replayed") != "" {
		t.Fatalf("after the limit = %d replayed=%q; want a fresh 201", w.Code, w.Header().Get("Idempotent-Replayed"))
	}
	down := errors.New("store down")
	lim.err.Store(&down)
	if w := e.do(post(link(custA), `{}`)); w.Code != 201 {
		t.Fatalf("with the counter store down = %d; want 201 (fail open)", w.Code)
	}
}

// outcomes returns the Outcome field of each log line so far.
func (e *env) outcomes(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, l := range strings.Split(strings.TrimSpace(e.logs.String()), "\n") {
		var line struct {
			Outcome string `json:"Outcome"`
			AWS     any    `json:"_aws"`
		}
		if err := json.Unmarshal([]byte(l), &line); err != nil || line.AWS == nil {
			t.Fatalf("log line without metrics: %s", l)
		}
		out = append(out, line.Outcome)
	}
	return out
}

// TestMetricOutcomes: every answer is counted under one low-cardinality
// outcome on its log line.
func TestMetricOutcomes(t *testing.T) {
	e := newEnv(t, memstore.NewIdempotency())
	e.do(post(link(custA), `{}`, "Idempotency-Key", "m1"))
	e.do(post(link(custA), `{}`, "Idempotency-Key", "m1"))
	e.do(post(link(custA), `{"redirectUri":"https://a.example/x"}`, "Idempotency-Key", "m1"))
	e.do(post(link(custA), `{"nope":1}`))
	e.do(post(link(custA), `{}`, "Authorization", basic("tok-a", "wrong")))
	e.do(post(link(custGone), `{}`))
	e.provider.err = kyc.Unavailable(kyc.DepProvider, "down", time.Second, &sumsub.APIError{Status: 502})
	e.do(post(link(custA), `{}`))
	e.provider.err = nil
	e.link.Links.Customers = panicky{}
	e.do(post(link(custA), `{}`))
	want := []string{"LINK_ISSUED", "REPLAY", "CONFLICT_IDEMPOTENCY_KEY_REUSED", "INVALID_INPUT", "UNAUTHORIZED",
		"USER_NOT_FOUND", "SERVICE_UNAVAILABLE_PROVIDER", "INTERNAL_ERROR_OTHER"}
	if diff := cmp.Diff(want, e.outcomes(t)); diff != "" {
		t.Fatalf("outcomes (-want +got):\n%s", diff)
	}
}
