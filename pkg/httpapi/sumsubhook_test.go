package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/grid-kyc/kyc-link/internal/contract"
	"github.com/grid-kyc/kyc-link/pkg/customers"
	"github.com/grid-kyc/kyc-link/pkg/gridhook"
	"github.com/grid-kyc/kyc-link/pkg/httpapi"
	"github.com/grid-kyc/kyc-link/pkg/kyc"
	"github.com/grid-kyc/kyc-link/pkg/sumsub"
)

const hookSecret = "fuzz-webhook-secret"

func newReceiver(tb testing.TB) *httpapi.SumsubWebhook {
	store := customers.NewMemory(kyc.Customer{ID: custA, PlatformID: "platform-a", Type: kyc.Individual})
	return &httpapi.SumsubWebhook{
		Secret:  func(context.Context) (string, error) { return hookSecret, nil },
		Reviews: &kyc.Reviews{Store: store, Notices: gridhook.Notices, Now: time.Now},
		Logger:  slog.New(slog.NewJSONHandler(io.Discard, nil)),
		Timeout: 5 * time.Second,
	}
}

// FuzzSumsubWebhook throws arbitrary bodies, digest algorithms and paths
// at the receiver, signed correctly or not. Whatever comes in: no panic, no
// 5xx (the store here is healthy), an unsigned body is 401, a signed one is
// 200 or 400, and the answer keeps the contract.
func FuzzSumsubWebhook(f *testing.F) {
	f.Add(`{"type":"applicantReviewed","externalUserId":"`+custA+`","createdAtMs":"2026-11-26 09:00:00.000","reviewResult":{"reviewAnswer":"GREEN"}}`, "", true, "/webhooks/sumsub")
	f.Add(`{"type":"applicantPending","externalUserId":"`+custA+`","createdAtMs":"2026-11-26 09:00:00.000"}`, sumsub.DigestSHA512, true, "/webhooks/sumsub")
	f.Add(`{"type":"applicantOnHold","externalUserId":"nobody","createdAtMs":"2026-11-26 09:00:00.000"}`, sumsub.DigestSHA1, false, "/webhooks/sumsub")
	f.Add(`{"type":`, "HMAC_MD5_HEX", true, "/webhooks/sumsub/")
	f.Add("\xff", "", true, "/webhooks/%zz")
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
		switch {
		case onRoute && (!sign || !knownAlg) && w.Code != 401:
			t.Fatalf("unsigned or unknown-algorithm body answered %d; want 401", w.Code)
		case onRoute && sign && knownAlg && w.Code != 200 && w.Code != 400:
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
