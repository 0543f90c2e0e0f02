package contract

import (
	"context"
	"crypto/ecdsa"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/grid-kyc/kyc-link/pkg/gridhook"
	"github.com/grid-kyc/kyc-link/pkg/kyc"
	"github.com/grid-kyc/kyc-link/pkg/memstore"
	"github.com/grid-kyc/kyc-link/pkg/webhooks"
)

func TestPlatformAPIOperations(t *testing.T) {
	doc, err := Doc()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][2]string{
		"createCustomer":       {"POST", CustomersPath},
		"listCustomers":        {"GET", CustomersPath},
		"getCustomerById":      {"GET", CustomerPath},
		"updateCustomerById":   {"PATCH", CustomerPath},
		"deleteCustomerById":   {"DELETE", CustomerPath},
		"getPlatformConfig":    {"GET", ConfigPath},
		"updatePlatformConfig": {"PATCH", ConfigPath},
		"sendTestWebhook":      {"POST", TestWebhookPath},

		"sendCustomerEmailVerification":    {"POST", VerifyEmailPath},
		"confirmCustomerEmailVerification": {"POST", VerifyEmailConfirmPath},
		"sendCustomerPhoneVerification":    {"POST", VerifyPhonePath},
		"confirmCustomerPhoneVerification": {"POST", VerifyPhoneConfirmPath},
	}
	for id, mp := range want {
		item := doc.Paths.Value(mp[1])
		if item == nil || item.GetOperation(mp[0]) == nil || item.GetOperation(mp[0]).OperationID != id {
			t.Errorf("no operation %s at %s %s", id, mp[0], mp[1])
			continue
		}
		for _, status := range []string{"401", "405", "500", "503"} {
			if item.GetOperation(mp[0]).Responses.Value(status) == nil {
				t.Errorf("%s declares no %s", id, status)
			}
		}
	}
	if doc.Webhooks["testWebhook"] == nil {
		t.Error("no webhooks.testWebhook")
	}
}

var jsonHeader = http.Header{"Content-Type": {"application/json"}}

