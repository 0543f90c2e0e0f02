package httpapi_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/grid-kyc/kyc-link/pkg/httpapi"
	"github.com/grid-kyc/kyc-link/pkg/sandbox"
)

// TestRouter: every route answers at / and under the Grid base path, and
// only its own methods; what no route takes is a Grid-shaped 404 or 405
// (with the mux's Allow), never a redirect, and a part not wired is not
// served.
func TestRouter(t *testing.T) {
	e := newEnv(t, nil)
	full := &httpapi.Server{Link: e.link, Receiver: newReceiver(t).SumsubReceiver,
		Sandbox: &sandbox.Provider{BaseURL: "http://api.test", Now: time.Now}, Inbox: &sandbox.Inbox{},
		Auth: e.srv.Auth, Logger: slog.New(slog.NewJSONHandler(io.Discard, nil))}
	linkOnly := &httpapi.Server{Link: e.link, Auth: e.srv.Auth, Logger: full.Logger}
	for _, tc := range []struct {
		name         string
		srv          *httpapi.Server
		method, path string
		status       int
		body         string // what a page's answer contains, or the Grid code
		allow        string
	}{
		{"link", full, "POST", link(custA), 401, "UNAUTHORIZED", ""},
		{"link under the base path", full, "POST", httpapi.GridBasePath + link(custA), 401, "UNAUTHORIZED", ""},
		{"link with another method", full, "GET", link(custA), 405, "METHOD_NOT_ALLOWED", "POST"},
		{"receiver", full, "POST", "/webhooks/sumsub", 401, "UNAUTHORIZED", ""},
		{"receiver under the base path", full, "POST", httpapi.GridBasePath + "/webhooks/sumsub", 401, "UNAUTHORIZED", ""},
		{"receiver with another method", full, "PUT", "/webhooks/sumsub", 405, "METHOD_NOT_ALLOWED", "POST"},
		{"receiver not wired", linkOnly, "POST", "/webhooks/sumsub", 404, "NOT_FOUND", ""},
		// An unknown link is the sandbox page's own 404 (HTML).
		{"sandbox page", full, "GET", "/sandbox/kyc/abc", 404, "<html", ""},
		{"sandbox decision", full, "POST", "/sandbox/kyc/abc", 404, "<html", ""},
		{"favicon", full, "GET", "/favicon.ico", 200, "", ""},
		{"favicon with another method", full, "POST", "/favicon.ico", 405, "METHOD_NOT_ALLOWED", "GET, HEAD"},
		{"sandbox with another method", full, "DELETE", "/sandbox/kyc/abc", 405, "METHOD_NOT_ALLOWED", "GET, HEAD, POST"},
		{"sandbox not wired", linkOnly, "GET", "/sandbox/kyc/abc", 404, "NOT_FOUND", ""},
		{"inbox page", full, "GET", "/sandbox/inbox/", 200, "<html", ""},
		// Unsigned (no key here): the inbox, as a platform, refuses it.
		{"inbox receives", full, "POST", "/sandbox/inbox/platform-a", 401, "", ""},
		{"inbox raw body", full, "GET", "/sandbox/inbox/raw/7", 404, "no such webhook", ""},
		{"webhook key", full, "GET", "/sandbox/webhook-key", 503, "no signing key", ""},
		{"inbox not wired", linkOnly, "GET", "/sandbox/inbox/", 404, "NOT_FOUND", ""},
		{"unknown path", full, "GET", "/nope", 404, "NOT_FOUND", ""},
		{"another version's base path", full, "POST", "/grid/2025-01-01" + link(custA), 404, "NOT_FOUND", ""},
		{"base path without its slash", full, "POST", httpapi.GridBasePath + "x" + link(custA), 404, "NOT_FOUND", ""},
		{"trailing slash", full, "POST", link(custA) + "/", 404, "NOT_FOUND", ""},
		{"dot segment", full, "POST", "/customers/./x/kyc-link", 404, "NOT_FOUND", ""},
		{"double slash", full, "POST", "//customers/x/kyc-link", 404, "NOT_FOUND", ""},
		// Found by FuzzSumsubWebhook: the mux answered 307 to "/"+path.
		{"no leading slash", full, "POST", "webhooks/sumsub", 404, "NOT_FOUND", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(tc.method, "http://api.test/", nil)
			r.URL = mustURL(tc.path)
			w := httptest.NewRecorder()
			tc.srv.Handler().ServeHTTP(w, r)
			if w.Code != tc.status {
				t.Fatalf("status %d; want %d; body %s", w.Code, tc.status, w.Body)
			}
			if got := w.Header().Get("Allow"); got != tc.allow {
				t.Errorf("Allow = %q; want %q", got, tc.allow)
			}
			// Every answer of the service, the sandbox's pages included.
			if w.Header().Get("X-Request-Id") == "" {
				t.Error("no X-Request-Id")
			}
			if !strings.HasPrefix(w.Header().Get("Content-Type"), "application/json") {
				if !strings.Contains(w.Body.String(), tc.body) {
					t.Errorf("body %q; want it to contain %q", w.Body, tc.body)
				}
				return
			}
			var ge struct{ Code string }
			if err := json.Unmarshal(w.Body.Bytes(), &ge); err != nil || ge.Code != tc.body {
				t.Errorf("body %s; want Grid code %s", w.Body, tc.body)
			}
		})
	}
}
