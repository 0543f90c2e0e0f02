package contract

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/grid-kyc/kyc-link/pkg/kyc"
	"github.com/grid-kyc/kyc-link/pkg/memstore"
)

// Grid's examples (lightsparkdev/grid-api
// openapi/components/schemas/customers/BeneficialOwner*.yaml), field by
// field: an owner as Grid answers it (identifier included) and the create
// and update requests.
const (
	gridOwnerPersonalInfo = `{"firstName":"Jane","middleName":"Marie","lastName":"Smith","birthDate":"1978-06-15","nationality":"US",` +
		`"email":"jane.smith@acmecorp.com","phoneNumber":"+14155550192","address":{"line1":"123 Main Street","line2":"Apt 4B",` +
		`"city":"San Francisco","state":"CA","postalCode":"94105","country":"US"},"idType":"SSN","identifier":"123-45-6789","countryOfIssuance":"US"}`
	gridOwner = `{"id":"BeneficialOwner:019542f5-b3e7-1d02-0000-000000000001","customerId":"Customer:019542f5-b3e7-1d02-0000-000000000001",` +
		`"roles":["UBO","DIRECTOR"],"ownershipPercentage":51,"personalInfo":` + gridOwnerPersonalInfo + `,"kycStatus":"APPROVED",` +
		`"createdAt":"2025-10-03T12:00:00Z","updatedAt":"2025-10-03T12:00:00Z"}`
	gridOwnerCreate = `{"customerId":"Customer:019542f5-b3e7-1d02-0000-000000000001","roles":["UBO","DIRECTOR"],"ownershipPercentage":51,` +
		`"personalInfo":` + gridOwnerPersonalInfo + `}`
	gridOwnerUpdate = `{"roles":["UBO","DIRECTOR"],"ownershipPercentage":51,"personalInfo":` + gridOwnerPersonalInfo + `}`
)

// owner is Grid's example as this service answers it: without
// personalInfo.identifier (write-only here).
var owner = strings.Replace(gridOwner, `,"identifier":"123-45-6789"`, ``, 1)

// TestBeneficialOwnerOperations: Grid's four beneficial owner operations
// are where the handlers will look for them, each declares the answers
// every route gives, none is marked as an extension, and the create takes
// an Idempotency-Key as the other creates do.
func TestBeneficialOwnerOperations(t *testing.T) {
	doc, err := Doc()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]struct {
		method, path string
		statuses     []string
	}{
		"createBeneficialOwner": {"POST", BeneficialOwnersPath, []string{"201", "400", "404", "409"}},
		"listBeneficialOwners":  {"GET", BeneficialOwnersPath, []string{"200", "400", "404"}},
		"getBeneficialOwner":    {"GET", BeneficialOwnerPath, []string{"200", "404"}},
		"updateBeneficialOwner": {"PATCH", BeneficialOwnerPath, []string{"200", "400", "404", "409", "410"}},
	}
	for id, w := range want {
		item := doc.Paths.Value(w.path)
		if item == nil || item.GetOperation(w.method) == nil || item.GetOperation(w.method).OperationID != id {
			t.Errorf("no operation %s at %s %s", id, w.method, w.path)
			continue
		}
		op := item.GetOperation(w.method)
		for _, status := range append([]string{"401", "405", "429", "500", "503"}, w.statuses...) {
			if op.Responses.Value(status) == nil {
				t.Errorf("%s declares no %s", id, status)
			}
		}
		if _, ok := op.Extensions["x-kyc-link-extension"]; ok {
			t.Errorf("%s is Grid's, not an extension", id)
		}
		keyed := slices.ContainsFunc(op.Parameters, func(p *openapi3.ParameterRef) bool {
			return p.Value != nil && p.Value.In == "header" && p.Value.Name == "Idempotency-Key"
		})
		if keyed != (id == "createBeneficialOwner") {
			t.Errorf("%s: Idempotency-Key %v", id, keyed)
		}
	}
}

