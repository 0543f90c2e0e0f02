package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/grid-kyc/kyc-link/internal/contract"
	"github.com/grid-kyc/kyc-link/pkg/app"
)

// FuzzOwnerInput throws arbitrary bodies and ids at POST
// /beneficial-owners and PATCH /beneficial-owners/{id} of the platform
// function (memory backend). Each run has a business and an owner of its
// own ({B} and {O} in the body and the id name them), so a run does the
// same whatever ran before (the fuzzer's coverage is reproducible).
// Whatever comes in: no panic, no 5xx, a Grid error for every refusal,
// the answer keeps the contract, and no answer carries an identifier.
func FuzzOwnerInput(f *testing.F) {
	good := `{"customerId":"{B}","roles":["UBO","CONTROL_PERSON"],"ownershipPercentage":60,"personalInfo":{"firstName":"Jane",
  "lastName":"Roe","birthDate":"1978-06-15","nationality":"US","address":{"line1":"1 Main St","postalCode":"98101","country":"US"},
  "idType":"SSN","identifier":"123-45-6789"}}`
	f.Add(false, good, "")
	f.Add(false, strings.Replace(good, "60", "1e400", 1), "")
	f.Add(false, strings.Replace(good, "60", "-0.0", 1), "")
	f.Add(false, strings.Replace(good, `"SSN"`, `"NON_US_TAX_ID"`, 1), "")
	f.Add(false, strings.Replace(good, `["UBO","CONTROL_PERSON"]`, `null`, 1), "")
	f.Add(true, `{"personalInfo":{"address":null}}`, "BeneficialOwner:019542f5-b3e7-7d02-8000-00000000dead")
	f.Add(true, `{"roles":["UBO"],"ownershipPercentage":100}`, "{O}")
	f.Add(true, `{"personalInfo":{"lastName":"Doe","address":{"line1":"2 Side St","postalCode":"1","country":"DE"}}}`, "{O}")
	f.Add(true, `{"personalInfo":{"idType":"ITIN","identifier":"912-70-1234"}}`, "..%2F")
	cfg, err := app.ConfigFromEnv(func(string) string { return "" }, false)
	if err != nil {
		f.Fatal(err)
	}
	svc, err := app.Build(context.Background(), cfg, slog.New(slog.NewJSONHandler(io.Discard, nil)), app.PlatformFunction)
	if err != nil {
		f.Fatal(err)
	}
	h := svc.Handler()
	call := func(method, path, body string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(method, "http://api.test/", strings.NewReader(body))
		r.URL.Path = path
		r.SetBasicAuth("demo-token", "demo-secret-not-for-production")
		r.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	idOf := func(t *testing.T, w *httptest.ResponseRecorder) string {
		var v struct{ ID string }
		if err := json.Unmarshal(w.Body.Bytes(), &v); err != nil || v.ID == "" {
			t.Fatalf("%d %s", w.Code, w.Body)
		}
		return v.ID
	}
	f.Fuzz(func(t *testing.T, patch bool, body, id string) {
		b := idOf(t, call("POST", "/customers", `{"customerType":"BUSINESS","businessInfo":{"legalName":"Acme","country":"US","taxId":"47-1234567","incorporatedOn":"2018-03-14"}}`))
		o := idOf(t, call("POST", "/beneficial-owners", strings.ReplaceAll(good, "{B}", b)))
		body = strings.NewReplacer("{B}", b, "{O}", o).Replace(body)
		method, path, tmpl := "POST", "/beneficial-owners", contract.BeneficialOwnersPath
		if patch {
			method, path, tmpl = "PATCH", "/beneficial-owners/"+strings.ReplaceAll(id, "{O}", o), contract.BeneficialOwnerPath
		}
		r := httptest.NewRequest(method, "http://api.test/", bytes.NewReader([]byte(body)))
		r.URL.Path, r.URL.RawPath = path, ""
		r.SetBasicAuth("demo-token", "demo-secret-not-for-production")
		r.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code >= 500 {
			t.Fatalf("%s %q: %d %s", method, body, w.Code, w.Body)
		}
		if w.Code >= 400 {
			var ge struct {
				Status        int
				Code, Message string
			}
			if err := json.Unmarshal(w.Body.Bytes(), &ge); err != nil || ge.Status != w.Code || ge.Code == "" || ge.Message == "" {
				t.Fatalf("%d %s is not a Grid error", w.Code, w.Body)
			}
		}
		if w.Code < 300 && strings.Contains(w.Body.String(), `"identifier"`) {
			t.Fatalf("the answer carries an identifier: %s", w.Body)
		}
		if w.Code != 404 || !strings.Contains(w.Body.String(), "No route") {
			if err := contract.CheckOperation(method, tmpl, w.Code, w.Header(), w.Body.Bytes()); err != nil {
				t.Fatal(err)
			}
		}
	})
}
