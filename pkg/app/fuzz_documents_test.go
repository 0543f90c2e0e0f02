package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"testing"

	"github.com/grid-kyc/kyc-link/internal/contract"
	"github.com/grid-kyc/kyc-link/pkg/app"
)

// FuzzDocumentUpload throws arbitrary multipart bodies, boundaries and
// document ids at POST /documents and PUT /documents/{id} of the platform
// function (memory backend, the seed's customers). Whatever comes in: no
// panic, no 5xx, a Grid error for every refusal, and the answer keeps the
// contract.
func FuzzDocumentUpload(f *testing.F) {
	const holder = "Customer:019542f5-b3e7-1d02-0000-000000000001"
	part := func(name, value string) string {
		return "--b\r\nContent-Disposition: form-data; name=\"" + name + "\"\r\n\r\n" + value + "\r\n"
	}
	good := part("documentHolder", holder) + part("documentType", "PASSPORT") + part("country", "US") +
		"--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"p.png\"\r\nContent-Type: image/png\r\n\r\n\x89PNG\r\n\x1a\nx\r\n--b--\r\n"
	f.Add(false, "b", good, "")
	f.Add(true, "b", good, "Document:019542f5-b3e7-7d02-8000-00000000dead")
	f.Add(false, "b", good[:len(good)/2], "")
	f.Add(false, "x", "--x\r\nContent-Disposition: form-data; name=\"file\"\r\nContent-Type: multipart/mixed; boundary=y\r\n\r\n--y\r\n\r\n--y--\r\n--x--\r\n", "")
	f.Add(false, "", "", "")
	f.Add(true, "b\"", part("side", "\xff")+"--b--", "..%2F")
	cfg, err := app.ConfigFromEnv(func(string) string { return "" }, false)
	if err != nil {
		f.Fatal(err)
	}
	svc, err := app.Build(context.Background(), cfg, slog.New(slog.NewJSONHandler(io.Discard, nil)), app.PlatformFunction)
	if err != nil {
		f.Fatal(err)
	}
	h := svc.Handler()
	f.Fuzz(func(t *testing.T, put bool, boundary, body, id string) {
		method, path, tmpl := "POST", "/documents", contract.DocumentsPath
		if put {
			method, path, tmpl = "PUT", "/documents/"+id, contract.DocumentPath
		}
		r := httptest.NewRequest(method, "http://api.test/", bytes.NewReader([]byte(body)))
		r.URL.Path, r.URL.RawPath = path, ""
		r.SetBasicAuth("demo-token", "demo-secret-not-for-production")
		r.Header.Set("Content-Type", "multipart/form-data; boundary="+boundary)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code >= 500 {
			t.Fatalf("%s %q: %d %s", method, body, w.Code, w.Body)
		}
		if w.Code >= 400 {
			var ge struct {
				Status  int
				Code    string
				Message string
			}
			if err := json.Unmarshal(w.Body.Bytes(), &ge); err != nil || ge.Status != w.Code || ge.Code == "" || ge.Message == "" {
				t.Fatalf("%d %s is not a Grid error", w.Code, w.Body)
			}
		}
		if err := contract.CheckOperation(method, tmpl, w.Code, w.Header(), w.Body.Bytes()); err != nil {
			t.Fatal(err)
		}
	})
}