func marshal(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// errorBody is the body the HTTP edge renders for a domain error (the
// Grid error shape), with the status the edge maps its code to.
func errorBody(t *testing.T, status int, err error) []byte {
	e := kyc.AsError(err)
	details := map[string]any{}
	for k, v := range e.Details {
		details[k] = v
	}
	if status >= 500 {
		details["requestId"] = "r-1"
	}
	return marshal(t, map[string]any{"status": status, "code": e.Code, "message": e.Message, "details": details})
}

// TestDomainAnswersKeepTheContract: what the use cases answer, marshalled
// as the edge will, validates against the operations that serve it.
func TestDomainAnswersKeepTheContract(t *testing.T) {
	ctx := context.Background()
	store := memstore.NewCustomers(kyc.Customer{ID: "Customer:019542f5-b3e7-1d02-0000-000000000003", PlatformID: "p1",
		Type: kyc.Individual, CreatedAt: time.Date(2025, 10, 13, 12, 0, 0, 0, time.UTC), UpdatedAt: time.Now()}) // written by hand: no platformCustomerId, umaAddress
	c := &kyc.Customers{Store: store, Sealer: memstore.NewSealer(), CursorKey: memstore.RandomKey(), Now: time.Now}
	in := func(body string) kyc.CustomerInput {
		v, err := kyc.ParseCustomerInput([]byte(body))
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	ind, err := c.Create(ctx, "p1", in(`{"customerType":"INDIVIDUAL","platformCustomerId":"u1","region":"US","currencies":["USD"],
		"fullName":"Jane","birthDate":"1990-01-15","nationality":"US","email":"jane@example.com","phoneNumber":"+14155551234",
		"idType":"SSN","identifier":"123-45-6789","address":{"line1":"1 Main","postalCode":"1","country":"US"}}`), "")
	if err != nil {
		t.Fatal(err)
	}
	biz, err := c.Create(ctx, "p1", in(`{"customerType":"BUSINESS","businessInfo":{"legalName":"Acme","country":"US","taxId":"47-1234567",
		"incorporatedOn":"2018-03-14","entityType":"LLC","countriesOfOperation":["US"],"naicsCode":"5415"}}`), "")
	if err != nil {
		t.Fatal(err)
	}
	check := func(method, path string, status int, body []byte) {
		t.Helper()
		if err := CheckOperation(method, path, status, jsonHeader, body); err != nil {
			t.Error(err)
		}
	}
	check("POST", CustomersPath, 201, marshal(t, ind))
	check("POST", CustomersPath, 201, marshal(t, biz))
	legacy, err := c.Get(ctx, "p1", "Customer:019542f5-b3e7-1d02-0000-000000000003")
	if err != nil {
		t.Fatal(err)
	}
	check("GET", CustomerPath, 200, marshal(t, legacy))
	upd, err := c.Update(ctx, "p1", biz.ID, in(`{"businessInfo":{"legalName":"Acme 2"}}`))
	if err != nil {
		t.Fatal(err)
	}
	check("PATCH", CustomerPath, 200, marshal(t, upd))
	del, err := c.Delete(ctx, "p1", ind.ID)
	if err != nil {
		t.Fatal(err)
	}
	check("DELETE", CustomerPath, 200, marshal(t, del))
	page, err := c.List(ctx, "p1", kyc.ListQuery{Limit: 1, IncludeDeleted: true})
	if err != nil || !page.HasMore {
		t.Fatal(page, err)
	}
	check("GET", CustomersPath, 200, marshal(t, page))
	last, err := c.List(ctx, "p1", kyc.ListQuery{Region: "DE"})
	if err != nil {
		t.Fatal(err)
	}
	check("GET", CustomersPath, 200, marshal(t, last)) // empty: "data": []

	// Errors, as the edge will render them.
	_, errCreate := c.Create(ctx, "p1", in(`{"customerType":"INDIVIDUAL","email":"x","region":"zz"}`), "")
	check("POST", CustomersPath, 400, errorBody(t, 400, errCreate))
	_, errDup := c.Create(ctx, "p1", in(`{"customerType":"BUSINESS","platformCustomerId":"`+biz.PlatformCustomerID+
		`","businessInfo":{"legalName":"A","country":"US","taxId":"1","incorporatedOn":"2018-03-14"}}`), "")
	check("POST", CustomersPath, 409, errorBody(t, 409, errDup))
	_, errGone := c.Delete(ctx, "p1", ind.ID)
	check("DELETE", CustomerPath, 410, errorBody(t, 410, errGone))
	check("PATCH", CustomerPath, 410, errorBody(t, 410, errGone))
	_, errMissing := c.Get(ctx, "p2", biz.ID)
	check("GET", CustomerPath, 404, errorBody(t, 404, errMissing))
	_, errCursor := c.List(ctx, "p2", kyc.ListQuery{Cursor: page.NextCursor})
	check("GET", CustomersPath, 400, errorBody(t, 400, errCursor))
	check("GET", CustomersPath, 503, errorBody(t, 503, kyc.Unavailable(kyc.DepStore, "The customer store is temporarily unavailable.", time.Second, nil)))

	// Platform configuration and the test webhook.
	sender := &capture{}
	p := &kyc.Platforms{Store: memstore.NewPlatforms(nil), Sender: sender, Now: time.Now,
		CheckEndpoint: func(u string) error { return webhooks.CheckEndpoint(u, false) }}
	cfg, err := p.Get(ctx, "p1")
	if err != nil {
		t.Fatal(err)
	}
	check("GET", ConfigPath, 200, marshal(t, cfg))
	_, errTest := p.SendTest(ctx, "p1")
	check("POST", TestWebhookPath, 400, errorBody(t, 400, errTest))
	up, err := p.Update(ctx, "p1", kyc.PlatformConfigInput{WebhookEndpoint: ptr("https://api.example.com/hooks")})
	if err != nil {
		t.Fatal(err)
	}
	check("PATCH", ConfigPath, 200, marshal(t, up.Config))
	_, errBad := p.Update(ctx, "p1", kyc.PlatformConfigInput{WebhookEndpoint: ptr("http://10.0.0.1/")})
	check("PATCH", ConfigPath, 400, errorBody(t, 400, errBad))
	d, err := p.SendTest(ctx, "p1")
	if err != nil {
		t.Fatal(err)
	}
	check("POST", TestWebhookPath, 200, marshal(t, d))
}

func ptr(s string) *string { return &s }

type capture struct{}

func (capture) SendTestWebhook(_ context.Context, _, url string) (kyc.TestDelivery, error) {
	return kyc.TestDelivery{URL: url, Status: 204}, nil
}

// TestPlatformAPIContractCatchesDrift: answers that leak write-only data,
// lose required fields or mix the customer types are refused.
func TestPlatformAPIContractCatchesDrift(t *testing.T) {
	ind := `"id":"Customer:1","platformCustomerId":"u1","customerType":"INDIVIDUAL","umaAddress":"$u1@kyc-link.invalid","isDeleted":false`
	biz := `"id":"Customer:2","platformCustomerId":"b1","customerType":"BUSINESS","umaAddress":"$b1@kyc-link.invalid","isDeleted":false,"kybStatus":"UNVERIFIED","beneficialOwners":[]`
	good := []struct {
		method, path string
		status       int
		body         string
	}{
		{"GET", CustomerPath, 200, `{` + ind + `,"kycStatus":"PENDING"}`},
		{"GET", CustomerPath, 200, `{` + biz + `,"businessInfo":{"legalName":"A"}}`},
		{"GET", CustomersPath, 200, `{"data":[{` + ind + `,"kycStatus":"APPROVED"}],"hasMore":true,"nextCursor":"x.y"}`},
		{"POST", TestWebhookPath, 200, `{"url":"https://a.example.com/h","response_status":200,"response_body":""}`},
	}
	for _, g := range good {
		if err := CheckOperation(g.method, g.path, g.status, jsonHeader, []byte(g.body)); err != nil {
			t.Errorf("valid answer refused: %v", err)
		}
	}
	bad := []struct {
		method, path string
		status       int
		body         string
	}{
		{"GET", CustomerPath, 200, `{` + ind + `,"kycStatus":"PENDING","identifier":"123-45-6789"}`},
		{"GET", CustomerPath, 200, `{` + biz + `,"businessInfo":{"legalName":"A","taxId":"47-1234567"}}`},
		{"GET", CustomerPath, 200, `{"id":"Customer:1","platformCustomerId":"u1","customerType":"INDIVIDUAL","kycStatus":"PENDING","isDeleted":false}`},
		{"GET", CustomerPath, 200, `{` + ind + `,"kycStatus":"PENDING","kybStatus":"PENDING"}`},
		{"GET", CustomerPath, 200, `{` + ind + `,"kycStatus":"DONE"}`},
		{"GET", CustomerPath, 200, `{` + biz + `,"fullName":"J"}`},
		{"GET", CustomersPath, 200, `{"data":[],"hasMore":false,"totalCount":0}`},
		{"GET", CustomersPath, 200, `{"data":[]}`},
		{"DELETE", CustomerPath, 410, `{"status":410,"code":"USER_NOT_FOUND","message":"m"}`},
		{"POST", CustomersPath, 409, `{"status":409,"code":"CONFLICT","message":"m","details":{"reason":"DUPLICATE"}}`},
		{"POST", TestWebhookPath, 200, `{"url":"https://a.example.com/h"}`},
		{"POST", TestWebhookPath, 400, `{"status":400,"code":"INVALID_INPUT","message":"m"}`},
		{"GET", ConfigPath, 200, `{"id":"PlatformConfig:p1","umaDomain":"x.example.com"}`},
		{"GET", ConfigPath, 418, `{}`},
		{"DELETE", CustomerPath, 410, `{"status":404,"code":"CUSTOMER_DELETED","message":"m"}`},
		{"GET", CustomerPath, 200, `{"id":"Customer:1","platformCustomerId":"u1","customerType":"PERSON","umaAddress":"$u1@kyc-link.invalid","isDeleted":false,"kycStatus":"PENDING"}`},
	}
	for _, b := range bad {
		if err := CheckOperation(b.method, b.path, b.status, jsonHeader, []byte(b.body)); err == nil {
			t.Errorf("drifted answer accepted: %s %s %d %s", b.method, b.path, b.status, b.body)
		}
	}
}

type key struct{ k *ecdsa.PrivateKey }

func (k key) Get(context.Context) (*ecdsa.PrivateKey, error) { return k.k, nil }

func TestTestWebhookKeepsTheContract(t *testing.T) {
	secret, _, err := gridhook.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	k, _ := gridhook.ParseSigningSecret(secret)
	var body []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { body, _ = io.ReadAll(r.Body) }))
	defer srv.Close()
	s := &webhooks.TestSender{Key: key{k}, Client: webhooks.NewClient(5*time.Second, true), Now: time.Now}
	if _, err := s.SendTestWebhook(context.Background(), "p1", srv.URL); err != nil {
		t.Fatal(err)
	}
	if err := CheckTestWebhook(body); err != nil {
		t.Error(err)
	}
	for _, drift := range []string{`{"id":"Webhook:1","type":"TEST","timestamp":"2026-01-01T00:00:00Z","data":{}}`,
		strings.Replace(string(body), `"TEST"`, `"CUSTOMER.KYC_APPROVED"`, 1), strings.Replace(string(body), `"data":{}`, `"data":{"x":1}`, 1)} {
		if err := CheckTestWebhook([]byte(drift)); err == nil {
			t.Errorf("drifted test webhook accepted: %s", drift)
		}
	}
}

