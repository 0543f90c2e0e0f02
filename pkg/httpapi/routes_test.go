package httpapi_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/grid-kyc/kyc-link/pkg/httpapi"
)

// page answers with its name and the path values it was routed with.
func page(name string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, name+" "+r.PathValue("linkId")+r.PathValue("platformId"))
	})
}

// TestRouter: every route answers at / and under the Grid base path, and
// only its own methods; what no route takes is a Grid-shaped 404 or 405
// (with the mux's Allow), never a redirect, and a part not wired is not
// served.
func TestRouter(t *testing.T) {
	e := newEnv(t, nil)
	full := &httpapi.Server{Link: e.link, Receiver: newReceiver(t).SumsubReceiver,
		Sandbox: page("sandbox"), Inbox: page("inbox"), Logger: slog.New(slog.NewJSONHandler(io.Discard, nil))}
	linkOnly := &httpapi.Server{Link: e.link, Logger: full.Logger}
	for _, tc := range []struct {
		name         string
		srv          *httpapi.Server
		method, path string
		status       int
		body         string // a page's answer, or the Grid code
		allow        string
	}{
		{"link", full, "POST", link(custA), 401, "UNAUTHORIZED", ""},
		{"link under the base path", full, "POST", httpapi.GridBasePath + link(custA), 401, "UNAUTHORIZED", ""},
		{"link with another method", full, "GET", link(custA), 405, "METHOD_NOT_ALLOWED", "POST"},
		{"receiver", full, "POST", "/webhooks/sumsub", 401, "UNAUTHORIZED", ""},
		{"receiver under the base path", full, "POST", httpapi.GridBasePath + "/webhooks/sumsub", 401, "UNAUTHORIZED", ""},
		{"receiver with another method", full, "PUT", "/webhooks/sumsub", 405, "METHOD_NOT_ALLOWED", "POST"},
		{"receiver not wired", linkOnly, "POST", "/webhooks/sumsub", 404, "NOT_FOUND", ""},
		{"sandbox page", full, "GET", "/sandbox/kyc/abc", 200, "sandbox abc", ""},
		{"sandbox decision", full, "POST", "/sandbox/kyc/abc", 200, "sandbox abc", ""},
		{"sandbox with another method", full, "DELETE", "/sandbox/kyc/abc", 405, "METHOD_NOT_ALLOWED", "GET, HEAD, POST"},
		{"sandbox not wired", linkOnly, "GET", "/sandbox/kyc/abc", 404, "NOT_FOUND", ""},
		{"inbox page", full, "GET", "/sandbox/inbox/", 200, "inbox ", ""},
		{"inbox receives", full, "POST", "/sandbox/inbox/platform-a", 200, "inbox platform-a", ""},
		{"unknown path", full, "GET", "/nope", 404, "NOT_FOUND", ""},
		{"another version's base path", full, "POST", "/grid/2025-01-01" + link(custA), 404, "NOT_FOUND", ""},
		{"base path without its slash", full, "POST", httpapi.GridBasePath + "x" + link(custA), 404, "NOT_FOUND", ""},
		{"trailing slash", full, "POST", link(custA) + "/", 404, "NOT_FOUND", ""},
		{"dot segment", full, "POST", "/customers/./x/kyc-link", 404, "NOT_FOUND", ""},
		{"double slash", full, "POST", "//customers/x/kyc-link", 404, "NOT_FOUND", ""},
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
			if tc.status == 200 {
				if w.Body.String() != tc.body {
					t.Errorf("body %q; want %q", w.Body, tc.body)
				}
				return
			}
			var ge struct{ Code string }
			if err := json.Unmarshal(w.Body.Bytes(), &ge); err != nil || ge.Code != tc.body {
				t.Errorf("body %s; want Grid code %s", w.Body, tc.body)
			}
			if w.Header().Get("X-Request-Id") == "" {
				t.Error("no X-Request-Id")
			}
		})
	}
}
