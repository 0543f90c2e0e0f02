package httpapi_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/grid-kyc/kyc-link/internal/contract"
	"github.com/grid-kyc/kyc-link/pkg/memstore"
)

// FuzzRequest throws arbitrary bodies, ids, keys, content types and
// Authorization headers at the handler. Whatever comes in: no panic, no
// 5xx (the dependencies here are healthy), and the answer keeps the
// contract.
func FuzzRequest(f *testing.F) {
	good := basic("tok-a", secretA)
	f.Add(`{"redirectUri":"https://a.example/x"}`, custA, "", "application/json", good)
	f.Add(`{}`, "Customer%3A1", "key-1", "", good)
	f.Add(`{"redirectUri":"http://[::1]:80/"}`, custA, "k", "application/json; charset=utf-8", good)
	f.Add(`[`, "a%2Fb", "\x00", "text/plain", "Basic Og==")
	f.Add("{\"redirect_uri\":\"\xff\"}", "..", "clé", ";", "basic "+good[6:])
	e := newEnv(f, memstore.NewIdempotency())
	f.Fuzz(func(t *testing.T, body, id, key, contentType, authz string) {
		r := httptest.NewRequest("POST", "http://api.test/", bytes.NewReader([]byte(body)))
		r.URL = &url.URL{Path: "/customers/" + id + "/kyc-link", RawPath: "/customers/" + id + "/kyc-link"}
		r.Header.Set("Authorization", authz)
		if contentType != "" {
			r.Header["Content-Type"] = []string{contentType}
		}
		if key != "" {
			r.Header["Idempotency-Key"] = []string{key}
		}
		w := httptest.NewRecorder()
		e.handler.ServeHTTP(w, r)
		if w.Code >= 500 {
			t.Fatalf("status %d for body %q id %q key %q: %s", w.Code, body, id, key, w.Body)
		}
		if w.Code != http.StatusCreated {
			var ge struct {
				Status  int    `json:"status"`
				Code    string `json:"code"`
				Message string `json:"message"`
			}
			if err := json.Unmarshal(w.Body.Bytes(), &ge); err != nil || ge.Status != w.Code || ge.Code == "" || ge.Message == "" {
				t.Fatalf("status %d body %s is not a Grid error", w.Code, w.Body)
			}
		}
		if err := contract.CheckResponse(w.Code, w.Header(), w.Body.Bytes()); err != nil {
			t.Fatal(err)
		}
	})
}