// TestBeneficialOwnerSchemasFollowGrid: our schemas have Grid's fields
// (as of lightsparkdev/grid-api openapi/components/schemas/customers),
// but for the documented deviation: an answer's personalInfo has no
// identifier, which is write-only here, as the customer's.
func TestBeneficialOwnerSchemasFollowGrid(t *testing.T) {
	doc, err := Doc()
	if err != nil {
		t.Fatal(err)
	}
	personalInfo := []string{"firstName", "middleName", "lastName", "birthDate", "nationality", "email", "phoneNumber",
		"address", "idType", "identifier", "countryOfIssuance"}
	withoutIdentifier := slices.DeleteFunc(slices.Clone(personalInfo), func(s string) bool { return s == "identifier" })
	want := map[string]struct{ properties, required []string }{
		"BeneficialOwner": {[]string{"id", "customerId", "roles", "ownershipPercentage", "personalInfo", "kycStatus", "createdAt", "updatedAt"},
			[]string{"id", "customerId", "roles", "ownershipPercentage", "personalInfo", "kycStatus", "createdAt"}},
		"BeneficialOwnerCreateRequest": {[]string{"customerId", "roles", "ownershipPercentage", "personalInfo"},
			[]string{"customerId", "roles", "ownershipPercentage", "personalInfo"}},
		"BeneficialOwnerUpdateRequest": {[]string{"roles", "ownershipPercentage", "personalInfo"}, nil},
		"BeneficialOwnerPersonalInfo": {personalInfo,
			[]string{"firstName", "lastName", "birthDate", "nationality", "address", "idType", "identifier"}},
		"BeneficialOwnerPersonalInfoUpdate": {personalInfo, nil},
		"BeneficialOwnerPersonalInfoResponse": {withoutIdentifier,
			[]string{"firstName", "lastName", "birthDate", "nationality", "address", "idType"}},
		"BeneficialOwnerListResponse": {[]string{"data", "hasMore", "nextCursor", "totalCount"}, []string{"data", "hasMore", "totalCount"}},
	}
	for name, w := range want {
		ref := doc.Components.Schemas[name]
		if ref == nil || ref.Value == nil {
			t.Errorf("no schema %s", name)
			continue
		}
		s := ref.Value
		if got := slices.Sorted(maps.Keys(s.Properties)); !slices.Equal(got, slices.Sorted(slices.Values(w.properties))) {
			t.Errorf("%s has %v, Grid's %v", name, got, w.properties)
		}
		if got := slices.Sorted(slices.Values(s.Required)); !slices.Equal(got, slices.Sorted(slices.Values(w.required))) {
			t.Errorf("%s requires %v, want %v", name, got, w.required)
		}
		if s.AdditionalProperties.Has == nil || *s.AdditionalProperties.Has {
			t.Errorf("%s is not closed", name)
		}
	}
	for _, name := range []string{"BeneficialOwnerPersonalInfo", "BeneficialOwnerPersonalInfoUpdate"} {
		if id := doc.Components.Schemas[name].Value.Properties["identifier"]; id == nil || !id.Value.WriteOnly {
			t.Errorf("%s.identifier is not writeOnly", name)
		}
	}
	roles := doc.Components.Schemas["BeneficialOwnerRole"].Value.Enum
	if fmt.Sprint(roles) != fmt.Sprint([]any{"UBO", "DIRECTOR", "COMPANY_OFFICER", "CONTROL_PERSON", "TRUSTEE", "GENERAL_PARTNER"}) ||
		fmt.Sprint(roles) != fmt.Sprint(anys(kyc.OwnerRoles)) {
		t.Errorf("BeneficialOwnerRole %v; Grid's and the service's %v", roles, kyc.OwnerRoles)
	}
	business := doc.Components.Schemas["PlatformBusinessCustomer"].Value
	if business.Properties["beneficialOwners"] == nil || !slices.Contains(business.Required, "beneficialOwners") {
		t.Error("a business answer does not always carry beneficialOwners")
	}
	if doc.Components.Schemas["PlatformIndividualCustomer"].Value.Properties["beneficialOwners"] != nil {
		t.Error("an individual answer may carry beneficialOwners")
	}
}

