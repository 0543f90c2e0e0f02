package httpapi_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"
)

const acme = `{"customerType":"BUSINESS","platformCustomerId":"biz-1","businessInfo":{"legalName":"Acme Corporation",
  "country":"US","taxId":"47-1234567","incorporatedOn":"2018-03-14","registrationNumber":"5523041"}}`

func ownerJSON(customerID string, share int) string {
	return fmt.Sprintf(`{"customerId":%q,"roles":["UBO"],"ownershipPercentage":%d,"personalInfo":{"firstName":"Jane",
  "lastName":"Roe","birthDate":"1978-06-15","nationality":"US","address":{"line1":"1 Main St","postalCode":"98101","country":"US"},
  "idType":"SSN","identifier":"123-45-6789"}}`, customerID, share)
}

type owner struct {
	ID, CustomerID, KycStatus string
	OwnershipPercentage       int
	PersonalInfo              map[string]any
}

// TestOwnerRoutes: Grid's beneficial owner routes through the pipeline,
// each answer checked against the contract; the identifier never comes
// back; the business answers its owners.
func TestOwnerRoutes(t *testing.T) {
	e := newPlatformEnv(t)
	biz := decode[customer](t, e.call("POST", "/customers", acme))
	w := e.call("POST", "/beneficial-owners", ownerJSON(biz.ID, 60), "Idempotency-Key", "owner-1")
	if w.Code != 201 {
		t.Fatalf("create = %d %s", w.Code, w.Body)
	}
	o := decode[owner](t, w)
	if again := e.call("POST", "/beneficial-owners", ownerJSON(biz.ID, 60), "Idempotency-Key", "owner-1"); again.Code != 201 || decode[owner](t, again).ID != o.ID {
		t.Errorf("a keyed retry = %d %s", again.Code, again.Body)
	}
	if w := e.call("GET", "/beneficial-owners/"+o.ID, ""); w.Code != 200 || decode[owner](t, w).OwnershipPercentage != 60 {
		t.Errorf("get = %d %s", w.Code, w.Body)
	}
	if w := e.call("PATCH", "/beneficial-owners/"+o.ID, `{"ownershipPercentage":55}`); w.Code != 200 || decode[owner](t, w).OwnershipPercentage != 55 {
		t.Errorf("patch = %d %s", w.Code, w.Body)
	}
	l := decode[struct {
		Data       []owner
		TotalCount int
	}](t, e.call("GET", "/beneficial-owners?customerId="+biz.ID, ""))
	if len(l.Data) != 1 || l.TotalCount != 1 {
		t.Errorf("list = %+v", l)
	}
	got := decode[struct{ BeneficialOwners []owner }](t, e.call("GET", "/customers/"+biz.ID, ""))
	if len(got.BeneficialOwners) != 1 || got.BeneficialOwners[0].ID != o.ID {
		t.Errorf("the business answers %+v", got)
	}
	if strings.Contains(e.logs.String(), "123-45-6789") || strings.Contains(e.logs.String(), "Roe") {
		t.Errorf("the log carries the owner's personal data")
	}
	for _, tc := range []struct{ method, path, body, code string }{
		{"POST", "/beneficial-owners", `{"customerId":"` + biz.ID + `","roles":["UBO"],"ownershipPercentage":60.5}`, "INVALID_INPUT"},
		{"POST", "/beneficial-owners", `{"customerId":"` + biz.ID + `"`, "INVALID_INPUT"},
		{"GET", "/beneficial-owners", "", "INVALID_INPUT"},
		{"GET", "/beneficial-owners?customerId=" + biz.ID + "&limit=101", "", "INVALID_INPUT"},
		{"PATCH", "/beneficial-owners/" + o.ID, `{"customerId":"` + biz.ID + `"}`, "INVALID_INPUT"},
		{"GET", "/beneficial-owners/not-an-owner", "", "REFERENCE_NOT_FOUND"},
		{"PATCH", "/beneficial-owners/" + strings.Repeat("x", 3000), `{}`, "REFERENCE_NOT_FOUND"},
	} {
		w := e.call(tc.method, tc.path, tc.body)
		if !strings.Contains(w.Body.String(), `"code":"`+tc.code+`"`) {
			t.Errorf("%s %s = %d %s; want %s", tc.method, tc.path, w.Code, w.Body, tc.code)
		}
	}
}

