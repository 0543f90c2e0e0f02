package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/grid-kyc/kyc-link/internal/contract"
	"github.com/grid-kyc/kyc-link/pkg/gridhook"
	"github.com/grid-kyc/kyc-link/pkg/httpapi"
	"github.com/grid-kyc/kyc-link/pkg/kyc"
	"github.com/grid-kyc/kyc-link/pkg/memstore"
	"github.com/grid-kyc/kyc-link/pkg/sumsub"
)

const hookSecret = "fuzz-webhook-secret"

// webhookSecret is a Sumsub secret holding only a webhook secret.
type webhookSecret string

func (s webhookSecret) Get(context.Context) (sumsub.Credentials, error) {
	return sumsub.Credentials{WebhookSecret: string(s)}, nil
}

// credsFunc is a Sumsub secret source that runs f.
type credsFunc func() (sumsub.Credentials, error)

func (f credsFunc) Get(context.Context) (sumsub.Credentials, error) { return f() }

// receiverEnv is the receiver behind the router, as the function serves
// it; its fields are the receiver's and the server's.
type receiverEnv struct {
	*httpapi.SumsubReceiver
	*httpapi.Server
}

func (e receiverEnv) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	e.Server.Handler().ServeHTTP(w, r)
}

func newReceiver(tb testing.TB) receiverEnv {
	store := memstore.NewCustomers(kyc.Customer{ID: custA, PlatformID: "platform-a", Type: kyc.Individual})
	rcv := &httpapi.SumsubReceiver{
		Credentials: webhookSecret(hookSecret),
		Reviews:     &kyc.Reviews{Store: store, Notices: gridhook.Notices, Now: time.Now},
	}
	return receiverEnv{rcv, &httpapi.Server{Receiver: rcv, Logger: slog.New(slog.NewJSONHandler(io.Discard, nil)), Timeout: 5 * time.Second}}
}