// TestContactVerificationContract: the sends answer 204 with nothing
// else, the confirmations the customer; each 409 names one of its
// reasons and a resend's 429 says when to retry.
func TestContactVerificationContract(t *testing.T) {
	h := func(kv ...string) http.Header {
		out := http.Header{"Content-Type": {"application/json"}}
		for i := 0; i+1 < len(kv); i += 2 {
			out.Set(kv[i], kv[i+1])
		}
		return out
	}
	customer := `{"id":"Customer:1","platformCustomerId":"u1","customerType":"INDIVIDUAL","umaAddress":"$u1@kyc-link.invalid",` +
		`"isDeleted":false,"kycStatus":"UNVERIFIED","contactVerification":{"email":"VERIFIED","phone":"PENDING"}}`
	conflict := func(reason string) string {
		return `{"status":409,"code":"CONFLICT","message":"m","details":{"reason":"` + reason + `"}}`
	}
	invalid := func(field string) string {
		return `{"status":400,"code":"INVALID_INPUT","message":"m","details":{"field":"` + field + `"}}`
	}
	type answer struct {
		path   string
		status int
		header http.Header
		body   string
	}
	good := []answer{
		{VerifyEmailPath, 204, http.Header{"X-Request-Id": {"r-1"}}, ``},
		{VerifyPhonePath, 204, nil, ``},
		{VerifyEmailPath, 400, h(), invalid("email")},
		{VerifyPhonePath, 400, h(), invalid("phoneNumber")},
		{VerifyPhonePath, 400, h(), invalid("customerId")},
		{VerifyEmailPath, 409, h("X-Should-Retry", "false"), conflict("CONTACT_VERIFICATION_NOT_REQUIRED")},
		{VerifyPhonePath, 409, h("X-Should-Retry", "false"), conflict("CONTACT_ALREADY_VERIFIED")},
		{VerifyEmailPath, 410, h("X-Should-Retry", "false"), `{"status":410,"code":"CUSTOMER_DELETED","message":"m"}`},
		{VerifyPhonePath, 429, h("Retry-After", "30", "Retry-After-Ms", "30000"), `{"status":429,"code":"RATE_LIMITED","message":"m"}`},
		{VerifyEmailPath, 503, h("Retry-After", "30"), `{"status":503,"code":"SERVICE_UNAVAILABLE","message":"m","details":{"requestId":"r-1"}}`},
		{VerifyEmailConfirmPath, 200, h("X-Request-Id", "r-1"), customer},
		{VerifyPhoneConfirmPath, 400, h(), invalid("code")},
		{VerifyPhoneConfirmPath, 409, h("X-Should-Retry", "false"), conflict("CONTACT_ALREADY_VERIFIED")},
		{VerifyEmailConfirmPath, 409, h("Retry-After", "1", "Retry-After-Ms", "1000"), conflict("CONCURRENT_MODIFICATION")},
	}
	for _, g := range good {
		if err := CheckOperation("POST", g.path, g.status, g.header, []byte(g.body)); err != nil {
			t.Errorf("valid answer refused: %v", err)
		}
	}
	bad := []answer{
		{VerifyEmailPath, 204, h(), `{}`},                                // a body
		{VerifyEmailPath, 204, h(), ``},                                  // a Content-Type
		{VerifyEmailPath, 200, h(), customer},                            // the send answers no customer
		{VerifyEmailPath, 400, h(), invalid("phoneNumber")},              // the other channel's field
		{VerifyEmailPath, 409, h(), conflict("CONCURRENT_MODIFICATION")}, // a send writes no customer
		{VerifyPhonePath, 409, h(), conflict("PLATFORM_CUSTOMER_ID_EXISTS")},
		{VerifyPhonePath, 409, h(), `{"status":409,"code":"CONFLICT","message":"m"}`},     // no reason
		{VerifyPhonePath, 429, h(), `{"status":429,"code":"RATE_LIMITED","message":"m"}`}, // no Retry-After
		{VerifyEmailConfirmPath, 204, nil, ``},
		{VerifyEmailConfirmPath, 200, h(), strings.Replace(customer, `"PENDING"`, `"UNVERIFIED"`, 1)},
		{VerifyPhoneConfirmPath, 409, h(), conflict("CONTACT_VERIFICATION_REQUIRED")},
	}
	for _, b := range bad {
		if err := CheckOperation("POST", b.path, b.status, b.header, []byte(b.body)); err == nil {
			t.Errorf("drifted answer accepted: %s %d %v %s", b.path, b.status, b.header, b.body)
		}
	}
}