// TestOwnerTenantIsolation: another platform's owner is a 404
// byte-identical to an unknown one on every owner route, and no owner
// can be attached to another platform's business.
func TestOwnerTenantIsolation(t *testing.T) {
	e := newPlatformEnv(t)
	biz := decode[customer](t, e.call("POST", "/customers", acme))
	o := decode[owner](t, e.call("POST", "/beneficial-owners", ownerJSON(biz.ID, 60)))
	asB := []string{"Authorization", basic("tok-b", "secret-b")}
	unknownOwner := "BeneficialOwner:019542f5-b3e7-7d02-8000-000000000009"
	unknownBiz := "Customer:019542f5-b3e7-7d02-8000-000000000009"
	for _, tc := range []struct{ method, other, unknown, body string }{
		{"GET", "/beneficial-owners/" + o.ID, "/beneficial-owners/" + unknownOwner, ""},
		{"PATCH", "/beneficial-owners/" + o.ID, "/beneficial-owners/" + unknownOwner, `{"ownershipPercentage":10}`},
		{"POST", "/beneficial-owners", "/beneficial-owners", ""},
		{"GET", "/beneficial-owners?customerId=" + biz.ID, "/beneficial-owners?customerId=" + unknownBiz, ""},
	} {
		otherBody, unknownBody := tc.body, tc.body
		if tc.method == "POST" {
			otherBody, unknownBody = ownerJSON(biz.ID, 10), ownerJSON(unknownBiz, 10)
		}
		other := e.call(tc.method, tc.other, otherBody, asB...)
		none := e.call(tc.method, tc.unknown, unknownBody, asB...)
		if strip(other) != strip(none) || other.Code != none.Code || (tc.method != "GET" || !strings.Contains(tc.other, "?")) && other.Code != 404 {
			t.Errorf("%s %s: other platform's %d %s, unknown %d %s", tc.method, tc.other, other.Code, other.Body, none.Code, none.Body)
		}
	}
	if got := decode[owner](t, e.call("GET", "/beneficial-owners/"+o.ID, "")); got.OwnershipPercentage != 60 {
		t.Errorf("platform-b changed platform-a's owner: %+v", got)
	}
	if l := decode[struct{ TotalCount int }](t, e.call("GET", "/beneficial-owners?customerId="+biz.ID, "")); l.TotalCount != 1 {
		t.Errorf("platform-b added an owner to platform-a's business: %d owners", l.TotalCount)
	}
}

// TestConcurrentOwnerPatches: PATCHes of different fields of one owner,
// all at once, through the routes: every 200 holds in the end.
func TestConcurrentOwnerPatches(t *testing.T) {
	e := newPlatformEnv(t)
	biz := decode[customer](t, e.call("POST", "/customers", acme))
	o := decode[owner](t, e.call("POST", "/beneficial-owners", ownerJSON(biz.ID, 60)))
	fields := map[string]string{"firstName": "Ann", "middleName": "B", "lastName": "Coe", "email": "ann@acme.com", "phoneNumber": "+14155550100"}
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok := map[string]bool{}
	for f, v := range fields {
		wg.Go(func() {
			w := e.call("PATCH", "/beneficial-owners/"+o.ID, fmt.Sprintf(`{"personalInfo":{%q:%q}}`, f, v))
			mu.Lock()
			defer mu.Unlock()
			switch {
			case w.Code == 200:
				ok[f] = true
			case w.Code != 409:
				t.Errorf("%s: %d %s", f, w.Code, w.Body)
			}
		})
	}
	wg.Wait()
	got := decode[owner](t, e.call("GET", "/beneficial-owners/"+o.ID, ""))
	for f := range ok {
		if got.PersonalInfo[f] != fields[f] {
			t.Errorf("%s answered 200 but is %v", f, got.PersonalInfo[f])
		}
	}
	if len(ok) == 0 {
		t.Error("no PATCH landed")
	}
}