// FuzzSumsubWebhook throws arbitrary bodies, digest algorithms and paths
// at the receiver, signed correctly or not. Whatever comes in: no panic, no
// 5xx (the store here is healthy), a body over MaxWebhookBody is 400, an
// unsigned one 401, a signed one 200 or 400, and the answer keeps the
// contract.
func FuzzSumsubWebhook(f *testing.F) {
	f.Add(`{"type":"applicantReviewed","externalUserId":"`+custA+`","createdAtMs":"2026-11-26 09:00:00.000","reviewResult":{"reviewAnswer":"GREEN"}}`, "", true, "/webhooks/sumsub")
	f.Add(`{"type":"applicantPending","externalUserId":"`+custA+`","createdAtMs":"2026-11-26 09:00:00.000"}`, sumsub.DigestSHA512, true, "/webhooks/sumsub")
	f.Add(`{"type":"applicantOnHold","externalUserId":"nobody","createdAtMs":"2026-11-26 09:00:00.000"}`, sumsub.DigestSHA1, false, "/webhooks/sumsub")
	f.Add(`{"type":`, "HMAC_MD5_HEX", true, "/webhooks/sumsub/")
	f.Add("\xff", "", true, "/webhooks/%zz")
	// Over the size limit, signed and not (testdata/fuzz holds the
	// repeated-key, far-future and bad-externalUserId seeds).
	big := `{"type":"applicantPending","externalUserId":"` + custA + `","createdAtMs":"2026-11-26 09:00:00.000","pad":"` + strings.Repeat("p", sumsub.MaxWebhookBody) + `"}`
	f.Add(big, "", true, "/webhooks/sumsub")
	f.Add(big, sumsub.DigestSHA1, false, "/webhooks/sumsub")
	h := newReceiver(f)
	f.Fuzz(func(t *testing.T, body, alg string, sign bool, path string) {
		r := httptest.NewRequest("POST", "http://api.test/", bytes.NewReader([]byte(body)))
		r.URL.Path, r.URL.RawPath = path, ""
		if alg != "" {
			r.Header["X-Payload-Digest-Alg"] = []string{alg}
		}
		if d, err := sumsub.WebhookDigest(hookSecret, alg, []byte(body)); sign && err == nil {
			r.Header.Set("X-Payload-Digest", d)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code >= 500 {
			t.Fatalf("status %d for body %q alg %q: %s", w.Code, body, alg, w.Body)
		}
		_, knownAlg := map[string]bool{"": true, sumsub.DigestSHA256: true, sumsub.DigestSHA512: true, sumsub.DigestSHA1: true}[alg]
		onRoute := path == "/webhooks/sumsub"
		oversize := len(body) > sumsub.MaxWebhookBody
		switch {
		case onRoute && oversize && w.Code != 400:
			t.Fatalf("body of %d bytes answered %d; want 400 (the size comes before the signature)", len(body), w.Code)
		case onRoute && !oversize && (!sign || !knownAlg) && w.Code != 401:
			t.Fatalf("unsigned or unknown-algorithm body answered %d; want 401", w.Code)
		case onRoute && !oversize && sign && knownAlg && w.Code != 200 && w.Code != 400:
			t.Fatalf("signed body answered %d; want 200 or 400", w.Code)
		}
		if onRoute {
			if err := contract.CheckWebhookResponse(w.Code, w.Header(), w.Body.Bytes()); err != nil {
				t.Fatal(err)
			}
		} else if !strings.Contains(w.Body.String(), `"code"`) {
			t.Fatalf("off-route answer %d %s is not a Grid error", w.Code, w.Body)
		}
	})
}

// TestSumsubWebhookRoutes: the receiver answers its own route only, POST
// only, in the Grid shape, and a 401 carries no Basic challenge.
func TestSumsubWebhookRoutes(t *testing.T) {
	h := newReceiver(t)
	for _, tc := range []struct {
		method, path string
		status       int
	}{
		{"GET", "/webhooks/sumsub", 405}, {"POST", "/webhooks/other", 404}, {"POST", "/webhooks/sumsub", 401},
	} {
		r := httptest.NewRequest(tc.method, tc.path, strings.NewReader("{}"))
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		var e struct{ Code string }
		if w.Code != tc.status || json.Unmarshal(w.Body.Bytes(), &e) != nil || e.Code == "" {
			t.Errorf("%s %s = %d %s; want %d in the Grid shape", tc.method, tc.path, w.Code, w.Body, tc.status)
		}
		if w.Header().Get("WWW-Authenticate") != "" {
			t.Errorf("%s %s offers a Basic challenge: %q", tc.method, tc.path, w.Header().Get("WWW-Authenticate"))
		}
	}
}

// storeNotCalled is a review store for answers that must not touch the
// store: any call fails the test.
type storeNotCalled struct{ t *testing.T }

func (s storeNotCalled) FindCustomer(_ context.Context, id string) (kyc.Customer, error) {
	s.t.Errorf("FindCustomer(%.40q) called", id)
	return kyc.Customer{}, kyc.Errorf(kyc.CodeNotFound, "not found")
}

func (s storeNotCalled) ApplyChange(_ context.Context, ch kyc.Change, _ *kyc.Notice) error {
	s.t.Errorf("ApplyChange(%.40q) called", ch.CustomerID)
	return nil
}

// hookError is the Grid error shape, read back.
type hookError struct {
	Status  int
	Code    string
	Message string
	Details map[string]any
}

// sendSigned posts body to h, signed with hookSecret, and checks the
// answer against the contract.
func sendSigned(t *testing.T, h http.Handler, body string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest("POST", "/webhooks/sumsub", strings.NewReader(body))
	d, err := sumsub.WebhookDigest(hookSecret, "", []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	r.Header.Set("X-Payload-Digest", d)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if err := contract.CheckWebhookResponse(w.Code, w.Header(), w.Body.Bytes()); err != nil {
		t.Fatal(err)
	}
	return w
}

func readHookError(t *testing.T, w *httptest.ResponseRecorder) hookError {
	t.Helper()
	var e hookError
	if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil {
		t.Fatalf("answer %d %s is not a Grid error: %v", w.Code, w.Body, err)
	}
	return e
}

// reviewed is a signed-ready applicantReviewed event.
func reviewed(customer, answer, createdAt string) string {
	return `{"type":"applicantReviewed","externalUserId":"` + customer + `","createdAtMs":"` + createdAt + `","reviewResult":{"reviewAnswer":"` + answer + `"}}`
}

// countingReader serves n bytes of padding and counts what was read.
type countingReader struct{ left, read int }

func (c *countingReader) Read(p []byte) (int, error) {
	if c.left == 0 {
		return 0, io.EOF
	}
	n := min(len(p), c.left)
	for i := range p[:n] {
		p[i] = ' '
	}
	c.left -= n
	c.read += n
	return n, nil
}

// TestSumsubWebhookOversizeBody (issue 16, defect 5): a body over
// MaxWebhookBody is 400 naming the limit, signed or not, before the
// secret is loaded, and the rest of it is not read (the size rule itself:
// pkg/sumsub TestReadWebhookSize). Before, a correctly signed one was 401
// (its digest was checked over the truncated read).
func TestSumsubWebhookOversizeBody(t *testing.T) {
	h := newReceiver(t)
	h.Credentials = credsFunc(func() (sumsub.Credentials, error) {
		t.Error("the secret was loaded for an oversize body")
		return sumsub.Credentials{WebhookSecret: hookSecret}, nil
	})
	h.Reviews = &kyc.Reviews{Store: storeNotCalled{t}, Notices: gridhook.Notices, Now: time.Now}
	event := reviewed(custA, "GREEN", "2026-11-26 09:00:00.000")
	padded := event + strings.Repeat(" ", sumsub.MaxWebhookBody+2-len(event))
	w := sendSigned(t, h, padded)
	e := readHookError(t, w)
	if w.Code != 400 || e.Code != "INVALID_INPUT" || e.Details["field"] != "body" || !strings.Contains(e.Message, "262144 bytes") {
		t.Errorf("signed body of %d bytes = %d %s; want 400 INVALID_INPUT, field body, naming the limit", len(padded), w.Code, w.Body)
	}

	// A huge body is not read to its end.
	body := &countingReader{left: 10 << 20}
	r := httptest.NewRequest("POST", "/webhooks/sumsub", body)
	r.Header.Set("X-Payload-Digest", "00")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	if rec.Code != 400 || body.read > sumsub.MaxWebhookBody+1 {
		t.Fatalf("10 MiB body = %d after reading %d bytes; want 400 after at most %d", rec.Code, body.read, sumsub.MaxWebhookBody+1)
	}
}

// logLines reads JSON log lines without their times and metrics.
func logLines(t *testing.T, logs *bytes.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for line := range strings.SplitSeq(strings.TrimSpace(logs.String()), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		for _, k := range []string{"time", "latency_ms", "_aws", "Outcome", "Requests"} {
			delete(rec, k)
		}
		out = append(out, rec)
	}
	return out
}

// TestSumsubWebhookFutureEvent (issue 16, defect 6): an event dated more
// than kyc.Reviews' MaxEventSkew after its clock is refused (400, field
// createdAtMs, both times as Sumsub writes them, a WARN line) without
// touching the customer, so it cannot become the watermark that makes
// every real decision stale (the rule itself: pkg/kyc
// TestApplyReviewsFromTheFuture). Before, the 9999 RED was applied and
// the GREEN after it stale.
func TestSumsubWebhookFutureEvent(t *testing.T) {
	clock := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	var logs bytes.Buffer
	store := memstore.NewCustomers(kyc.Customer{ID: custA, PlatformID: "platform-a", Type: kyc.Individual})
	h := newReceiver(t)
	h.Reviews = &kyc.Reviews{Store: store, Notices: gridhook.Notices, Now: func() time.Time { return clock }}
	h.Logger = slog.New(slog.NewJSONHandler(&logs, nil))

	const future = `{"type":"applicantReviewed","externalUserId":"` + custA + `","createdAtMs":"9999-12-31 23:59:59.999","correlationId":"corr-1","reviewResult":{"reviewAnswer":"RED"}}`
	w := sendSigned(t, h, future)
	e := readHookError(t, w)
	want := hookError{Status: 400, Code: "INVALID_INPUT", Details: map[string]any{"field": "createdAtMs"},
		Message: "The event's createdAtMs (9999-12-31 23:59:59.999 UTC) is more than 5 minutes after this receiver's clock (2026-11-26 09:00:00.000 UTC); it is not applied. A retry is applied once that time has passed."}
	if diff := cmp.Diff(want, e); w.Code != 400 || diff != "" {
		t.Fatalf("far-future RED = %d (-want +got):\n%s", w.Code, diff)
	}
	if c, _ := store.FindCustomer(context.Background(), custA); c.StatusOf() != kyc.StatusUnverified || !c.LastReviewAt.IsZero() {
		t.Fatalf("far-future RED changed the customer: %s, last review %v", c.StatusOf(), c.LastReviewAt)
	}
	rid := w.Header().Get("X-Request-Id")
	const why = "createdAtMs 9999-12-31 23:59:59.999 is more than 5m0s after the receiver's clock (2026-11-26 09:00:00.000)"
	wantLogs := []map[string]any{
		{"level": "WARN", "msg": "sumsub event from the future refused", "request_id": rid, "customer_id": custA,
			"event_type": "applicantReviewed", "correlation_id": "corr-1", "reason": why},
		{"level": "INFO", "msg": "request", "request_id": rid, "method": "POST", "route": "POST /webhooks/sumsub", "status": 400.0,
			"customer_id": custA, "event_type": "applicantReviewed", "correlation_id": "corr-1", "review_status": "REJECTED",
			"refused": why, "field": "createdAtMs"},
	}
	if diff := cmp.Diff(wantLogs, logLines(t, &logs)); diff != "" {
		t.Fatalf("log lines (-want +got):\n%s", diff)
	}

	// The real decision after it is applied, not stale.
	if w := sendSigned(t, h, reviewed(custA, "GREEN", "2026-11-26 08:59:00.000")); w.Code != 200 || !strings.Contains(w.Body.String(), `"applied"`) {
		t.Fatalf("GREEN after the refused far-future RED = %d %s; want 200 applied", w.Code, w.Body)
	}
}

// TestSumsubWebhookFutureEventTouchesNothing: the refusal reads nothing
// from the store either.
func TestSumsubWebhookFutureEventTouchesNothing(t *testing.T) {
	h := newReceiver(t)
	h.Reviews = &kyc.Reviews{Store: storeNotCalled{t}, Notices: gridhook.Notices, Now: time.Now}
	if w := sendSigned(t, h, reviewed(custA, "RED", "9999-12-31 23:59:59.999")); w.Code != 400 {
		t.Fatalf("far-future RED = %d %s; want 400", w.Code, w.Body)
	}
}

// TestSumsubWebhookRepeatedKeys (issue 16, defect 7): a correctly signed
// body with a key repeated in one object, at any depth, is 400 naming the
// key, and nothing is looked up; the same key in different objects is
// fine (the answer's wording: pkg/sumsub TestReadWebhookRefuses). Before,
// the last of the repeats won.
func TestSumsubWebhookRepeatedKeys(t *testing.T) {
	const head = `{"type":"applicantReviewed","externalUserId":"` + custA + `","createdAtMs":"2026-11-26 09:00:00.000"`
	for _, tc := range []struct{ name, body, field string }{
		{"nested reviewAnswer", head + `,"reviewResult":{"reviewAnswer":"RED","reviewAnswer":"GREEN"}}`, "reviewAnswer"},
		{"top-level type", `{"type":"applicantPending","type":"applicantReviewed","externalUserId":"` + custA + `","createdAtMs":"2026-11-26 09:00:00.000","reviewResult":{"reviewAnswer":"GREEN"}}`, "type"},
		{"externalUserId in another case", head + `,"externaluserid":"Customer:other","reviewResult":{"reviewAnswer":"GREEN"}}`, "externaluserid"},
		{"inside an array", head + `,"reviewResult":{"reviewAnswer":"GREEN","rejectLabels":[]},"extra":[{"a":1,"a":2}]}`, "a"},
		// Before, a number no float64 holds ended the search for repeats.
		{"after a huge number", head + `,"x":1e400,"reviewResult":{"reviewAnswer":"RED","reviewAnswer":"GREEN"}}`, "reviewAnswer"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logs bytes.Buffer
			h := newReceiver(t)
			h.Reviews = &kyc.Reviews{Store: storeNotCalled{t}, Notices: gridhook.Notices, Now: time.Now}
			h.Logger = slog.New(slog.NewJSONHandler(&logs, nil))
			w := sendSigned(t, h, tc.body)
			e := readHookError(t, w)
			if w.Code != 400 || e.Code != "INVALID_INPUT" || e.Details["field"] != tc.field || !strings.Contains(e.Message, "more than once") {
				t.Fatalf("%s = %d %s; want 400 INVALID_INPUT, field %q", tc.body, w.Code, w.Body, tc.field)
			}
			if l := logLines(t, &logs); len(l) != 1 || l[0]["refused"] != "repeated JSON key" || l[0]["error"] != nil {
				t.Fatalf("log lines %v; want one, refused: repeated JSON key, no error", l)
			}
		})
	}
	// The same names in different objects are no repeat.
	h := newReceiver(t)
	body := head + `,"reviewResult":{"reviewAnswer":"GREEN","type":"x"},"info":{"type":"y","reviewResult":{}}}`
	if w := sendSigned(t, h, body); w.Code != 200 || !strings.Contains(w.Body.String(), `"applied"`) {
		t.Fatalf("%s = %d %s; want 200 applied", body, w.Code, w.Body)
	}
}

// TestSumsubWebhookInvalidExternalUserID (issue 16, defect 8): an
// externalUserId that cannot be a Grid customer id is acknowledged as an
// unknown customer without a store call (the rule: pkg/kyc
// TestApplyIDsThatAreNoCustomers), and the log says so and how long the
// id was, but not the id.
func TestSumsubWebhookInvalidExternalUserID(t *testing.T) {
	for _, tc := range []struct{ name, id, why string }{
		{"100 KB", "Customer:" + strings.Repeat("q", 100_000), "The customer id is longer than 128 characters."},
		{"an email", "qqqqqqqqqqqqqqqq@example.com", "The customer id may contain only letters, digits, ':', '_' and '-'."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logs bytes.Buffer
			h := newReceiver(t)
			h.Reviews = &kyc.Reviews{Store: storeNotCalled{t}, Notices: gridhook.Notices, Now: time.Now}
			h.Logger = slog.New(slog.NewJSONHandler(&logs, nil))
			w := sendSigned(t, h, reviewed(tc.id, "GREEN", "2026-11-26 09:00:00.000"))
			if w.Code != 200 || w.Body.String() != `{"received":true,"outcome":"unknown_customer"}` {
				t.Fatalf("externalUserId %.40q… = %d %s; want 200 unknown_customer", tc.id, w.Code, w.Body)
			}
			lines := logLines(t, &logs)
			if len(lines) != 1 {
				t.Fatalf("%d log lines; want 1: %.300s", len(lines), logs.String())
			}
			got := map[string]any{}
			for _, k := range []string{"customer_id", "review_status", "refused", "external_user_id_bytes", "outcome"} {
				if v, ok := lines[0][k]; ok {
					got[k] = v
				}
			}
			want := map[string]any{"outcome": "unknown_customer", "external_user_id_bytes": float64(len(tc.id)),
				"refused": "externalUserId is not a Grid customer id: " + tc.why}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("log line (-want +got):\n%s", diff)
			}
			if strings.Contains(logs.String(), "qqqqqqqqqqqqqqqq") {
				t.Errorf("the log holds the id: %.300s", logs.String())
			}
		})
	}
}
