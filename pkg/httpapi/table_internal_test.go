package httpapi

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestFingerprint: the fingerprint's path is the row's pattern with each
// value escaped as url.PathEscape writes it, however the client escaped
// it, so the records of the link and of POST /customers stay the ones
// written before the table ("/customers/" + url.PathEscape(id) +
// "/kyc-link", "/customers").
func TestFingerprint(t *testing.T) {
	for _, tc := range []struct {
		pattern, target, method, path string
	}{
		{LinkRoute, "/customers/Customer:1/kyc-link", "POST", "/customers/Customer:1/kyc-link"},
		{LinkRoute, "/customers/%43ustomer%3A1/kyc-link", "POST", "/customers/Customer:1/kyc-link"},
		{LinkRoute, "/customers/a%2Fb/kyc-link", "POST", "/customers/a%2Fb/kyc-link"},
		{LinkRoute, "/customers/a%20b/kyc-link", "POST", "/customers/a%20b/kyc-link"},
		{CreateCustomerRoute, "/customers", "POST", "/customers"},
		{"/any/{rest...}", "/any/x/y", "PUT", "/any/x%2Fy"},
	} {
		t.Run(tc.target, func(t *testing.T) {
			var got struct{ Method, Path string }
			mux := http.NewServeMux()
			mux.HandleFunc(tc.pattern, func(w http.ResponseWriter, r *http.Request) {
				p := fingerprint(&request{r: r, route: tc.pattern, body: []byte(`{}`)})
				got.Method, got.Path = p.Method, p.Path
			})
			mux.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(tc.method, tc.target, nil))
			if diff := cmp.Diff(struct{ Method, Path string }{tc.method, tc.path}, got); diff != "" {
				t.Errorf("fingerprint (-want +got):\n%s", diff)
			}
		})
	}
}

// TestMultipartRow: a row may declare a multipart/form-data body with its
// own limit; the pipeline refuses another content type and a body over the
// limit in the Grid shape, and hands the handler the parts.
func TestMultipartRow(t *testing.T) {
	form := func(size int) (string, []byte) {
		var b bytes.Buffer
		w := multipart.NewWriter(&b)
		fw, _ := w.CreateFormFile("file", "id.png")
		fw.Write(bytes.Repeat([]byte("x"), size))
		w.Close()
		return w.FormDataContentType(), b.Bytes()
	}
	const limit = 1 << 10
	s := &Server{Logger: slog.New(slog.NewJSONHandler(io.Discard, nil))}
	h := s.handler(route{pattern: "POST /upload", body: multipartUpTo(limit), serve: func(q *request) response {
		p, err := q.form.NextPart()
		if err != nil {
			return q.fail(err)
		}
		n, _ := io.Copy(io.Discard, p)
		return jsonResponse(http.StatusOK, map[string]any{"name": p.FormName(), "bytes": n})
	}})
	small, smallBody := form(100)
	big, bigBody := form(limit)
	for _, tc := range []struct {
		name, contentType string
		body              []byte
		status            int
		want              string // the answer's field, or its message
	}{
		{"parts", small, smallBody, 200, "file"},
		{"over the limit", big, bigBody, 400, "The request body is larger than 1024 bytes."},
		{"JSON", "application/json", []byte(`{}`), 400, "The request body must be multipart/form-data; send Content-Type: multipart/form-data with a boundary."},
		{"no boundary", "multipart/form-data", smallBody, 400, "The request body must be multipart/form-data; send Content-Type: multipart/form-data with a boundary."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/upload", bytes.NewReader(tc.body))
			r.Header.Set("Content-Type", tc.contentType)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			var got struct {
				Name    string
				Message string
			}
			if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([2]any{tc.status, tc.want}, [2]any{w.Code, got.Name + got.Message}); diff != "" {
				t.Errorf("answer (-want +got):\n%s\n%s", diff, w.Body)
			}
		})
	}
}

// TestTable: every pattern once; an API row has serve and a page row page,
// never both; an idempotent row needs credentials (the guard keys records
// by platform) and reads a body (the fingerprint's).
func TestTable(t *testing.T) {
	seen := map[string]bool{}
	for _, rt := range (&Server{}).table() {
		if seen[rt.pattern] {
			t.Errorf("%s: twice", rt.pattern)
		}
		seen[rt.pattern] = true
		if (rt.serve == nil) == (rt.page == nil) {
			t.Errorf("%s: want exactly one of serve and page", rt.pattern)
		}
		if rt.page != nil && (rt.auth || rt.idempotent || rt.path != nil || rt.body.kind != noBody || rt.body.tooLarge != nil) {
			t.Errorf("%s: a page's row declares what only the pipeline applies", rt.pattern)
		}
		if rt.idempotent && (!rt.auth || rt.body.kind != jsonBody && rt.body.kind != multipartBody) {
			t.Errorf("%s: idempotent without credentials or a body it fingerprints", rt.pattern)
		}
		if !strings.Contains(rt.pattern, " /") {
			t.Errorf("%s: no method", rt.pattern)
		}
	}
}

// TestNeedsAndPatterns: what app.Build builds for a function comes from
// its rows.
func TestNeedsAndPatterns(t *testing.T) {
	type needs struct{ Auth, Idempotent bool }
	for _, tc := range []struct {
		fn       Function
		needs    needs
		patterns []string
	}{
		{LinkFunction, needs{true, true}, []string{LinkRoute}},
		{PlatformFunction, needs{true, true}, []string{CreateCustomerRoute, ListCustomersRoute, GetCustomerRoute,
			UpdateCustomerRoute, DeleteCustomerRoute, GetConfigRoute, UpdateConfigRoute, TestWebhookRoute,
			VerifyEmailRoute, ConfirmEmailRoute, VerifyPhoneRoute, ConfirmPhoneRoute,
			UploadDocumentRoute, ListDocumentsRoute, GetDocumentRoute, ReplaceDocumentRoute, DeleteDocumentRoute,
			CreateVerificationRoute, ListVerificationsRoute, GetVerificationRoute,
			CreateOwnerRoute, ListOwnersRoute, GetOwnerRoute, UpdateOwnerRoute, CreateUploadRoute, CompleteUploadRoute}},
		{ReceiverFunction, needs{false, false}, []string{WebhookRoute}},
		{SandboxFunction, needs{false, false}, []string{SandboxPageRoute, SandboxDecisionRoute, FaviconRoute}},
		{InboxFunction, needs{false, false}, []string{InboxPageRoute, InboxRawRoute, InboxReceiveRoute, WebhookKeyRoute, InboxDecisionRoute}},
	} {
		auth, idem := Needs(tc.fn)
		if diff := cmp.Diff(needs{tc.needs.Auth, tc.needs.Idempotent}, needs{auth, idem}); diff != "" {
			t.Errorf("Needs(%d) (-want +got):\n%s", tc.fn, diff)
		}
		if diff := cmp.Diff(tc.patterns, Patterns(tc.fn)); diff != "" {
			t.Errorf("Patterns(%d) (-want +got):\n%s", tc.fn, diff)
		}
	}
}