func anys(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// TestGridOwnerExamples: Grid's example requests are ones the contract
// takes; Grid's example answer is refused for its identifier and taken
// without it.
func TestGridOwnerExamples(t *testing.T) {
	for _, r := range []struct{ method, path, body string }{
		{"POST", BeneficialOwnersPath, gridOwnerCreate},
		{"PATCH", BeneficialOwnerPath, gridOwnerUpdate},
		{"PATCH", BeneficialOwnerPath, `{"personalInfo":{"address":{"line1":"1 Main","postalCode":"1","country":"US"}}}`},
		{"PATCH", BeneficialOwnerPath, `{}`},
	} {
		if err := CheckRequestBody(r.method, r.path, "application/json", []byte(r.body)); err != nil {
			t.Errorf("Grid's request refused: %v", err)
		}
	}
	for _, r := range []struct{ method, path, body string }{
		{"POST", BeneficialOwnersPath, strings.Replace(gridOwnerCreate, `,"identifier":"123-45-6789"`, ``, 1)},
		{"POST", BeneficialOwnersPath, strings.Replace(gridOwnerCreate, `"SSN"`, `"EIN"`, 1)}, // an owner is a person
		{"POST", BeneficialOwnersPath, strings.Replace(gridOwnerCreate, `["UBO","DIRECTOR"]`, `[]`, 1)},
		{"POST", BeneficialOwnersPath, strings.Replace(gridOwnerCreate, `["UBO","DIRECTOR"]`, `["UBO","UBO"]`, 1)},
		{"POST", BeneficialOwnersPath, strings.Replace(gridOwnerCreate, `["UBO","DIRECTOR"]`, `["OWNER"]`, 1)},
		{"POST", BeneficialOwnersPath, strings.Replace(gridOwnerCreate, `51`, `101`, 1)},
		{"POST", BeneficialOwnersPath, strings.Replace(gridOwnerCreate, `{"customerId"`, `{"kycStatus":"APPROVED","customerId"`, 1)},
		{"PATCH", BeneficialOwnerPath, `{"customerId":"Customer:019542f5-b3e7-1d02-0000-000000000002"}`},
		{"PATCH", BeneficialOwnerPath, `{"personalInfo":{"fullName":"Jane Smith"}}`},
	} {
		if err := CheckRequestBody(r.method, r.path, "application/json", []byte(r.body)); err == nil {
			t.Errorf("a request the service refuses was taken: %s %s %s", r.method, r.path, r.body)
		}
	}
	for _, path := range []string{BeneficialOwnersPath, BeneficialOwnerPath} {
		method, status := "GET", 200
		if path == BeneficialOwnersPath {
			method, status = "POST", 201
		}
		if err := CheckOperation(method, path, status, headers(), []byte(gridOwner)); err == nil {
			t.Errorf("%s %s: an answer with personalInfo.identifier was accepted", method, path)
		}
		if err := CheckOperation(method, path, status, headers(), []byte(owner)); err != nil {
			t.Errorf("Grid's example without identifier refused: %v", err)
		}
	}
}

// TestBeneficialOwnersContract: the owner routes answer Grid's
// BeneficialOwner (closed, no identifier) and a list with totalCount,
// 404 USER_NOT_FOUND for the create's business and REFERENCE_NOT_FOUND
// for an owner, 409 with its reasons and 410 for a deleted business.
func TestBeneficialOwnersContract(t *testing.T) {
	unavailable := gridError(503, "SERVICE_UNAVAILABLE", `{"requestId":"r-1"}`)
	conflict := func(reason string) string { return gridError(409, "CONFLICT", `{"reason":"`+reason+`"}`) }
	invalid := func(field string) string { return gridError(400, "INVALID_INPUT", `{"field":"`+field+`"}`) }
	unverified := strings.Replace(owner, `"APPROVED"`, `"UNVERIFIED"`, 1)
	minimal := `{"id":"BeneficialOwner:019542f5-b3e7-1d02-0000-000000000002","customerId":"Customer:1","roles":["CONTROL_PERSON"],` +
		`"ownershipPercentage":0,"personalInfo":{"firstName":"J","lastName":"D","birthDate":"1990-01-15","nationality":"DE",` +
		`"address":{"line1":"1 Main","postalCode":"1","country":"DE"},"idType":"NON_US_TAX_ID"},"kycStatus":"PENDING","createdAt":"2025-10-03T12:00:00Z"}`
	good := []answer{
		{"POST", BeneficialOwnersPath, 201, headers("X-Request-Id", "r-1"), unverified},
		{"POST", BeneficialOwnersPath, 201, headers("Idempotent-Replayed", "true"), unverified},
		{"POST", BeneficialOwnersPath, 400, headers(), invalid("personalInfo.address.postalCode")},
		{"POST", BeneficialOwnersPath, 400, headers(), invalid("customerId")},
		{"POST", BeneficialOwnersPath, 404, headers(), gridError(404, "USER_NOT_FOUND", "")},
		{"POST", BeneficialOwnersPath, 409, headers("Retry-After", "1", "Retry-After-Ms", "1000"), conflict("CONCURRENT_MODIFICATION")},
		{"POST", BeneficialOwnersPath, 409, headers("X-Should-Retry", "false"), conflict("IDEMPOTENCY_KEY_REUSED")},
		{"POST", BeneficialOwnersPath, 409, headers("Retry-After", "1"), conflict("IDEMPOTENCY_KEY_IN_USE")},
		{"POST", BeneficialOwnersPath, 429, headers("Retry-After", "1"), gridError(429, "RATE_LIMITED", "")},
		{"POST", BeneficialOwnersPath, 503, headers("Retry-After", "1"), unavailable},
		{"GET", BeneficialOwnersPath, 200, headers(), `{"data":[` + owner + `,` + minimal + `],"hasMore":true,"nextCursor":"c.d","totalCount":3}`},
		{"GET", BeneficialOwnersPath, 200, headers(), `{"data":[],"hasMore":false,"totalCount":0}`},
		{"GET", BeneficialOwnersPath, 400, headers(), invalid("customerId")},
		{"GET", BeneficialOwnerPath, 200, headers(), owner},
		{"GET", BeneficialOwnerPath, 200, headers(), minimal},
		{"GET", BeneficialOwnerPath, 404, headers(), gridError(404, "REFERENCE_NOT_FOUND", "")},
		{"GET", BeneficialOwnerPath, 404, headers(), gridError(404, "NOT_FOUND", "")},
		{"PATCH", BeneficialOwnerPath, 200, headers(), owner},
		{"PATCH", BeneficialOwnerPath, 400, headers(), invalid("customerId")},
		{"PATCH", BeneficialOwnerPath, 404, headers(), gridError(404, "REFERENCE_NOT_FOUND", "")},
		{"PATCH", BeneficialOwnerPath, 409, headers("Retry-After", "1", "Retry-After-Ms", "1000"), conflict("CONCURRENT_MODIFICATION")},
		{"PATCH", BeneficialOwnerPath, 410, headers("X-Should-Retry", "false"), gridError(410, "CUSTOMER_DELETED", "")},
		{"PATCH", BeneficialOwnerPath, 503, headers("Retry-After", "1"), unavailable},
	}
	bad := []answer{
		{"POST", BeneficialOwnersPath, 200, headers(), owner}, // Grid's 201
		{"POST", BeneficialOwnersPath, 201, headers(), gridOwner},
		{"POST", BeneficialOwnersPath, 201, headers(), strings.Replace(owner, `"BeneficialOwner:`, `"Owner:`, 1)},
		{"POST", BeneficialOwnersPath, 201, headers(), strings.Replace(owner, `"customerId":"Customer:`, `"customerId":"BeneficialOwner:`, 1)},
		{"POST", BeneficialOwnersPath, 201, headers(), strings.Replace(owner, `"UBO","DIRECTOR"`, `"OWNER"`, 1)},
		{"POST", BeneficialOwnersPath, 201, headers(), strings.Replace(owner, `51`, `101`, 1)},
		{"POST", BeneficialOwnersPath, 201, headers(), strings.Replace(owner, `51`, `51.5`, 1)},
		{"POST", BeneficialOwnersPath, 201, headers(), strings.Replace(owner, `"APPROVED"`, `"VERIFIED"`, 1)},
		{"POST", BeneficialOwnersPath, 201, headers(), strings.Replace(owner, `"kycStatus":"APPROVED",`, ``, 1)},
		{"POST", BeneficialOwnersPath, 201, headers(), strings.Replace(owner, `"firstName":"Jane",`, ``, 1)},
		{"POST", BeneficialOwnersPath, 201, headers(), strings.Replace(owner, `"SSN"`, `"EIN"`, 1)},
		{"POST", BeneficialOwnersPath, 201, headers(), strings.Replace(owner, `{"id"`, `{"platformId":"p1","id"`, 1)}, // closed
		{"POST", BeneficialOwnersPath, 201, headers(), strings.Replace(owner, `"countryOfIssuance":"US"`, `"countryOfIssuance":"US","taxId":"1"`, 1)},
		{"POST", BeneficialOwnersPath, 404, headers(), gridError(404, "REFERENCE_NOT_FOUND", "")}, // the business is a customer
		{"POST", BeneficialOwnersPath, 409, headers(), conflict("PLATFORM_CUSTOMER_ID_EXISTS")},
		{"POST", BeneficialOwnersPath, 409, headers(), gridError(409, "CONFLICT", "")}, // no reason
		{"POST", BeneficialOwnersPath, 503, headers(), gridError(503, "SERVICE_UNAVAILABLE", "")},
		{"GET", BeneficialOwnersPath, 200, headers(), `{"data":[],"hasMore":false}`}, // totalCount always
		{"GET", BeneficialOwnersPath, 200, headers(), `{"data":[` + gridOwner + `],"hasMore":false,"totalCount":1}`},
		{"GET", BeneficialOwnersPath, 404, headers(), gridError(404, "USER_NOT_FOUND", "")}, // an empty page instead
		{"GET", BeneficialOwnerPath, 404, headers(), gridError(404, "USER_NOT_FOUND", "")},
		{"GET", BeneficialOwnerPath, 410, headers(), gridError(410, "CUSTOMER_DELETED", "")}, // readable while the business is
		{"PATCH", BeneficialOwnerPath, 200, headers(), gridOwner},
		{"PATCH", BeneficialOwnerPath, 409, headers(), conflict("IDEMPOTENCY_KEY_REUSED")}, // no key on PATCH
		{"PATCH", BeneficialOwnerPath, 410, headers(), gridError(410, "USER_NOT_FOUND", "")},
		{"DELETE", BeneficialOwnerPath, 200, headers(), owner}, // Grid has no DELETE
	}
	checkAnswers(t, good, bad)
}

// TestBusinessAnswersCarryOwners: a business's answers (GET, list,
// create, PATCH) always carry beneficialOwners, each a BeneficialOwner
// without identifier; an individual's never; a webhook's data may carry a
// business's owners, never an individual's.
func TestBusinessAnswersCarryOwners(t *testing.T) {
	biz := `{"id":"Customer:019542f5-b3e7-1d02-0000-000000000001","platformCustomerId":"b1","customerType":"BUSINESS",` +
		`"umaAddress":"$b1@kyc-link.invalid","isDeleted":false,"kybStatus":"UNVERIFIED","businessInfo":{"legalName":"A"}`
	ind := `{"id":"Customer:1","platformCustomerId":"u1","customerType":"INDIVIDUAL","umaAddress":"$u1@kyc-link.invalid","isDeleted":false,"kycStatus":"PENDING"`
	good := []answer{
		{"GET", CustomerPath, 200, headers(), biz + `,"beneficialOwners":[]}`},
		{"GET", CustomerPath, 200, headers(), biz + `,"beneficialOwners":[` + owner + `]}`},
		{"PATCH", CustomerPath, 200, headers(), biz + `,"beneficialOwners":[` + owner + `]}`},
		{"POST", CustomersPath, 201, headers(), biz + `,"beneficialOwners":[]}`},
		{"GET", CustomersPath, 200, headers(), `{"data":[` + biz + `,"beneficialOwners":[` + owner + `]},` + ind + `}],"hasMore":false}`},
	}
	bad := []answer{
		{"GET", CustomerPath, 200, headers(), biz + `}`}, // always carried
		{"GET", CustomerPath, 200, headers(), biz + `,"beneficialOwners":[` + gridOwner + `]}`},
		{"GET", CustomerPath, 200, headers(), biz + `,"beneficialOwners":{}}`},
		{"GET", CustomerPath, 200, headers(), biz + `,"beneficialOwners":[{"id":"BeneficialOwner:019542f5-b3e7-1d02-0000-000000000001"}]}`},
		{"GET", CustomerPath, 200, headers(), biz + `,"beneficialOwners":[` + strings.Repeat(owner+`,`, 20) + owner + `]}`}, // at most 20
		{"GET", CustomerPath, 200, headers(), ind + `,"beneficialOwners":[]}`},
		{"GET", CustomersPath, 200, headers(), `{"data":[` + biz + `}],"hasMore":false}`},
	}
	checkAnswers(t, good, bad)

	hook := func(data string) []byte {
		return []byte(`{"id":"Webhook:019542f5-b3e7-1d02-0000-000000000030","type":"CUSTOMER.KYB_APPROVED","timestamp":"2025-08-15T14:32:00Z","data":` + data + `}`)
	}
	data := `{"id":"Customer:1","customerType":"BUSINESS","umaAddress":"$b1@kyc-link.invalid","kybStatus":"APPROVED","updatedAt":"2025-08-15T14:32:00Z","isDeleted":false`
	for _, d := range []string{data + `}`, data + `,"beneficialOwners":[]}`, data + `,"beneficialOwners":[` + owner + `]}`} {
		if err := CheckGridWebhook(hook(d)); err != nil {
			t.Error(err)
		}
	}
	individual := strings.Replace(strings.Replace(data, `"BUSINESS"`, `"INDIVIDUAL"`, 1), `"kybStatus"`, `"kycStatus"`, 1)
	if err := CheckGridWebhook(hook(individual + `}`)); err != nil {
		t.Error(err)
	}
	for _, d := range []string{data + `,"beneficialOwners":[` + gridOwner + `]}`, individual + `,"beneficialOwners":[]}`} {
		if err := CheckGridWebhook(hook(d)); err == nil {
			t.Errorf("drifted customer webhook accepted: %s", d)
		}
	}
}

// TestOwnerDocumentsAndVerifications: a beneficial owner holds documents,
// and a business's verification names its owners in its errors with
// Grid's types and per-owner field paths.
func TestOwnerDocumentsAndVerifications(t *testing.T) {
	ownerDoc := strings.Replace(document, `"documentHolder":"Customer:`, `"documentHolder":"BeneficialOwner:`, 1)
	ownerErrors := strings.Replace(verification, `"errors":[`, `"errors":[`+
		`{"resourceId":"Customer:019542f5-b3e7-1d02-0000-000000000001","type":"MISSING_CONTROL_PERSON","reason":"A control person is required"},`+
		`{"resourceId":"Customer:019542f5-b3e7-1d02-0000-000000000001","type":"MISSING_BENEFICIAL_OWNER","reason":"A beneficial owner is required"},`+
		`{"resourceId":"Customer:019542f5-b3e7-1d02-0000-000000000001","type":"INVALID_FIELD","field":"beneficialOwners.ownershipPercentage","reason":"More than 100%"},`+
		`{"resourceId":"BeneficialOwner:019542f5-b3e7-1d02-0000-000000000002","type":"MISSING_FIELD","field":"personalInfo.address.city","reason":"Address city is required for beneficial owners"},`+
		`{"resourceId":"BeneficialOwner:019542f5-b3e7-1d02-0000-000000000002","type":"MISSING_IDENTITY_DOCUMENT","acceptedDocumentTypes":["PASSPORT"],"reason":"A passport is required"},`, 1)
	good := []answer{
		{"POST", DocumentsPath, 201, headers(), ownerDoc},
		{"GET", DocumentPath, 200, headers(), ownerDoc},
		{"GET", DocumentsPath, 200, headers(), `{"data":[` + ownerDoc + `,` + document + `],"hasMore":false}`},
		{"POST", DocumentUploadsPath, 201, headers(), strings.Replace(upload, `"documentHolder":"Customer:`, `"documentHolder":"BeneficialOwner:`, 1)},
		{"POST", VerificationsPath, 200, headers(), ownerErrors},
		{"GET", VerificationPath, 200, headers(), ownerErrors},
	}
	bad := []answer{
		{"POST", VerificationsPath, 200, headers(), strings.Replace(ownerErrors, `"MISSING_CONTROL_PERSON"`, `"MISSING_CONTROLLER"`, 1)},
	}
	checkAnswers(t, good, bad)

	doc, err := Doc()
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{
		doc.Components.Schemas["Document"].Value.Properties["documentHolder"].Value.Description,
		doc.Components.Schemas["DocumentUploadCreateRequest"].Value.Properties["documentHolder"].Value.Description,
		doc.Paths.Value(DocumentsPath).Get.Parameters.GetByInAndName("query", "documentHolder").Description,
	} {
		if !strings.Contains(d, "BeneficialOwner") {
			t.Errorf("documentHolder %q does not say a BeneficialOwner ID holds documents", d)
		}
	}
}

// TestOwnerAnswersKeepTheContract: what the owner use cases answer,
// marshalled as the edge will, validates against the operations that
// serve it: Grid's example created, read, listed, changed and carried by
// its business, and every error they give.
func TestOwnerAnswersKeepTheContract(t *testing.T) {
	ctx := context.Background()
	store := memstore.NewCustomers()
	c := &kyc.Customers{Store: store, Sealer: memstore.NewSealer(), CursorKey: memstore.RandomKey(), Now: time.Now}
	owners := &kyc.BeneficialOwners{Customers: c, Store: store}
	customer := func(body string) kyc.CustomerView {
		in, err := kyc.ParseCustomerInput([]byte(body))
		if err != nil {
			t.Fatal(err)
		}
		v, err := c.Create(ctx, "p1", in, "")
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	biz := customer(`{"customerType":"BUSINESS","businessInfo":{"legalName":"Acme","country":"US","taxId":"47-1234567","incorporatedOn":"2018-03-14"}}`)
	ind := customer(`{"customerType":"INDIVIDUAL","fullName":"Jane"}`)
	create := func(customerID string) (kyc.OwnerView, error) {
		in, err := kyc.ParseOwnerCreate([]byte(strings.Replace(gridOwnerCreate, `"Customer:019542f5-b3e7-1d02-0000-000000000001"`, `"`+customerID+`"`, 1)))
		if err != nil {
			t.Fatal(err)
		}
		return owners.Create(ctx, "p1", in, "")
	}
	check := func(method, path string, status int, body []byte) {
		t.Helper()
		if err := CheckOperation(method, path, status, jsonHeader, body); err != nil {
			t.Error(err)
		}
		if strings.Contains(string(body), "123-45-6789") {
			t.Errorf("%s %s %d carries the identifier: %s", method, path, status, body)
		}
	}

	check("GET", CustomerPath, 200, marshal(t, biz)) // beneficialOwners: []
	o, err := create(biz.ID)
	if err != nil {
		t.Fatal(err)
	}
	check("POST", BeneficialOwnersPath, 201, marshal(t, o))
	got, err := owners.Get(ctx, "p1", o.ID)
	if err != nil {
		t.Fatal(err)
	}
	check("GET", BeneficialOwnerPath, 200, marshal(t, got))
	upd, err := kyc.ParseOwnerUpdate([]byte(`{"roles":["CONTROL_PERSON"],"personalInfo":{"idType":"NON_US_TAX_ID","identifier":"X1234567","nationality":"DE"}}`))
	if err != nil {
		t.Fatal(err)
	}
	changed, err := owners.Update(ctx, "p1", o.ID, upd)
	if err != nil {
		t.Fatal(err)
	}
	check("PATCH", BeneficialOwnerPath, 200, marshal(t, changed))
	for range 3 {
		if _, err := create(biz.ID); err != nil {
			t.Fatal(err)
		}
	}
	page, err := owners.List(ctx, "p1", kyc.OwnerListQuery{CustomerID: biz.ID, Limit: 2})
	if err != nil || !page.HasMore || page.TotalCount != 4 {
		t.Fatal(page, err)
	}
	check("GET", BeneficialOwnersPath, 200, marshal(t, page))
	for _, id := range []string{ind.ID, "Customer:019542f5-b3e7-1d02-0000-0000000000ff"} {
		empty, err := owners.List(ctx, "p1", kyc.OwnerListQuery{CustomerID: id})
		if err != nil {
			t.Fatal(err)
		}
		check("GET", BeneficialOwnersPath, 200, marshal(t, empty)) // "data": [], "totalCount": 0
	}
	withOwners, err := c.Get(ctx, "p1", biz.ID)
	if err != nil || len(*withOwners.BeneficialOwners) != 4 {
		t.Fatal(withOwners, err)
	}
	check("GET", CustomerPath, 200, marshal(t, withOwners))
	list, err := c.List(ctx, "p1", kyc.ListQuery{})
	if err != nil {
		t.Fatal(err)
	}
	check("GET", CustomersPath, 200, marshal(t, list))
	check("GET", CustomerPath, 200, marshal(t, ind)) // no beneficialOwners

	// Errors, as the edge will render them.
	_, errIndividual := create(ind.ID)
	check("POST", BeneficialOwnersPath, 400, errorBody(t, 400, errIndividual))
	_, errUnknown := create("Customer:019542f5-b3e7-1d02-0000-0000000000ff")
	check("POST", BeneficialOwnersPath, 404, errorBody(t, 404, errUnknown))
	_, errRead := kyc.ParseOwnerCreate([]byte(`{"customerId":"x","roles":["OWNER"],"ownershipPercentage":101,"id":"x"}`))
	check("POST", BeneficialOwnersPath, 400, errorBody(t, 400, errRead))
	bad, err := kyc.ParseOwnerCreate([]byte(`{"customerId":"x","roles":["OWNER","OWNER"],"ownershipPercentage":101,"personalInfo":{"idType":"EIN"}}`))
	if err != nil {
		t.Fatal(err)
	}
	_, errInput := owners.Create(ctx, "p1", bad, "")
	if e := kyc.AsError(errInput); e.Code != kyc.CodeInvalid || len(e.Details) < 2 {
		t.Fatalf("%#v", e)
	}
	check("POST", BeneficialOwnersPath, 400, errorBody(t, 400, errInput))
	for range kyc.MaxOwnersPerBusiness - 4 {
		if _, err := create(biz.ID); err != nil {
			t.Fatal(err)
		}
	}
	full, err := c.Get(ctx, "p1", biz.ID)
	if err != nil {
		t.Fatal(err)
	}
	check("GET", CustomerPath, 200, marshal(t, full)) // 20 owners
	_, errFull := create(biz.ID)
	check("POST", BeneficialOwnersPath, 400, errorBody(t, 400, errFull))
	_, errFixed := kyc.ParseOwnerUpdate([]byte(`{"customerId":"` + ind.ID + `"}`))
	check("PATCH", BeneficialOwnerPath, 400, errorBody(t, 400, errFixed))
	_, errMissing := owners.Get(ctx, "p2", o.ID)
	check("GET", BeneficialOwnerPath, 404, errorBody(t, 404, errMissing))
	check("PATCH", BeneficialOwnerPath, 404, errorBody(t, 404, errMissing))
	_, errList := owners.List(ctx, "p1", kyc.OwnerListQuery{CustomerID: biz.ID, Cursor: "forged.cursor"})
	check("GET", BeneficialOwnersPath, 400, errorBody(t, 400, errList))
	_, errQuery := kyc.ParseOwnerListQuery(map[string][]string{"limit": {"5"}})
	check("GET", BeneficialOwnersPath, 400, errorBody(t, 400, errQuery))
	if _, err := c.Delete(ctx, "p1", biz.ID); err != nil {
		t.Fatal(err)
	}
	_, errGone := owners.Update(ctx, "p1", o.ID, upd)
	check("PATCH", BeneficialOwnerPath, 410, errorBody(t, 410, errGone))
	_, errGoneCreate := create(biz.ID)
	check("POST", BeneficialOwnersPath, 404, errorBody(t, 404, errGoneCreate))

	// The owners' errors of a verification of the business.
	business, err := store.CustomerRecord(ctx, biz.ID)
	if err != nil {
		t.Fatal(err)
	}
	business.Owners[0].Address.City = ""
	for i := range business.Owners {
		business.Owners[i].Roles = []string{kyc.RoleDirector}
		business.Owners[i].OwnershipPercentage = 10
	}
	errs := kyc.Requirements(business, nil, time.Now())
	var types, fields []string
	for _, e := range errs {
		types, fields = append(types, e.Type), append(fields, e.Field)
	}
	for _, w := range []string{"MISSING_CONTROL_PERSON", "MISSING_BENEFICIAL_OWNER", "INVALID_FIELD"} {
		if !slices.Contains(types, w) {
			t.Errorf("the business's requirements have no %s: %v", w, types)
		}
	}
	for _, w := range []string{"beneficialOwners.ownershipPercentage", "personalInfo.address.city"} {
		if !slices.Contains(fields, w) {
			t.Errorf("the business's requirements name no %s: %v", w, fields)
		}
	}
	v := kyc.Verification{ID: "Verification:019542f5-b3e7-1d02-0000-000000000009", CustomerID: biz.ID,
		Status: kyc.VerificationResolveErrors, Errors: errs, CreatedAt: time.Now(), UpdatedAt: time.Now()}
	check("POST", VerificationsPath, 200, marshal(t, v.View()))
}
