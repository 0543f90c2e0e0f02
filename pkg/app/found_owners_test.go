package app_test

// Defects found in the review of the KYB beneficial owners change
// (e268990..2f62689). Each test fails on the code as reviewed; its comment
// says what is wrong and what the right behaviour is.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/grid-kyc/kyc-link/internal/contract"
	"github.com/grid-kyc/kyc-link/pkg/app"
)

// lambdaResponseLimit is the most a synchronous Lambda invocation
// answers (6 MB, /work/shared/FACTS.md): a larger answer never reaches
// the client; API Gateway answers its own 502 instead of Grid's shape.
const lambdaResponseLimit = 6 * 1024 * 1024

// GET /customers?limit=100 grows past what Lambda can answer once a
// platform's businesses carry their owners: every list entry embeds all
// of a business's owners (up to 20), each with names and an address at
// their accepted maximum (250 characters, counted in runes), so one page
// of 100 businesses whose owners' names are written in a script of
// 4-byte characters is about 12 MB (18 MB with '<', which the JSON
// encoder writes as \u003c). MaxOwnersPerBusiness was sized for the item,
// GET and webhooks of one business, not for a page of 100. The platform
// function answers it; on AWS the invocation fails (a 502 that is not
// Grid's error, and that the SDKs retry), so that platform can no longer
// list its customers with limit=100. Right behaviour: every page stays
// within the Lambda limit: a list page stops early (hasMore, nextCursor)
// when its body would pass a byte budget, or the page size is bounded for
// businesses, always a 200 in Grid's shape.
func TestFoundCustomerListOutgrowsLambda(t *testing.T) {
	cfg, err := app.ConfigFromEnv(func(string) string { return "" }, false)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := app.Build(context.Background(), cfg, slog.New(slog.NewJSONHandler(io.Discard, nil)), app.PlatformFunction)
	if err != nil {
		t.Fatal(err)
	}
	h := svc.Handler()
	call := func(method, path, body string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(method, "http://api.test"+path, strings.NewReader(body))
		r.SetBasicAuth("demo-token", "demo-secret-not-for-production")
		if body != "" {
			r.Header.Set("Content-Type", "application/json")
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	long := func(n int) string { return strings.Repeat("\U0001D504", n) } // MATHEMATICAL FRAKTUR CAPITAL A: 4 bytes
	for i := range 100 {
		w := call("POST", "/customers", fmt.Sprintf(`{"customerType":"BUSINESS","businessInfo":{"legalName":"Acme %d","country":"US",
  "taxId":"47-1234567","incorporatedOn":"2018-03-14"}}`, i))
		if w.Code != 201 {
			t.Fatalf("business = %d %s", w.Code, w.Body)
		}
		biz := foundIDOf(t, w)
		for range 20 {
			body := fmt.Sprintf(`{"customerId":%q,"roles":["DIRECTOR"],"ownershipPercentage":0,"personalInfo":{"firstName":%q,
  "middleName":%q,"lastName":%q,"birthDate":"1978-06-15","nationality":"US","address":{"line1":%q,"line2":%q,"city":%q,
  "state":%q,"postalCode":%q,"country":"US"},"idType":"SSN","identifier":"123-45-6789"}}`,
				biz, long(250), long(250), long(250), long(250), long(250), long(100), long(100), long(20))
			if w := call("POST", "/beneficial-owners", body); w.Code != 201 {
				t.Fatalf("owner = %d %s", w.Code, w.Body)
			}
		}
	}
	w := call("GET", "/customers?limit=100", "")
	if err := contract.CheckOperation("GET", contract.CustomersPath, w.Code, w.Header(), w.Body.Bytes()); err != nil {
		t.Error(err)
	}
	if w.Body.Len() > lambdaResponseLimit {
		t.Errorf("GET /customers?limit=100 answers %d bytes; Lambda answers at most %d", w.Body.Len(), lambdaResponseLimit)
	}
}

func foundIDOf(t *testing.T, w *httptest.ResponseRecorder) string {
	t.Helper()
	var v struct{ ID string }
	if err := json.Unmarshal(w.Body.Bytes(), &v); err != nil || v.ID == "" {
		t.Fatalf("%d %s: no id", w.Code, w.Body)
	}
	return v.ID
}
