package kyc_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/grid-kyc/kyc-link/pkg/kyc"
)

// ownerBody is a complete owner of business with role and share; its
// last name decides its sandbox review.
func ownerBody(business, role string, share int, lastName string) string {
	return fmt.Sprintf(`{"customerId":%q,"roles":[%q],"ownershipPercentage":%d,"personalInfo":{"firstName":"Jane",
  "lastName":%q,"birthDate":"1978-06-15","nationality":"US","email":"jane@acme.com","phoneNumber":"+14155550192",
  "address":{"line1":"1 Main St","city":"Seattle","postalCode":"98101","country":"US"},"idType":"SSN","identifier":"123-45-6789"}}`,
		business, role, share, lastName)
}

// addOwner adds an owner with a passport to business.
func (e *verifyEnv) addOwner(t *testing.T, platform, business, role string, share int, lastName string) kyc.OwnerView {
	t.Helper()
	in, err := kyc.ParseOwnerCreate([]byte(ownerBody(business, role, share, lastName)))
	if err != nil {
		t.Fatal(err)
	}
	o, err := e.owners.Create(context.Background(), platform, in, "")
	if err != nil {
		t.Fatal(err)
	}
	e.upload(t, platform, o.ID, "PASSPORT", "", pngFile)
	return o
}

// submit submits platform p1's customer id.
func submit(t *testing.T, e *verifyEnv, id string) kyc.VerificationView {
	t.Helper()
	v, err := e.verifications.Submit(context.Background(), "p1", id, "")
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func parseOwner(t *testing.T, body string) kyc.OwnerInput {
	t.Helper()
	in, err := kyc.ParseOwnerCreate([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	return in
}

func patchOwner(e *verifyEnv, platform, id, body string) (kyc.OwnerView, error) {
	in, err := kyc.ParseOwnerUpdate([]byte(body))
	if err != nil {
		return kyc.OwnerView{}, err
	}
	return e.owners.Update(context.Background(), platform, id, in)
}

func TestOwnerCreateAnswersGridsBeneficialOwner(t *testing.T) {
	e := newVerifyEnv(t)
	ctx := context.Background()
	biz := create(t, e.customers, "p1", business)
	o, err := e.owners.Create(ctx, "p1", parseOwner(t, ownerBody(biz.ID, "UBO", 60, "Roe")), "")
	if err != nil {
		t.Fatal(err)
	}
	want := kyc.OwnerView{ID: o.ID, CustomerID: biz.ID, Roles: []string{"UBO"}, OwnershipPercentage: 60,
		PersonalInfo: kyc.PersonalInfoView{FirstName: "Jane", LastName: "Roe", BirthDate: "1978-06-15", Nationality: "US",
			Email: "jane@acme.com", PhoneNumber: "+14155550192",
			Address: kyc.Address{Line1: "1 Main St", City: "Seattle", PostalCode: "98101", Country: "US"}, IDType: "SSN"},
		KYCStatus: "UNVERIFIED", CreatedAt: kyc.FormatTime(now), UpdatedAt: kyc.FormatTime(now)}
	if diff := cmp.Diff(want, o); diff != "" {
		t.Errorf("owner (-want +got):\n%s", diff)
	}
	if !strings.HasPrefix(o.ID, "BeneficialOwner:019ac0de-") {
		t.Errorf("id %s is not BeneficialOwner:<UUIDv7>", o.ID)
	}
	// The business carries it; its identifier is sealed, never answered.
	got, err := e.customers.Get(ctx, "p1", biz.ID)
	if err != nil || got.BeneficialOwners == nil || len(*got.BeneficialOwners) != 1 || (*got.BeneficialOwners)[0].ID != o.ID {
		t.Fatalf("business = %+v, %v", got, err)
	}
	rec, _ := e.store.CustomerRecord(ctx, biz.ID)
	if s := string(rec.Owners[0].IdentifierSealed); s == "" || strings.Contains(s, "123-45-6789") || strings.Contains(s, "123456789") {
		t.Errorf("identifier kept as %q", s)
	}
	for _, v := range []any{o, got} {
		b, _ := json.Marshal(v)
		if strings.Contains(string(b), "123-45-6789") || strings.Contains(string(b), "identifier") {
			t.Errorf("answer carries the identifier: %s", b)
		}
	}
	// An individual has no owners, and no beneficialOwners in its answer.
	ind := create(t, e.customers, "p1", individual)
	_, err = e.owners.Create(ctx, "p1", parseOwner(t, ownerBody(ind.ID, "UBO", 60, "Roe")), "")
	isErr(t, err, kyc.CodeInvalid, "customerId")
	if b := mustJSON(t, ind); strings.Contains(string(b), "beneficialOwners") {
		t.Errorf("an individual's answer carries beneficialOwners: %s", b)
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestOwnerRefusals(t *testing.T) {
	e := newVerifyEnv(t)
	biz := create(t, e.customers, "p1", business)
	good := ownerBody(biz.ID, "UBO", 60, "Roe")
	for _, tc := range []struct {
		name, body, field string
	}{
		{"no customerId", strings.Replace(good, `"customerId":"`+biz.ID+`",`, "", 1), "customerId"},
		{"a document id as customerId", strings.Replace(good, biz.ID, "Document:x", 1), "customerId"},
		{"no roles", strings.Replace(good, `"roles":["UBO"],`, "", 1), "roles"},
		{"empty roles", strings.Replace(good, `["UBO"]`, `[]`, 1), "roles"},
		{"unknown role", strings.Replace(good, `["UBO"]`, `["OWNER"]`, 1), "roles[0]"},
		{"repeated role", strings.Replace(good, `["UBO"]`, `["UBO","UBO"]`, 1), "roles[1]"},
		{"share over 100", strings.Replace(good, `:60,`, `:101,`, 1), "ownershipPercentage"},
		{"negative share", strings.Replace(good, `:60,`, `:-1,`, 1), "ownershipPercentage"},
		{"fractional share", strings.Replace(good, `:60,`, `:60.5,`, 1), "ownershipPercentage"},
		{"share as text", strings.Replace(good, `:60,`, `:"60",`, 1), "ownershipPercentage"},
		{"no share", strings.Replace(good, `"ownershipPercentage":60,`, "", 1), "ownershipPercentage"},
		{"no birth date", strings.Replace(good, `"birthDate":"1978-06-15",`, "", 1), "personalInfo.birthDate"},
		{"future birth date", strings.Replace(good, `1978-06-15`, `2999-01-01`, 1), "personalInfo.birthDate"},
		{"bad nationality", strings.Replace(good, `"nationality":"US"`, `"nationality":"USA"`, 1), "personalInfo.nationality"},
		{"EIN", strings.Replace(good, `"idType":"SSN"`, `"idType":"EIN"`, 1), "personalInfo.idType"},
		{"bad SSN", strings.Replace(good, `123-45-6789`, `000-45-6789`, 1), "personalInfo.identifier"},
		{"bad phone", strings.Replace(good, `+14155550192`, `4155550192`, 1), "personalInfo.phoneNumber"},
		{"address without postal code", strings.Replace(good, `"postalCode":"98101",`, "", 1), "personalInfo.address.postalCode"},
		{"read-only kycStatus", strings.Replace(good, `"roles"`, `"kycStatus":"APPROVED","roles"`, 1), "kycStatus"},
		{"unknown field", strings.Replace(good, `"roles"`, `"shares":3,"roles"`, 1), "shares"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in, err := kyc.ParseOwnerCreate([]byte(tc.body))
			if err == nil {
				_, err = e.owners.Create(context.Background(), "p1", in, "")
			}
			isErr(t, err, kyc.CodeInvalid, tc.field)
		})
	}
	// A NON_US_TAX_ID is free text within bounds.
	nonUS := strings.Replace(strings.Replace(good, `"idType":"SSN"`, `"idType":"NON_US_TAX_ID"`, 1), `123-45-6789`, `DE 12/345.678-9`, 1)
	if _, err := e.owners.Create(context.Background(), "p1", parseOwner(t, nonUS), ""); err != nil {
		t.Errorf("NON_US_TAX_ID: %v", err)
	}
}

func TestOwnerTenantIsolation(t *testing.T) {
	e := newVerifyEnv(t)
	ctx := context.Background()
	biz := create(t, e.customers, "p1", business)
	o := e.addOwner(t, "p1", biz.ID, "UBO", 60, "Roe")
	unknown := "BeneficialOwner:019ac0de-0000-7000-8000-999999999999"
	// Another platform's owner is the same 404 as an unknown one, on
	// every route.
	_, errOther := e.owners.Get(ctx, "p2", o.ID)
	_, errUnknown := e.owners.Get(ctx, "p2", unknown)
	isErr(t, errOther, kyc.CodeReferenceNotFound, "")
	if errOther.Error() != errUnknown.Error() {
		t.Errorf("get: another platform's %v; unknown %v", errOther, errUnknown)
	}
	_, errOther = patchOwner(e, "p2", o.ID, `{"ownershipPercentage":10}`)
	_, errUnknown = patchOwner(e, "p2", unknown, `{"ownershipPercentage":10}`)
	isErr(t, errOther, kyc.CodeReferenceNotFound, "")
	if errOther.Error() != errUnknown.Error() {
		t.Errorf("patch: another platform's %v; unknown %v", errOther, errUnknown)
	}
	// An owner cannot be attached to another platform's business.
	_, errOther = e.owners.Create(ctx, "p2", parseOwner(t, ownerBody(biz.ID, "UBO", 10, "Doe")), "")
	_, errUnknown = e.owners.Create(ctx, "p2", parseOwner(t, ownerBody("Customer:019ac0de-0000-7000-8000-999999999999", "UBO", 10, "Doe")), "")
	isErr(t, errOther, kyc.CodeNotFound, "")
	if errOther.Error() != errUnknown.Error() {
		t.Errorf("create: another platform's business %v; unknown %v", errOther, errUnknown)
	}
	// Another platform lists none of them.
	l, err := e.owners.List(ctx, "p2", kyc.OwnerListQuery{CustomerID: biz.ID})
	if err != nil || len(l.Data) != 0 || l.TotalCount != 0 {
		t.Errorf("p2 lists %+v, %v", l, err)
	}
	// Nor uploads a document for it, or lists its documents.
	_, err = e.documents.Upload(ctx, "p2", kyc.DocumentInput{Holder: o.ID, Type: "PASSPORT", Country: "US"}, kyc.DocumentFile{Content: pngFile}, "")
	isErr(t, err, kyc.CodeNotFound, "")
	if d, err := e.documents.List(ctx, "p2", kyc.DocumentListQuery{Holder: o.ID}); err != nil || len(d.Data) != 0 {
		t.Errorf("p2 lists the owner's documents: %+v, %v", d, err)
	}
	if d, err := e.documents.List(ctx, "p1", kyc.DocumentListQuery{Holder: o.ID}); err != nil || len(d.Data) != 1 {
		t.Errorf("p1 lists the owner's documents: %+v, %v", d, err)
	}
	// p2's untouched view: the owner is as created.
	if got, _ := e.owners.Get(ctx, "p1", o.ID); got.OwnershipPercentage != 60 {
		t.Errorf("owner changed by another platform: %+v", got)
	}
}

func TestOwnerPatchMergesAsGridDoes(t *testing.T) {
	e := newVerifyEnv(t)
	biz := create(t, e.customers, "p1", business)
	o := e.addOwner(t, "p1", biz.ID, "UBO", 60, "Roe")
	e.advance(time.Minute)
	got, err := patchOwner(e, "p1", o.ID, `{"roles":["CONTROL_PERSON","DIRECTOR"],"personalInfo":{"middleName":"Q",
		"address":{"line1":"2 Side St","postalCode":"10001","country":"US"}}}`)
	if err != nil {
		t.Fatal(err)
	}
	want := o
	want.Roles = []string{"CONTROL_PERSON", "DIRECTOR"}
	want.PersonalInfo.MiddleName = "Q"
	want.PersonalInfo.Address = kyc.Address{Line1: "2 Side St", PostalCode: "10001", Country: "US"} // replaced whole
	want.UpdatedAt = kyc.FormatTime(now.Add(time.Minute))
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("patched (-want +got):\n%s", diff)
	}
	// Nothing changed: nothing written.
	e.advance(time.Minute)
	if again, err := patchOwner(e, "p1", o.ID, `{"ownershipPercentage":60}`); err != nil || again.UpdatedAt != want.UpdatedAt {
		t.Errorf("no-op patch = %+v, %v", again, err)
	}
	for _, tc := range []struct{ body, field string }{
		{`{"customerId":"` + biz.ID + `"}`, "customerId"},
		{`{"roles":[]}`, "roles"},
		{`{"personalInfo":{"identifier":"123-45-6789"}}`, "personalInfo.identifier"},
		{`{"personalInfo":{"idType":"ITIN"}}`, "personalInfo.idType"},
		{`{"kycStatus":"APPROVED"}`, "kycStatus"},
	} {
		_, err := patchOwner(e, "p1", o.ID, tc.body)
		isErr(t, err, kyc.CodeInvalid, tc.field)
	}
	// A new identifier with its type is sealed anew.
	before, _ := e.store.CustomerRecord(context.Background(), biz.ID)
	if _, err := patchOwner(e, "p1", o.ID, `{"personalInfo":{"idType":"ITIN","identifier":"912-70-1234"}}`); err != nil {
		t.Fatal(err)
	}
	after, _ := e.store.CustomerRecord(context.Background(), biz.ID)
	if string(before.Owners[0].IdentifierSealed) == string(after.Owners[0].IdentifierSealed) || after.Owners[0].IDType != "ITIN" {
		t.Errorf("identifier not replaced")
	}
	// A deleted business's owners are read, not changed.
	if _, err := e.customers.Delete(context.Background(), "p1", biz.ID); err != nil {
		t.Fatal(err)
	}
	_, err = patchOwner(e, "p1", o.ID, `{"ownershipPercentage":50}`)
	isErr(t, err, kyc.CodeCustomerDeleted, "")
	if _, err := e.owners.Get(context.Background(), "p1", o.ID); err != nil {
		t.Errorf("a deleted business's owner: %v", err)
	}
}

func TestConcurrentOwnerChangesLoseNothing(t *testing.T) {
	e := newVerifyEnv(t)
	ctx := context.Background()
	biz := create(t, e.customers, "p1", business)
	a := e.addOwner(t, "p1", biz.ID, "UBO", 30, "Roe")
	b := e.addOwner(t, "p1", biz.ID, "UBO", 30, "Doe")
	// Each writer changes its own field of one of two owners of one
	// business, while owners are added: every change answered survives
	// (one that lost its race too often is refused with
	// CONCURRENT_MODIFICATION, for the client to retry: not lost).
	type change struct {
		id, body string
		holds    func(a, b kyc.OwnerView) bool
	}
	changes := []change{
		{a.ID, `{"ownershipPercentage":31}`, func(a, _ kyc.OwnerView) bool { return a.OwnershipPercentage == 31 }},
		{a.ID, `{"personalInfo":{"middleName":"A"}}`, func(a, _ kyc.OwnerView) bool { return a.PersonalInfo.MiddleName == "A" }},
		{b.ID, `{"ownershipPercentage":32}`, func(_, b kyc.OwnerView) bool { return b.OwnershipPercentage == 32 }},
		{b.ID, `{"personalInfo":{"email":"b@acme.com"}}`, func(_, b kyc.OwnerView) bool { return b.PersonalInfo.Email == "b@acme.com" }},
		{a.ID, `{"roles":["UBO","DIRECTOR"]}`, func(a, _ kyc.OwnerView) bool { return slices.Equal(a.Roles, []string{"UBO", "DIRECTOR"}) }},
		{b.ID, `{"personalInfo":{"firstName":"Bo"}}`, func(_, b kyc.OwnerView) bool { return b.PersonalInfo.FirstName == "Bo" }},
	}
	var wg sync.WaitGroup
	patched := make([]error, len(changes))
	created := make([]error, 4)
	for i, c := range changes {
		wg.Go(func() { _, patched[i] = patchOwner(e, "p1", c.id, c.body) })
	}
	for i := range created {
		wg.Go(func() {
			_, created[i] = e.owners.Create(ctx, "p1", parseOwner(t, ownerBody(biz.ID, "DIRECTOR", 0, fmt.Sprint("Dir", i))), "")
		})
	}
	wg.Wait()
	ga, _ := e.owners.Get(ctx, "p1", a.ID)
	gb, _ := e.owners.Get(ctx, "p1", b.ID)
	answered := 0
	for i, err := range patched {
		switch {
		case err == nil:
			answered++
			if !changes[i].holds(ga, gb) {
				t.Errorf("%s answered but lost: %+v %+v", changes[i].body, ga, gb)
			}
		case kyc.AsError(err).Code != kyc.CodeConflict:
			t.Errorf("%s: %v", changes[i].body, err)
		}
	}
	added := 0
	for _, err := range created {
		if err == nil {
			added++
		} else if kyc.AsError(err).Code != kyc.CodeConflict {
			t.Error(err)
		}
	}
	if l, _ := e.owners.List(ctx, "p1", kyc.OwnerListQuery{CustomerID: biz.ID}); l.TotalCount != 2+added || answered+added == 0 {
		t.Errorf("%d owners; %d creates answered", l.TotalCount, added)
	}
}

func TestOwnerLimitAndList(t *testing.T) {
	e := newVerifyEnv(t)
	ctx := context.Background()
	biz := create(t, e.customers, "p1", business)
	var ids []string
	for i := range kyc.MaxOwnersPerBusiness {
		o, err := e.owners.Create(ctx, "p1", parseOwner(t, ownerBody(biz.ID, "DIRECTOR", 0, fmt.Sprint("Dir", i))), "")
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, o.ID)
		e.advance(time.Millisecond)
	}
	_, err := e.owners.Create(ctx, "p1", parseOwner(t, ownerBody(biz.ID, "DIRECTOR", 0, "OneTooMany")), "")
	isErr(t, err, kyc.CodeInvalid, "customerId")
	// Pages of 7 walk every owner once, in creation order.
	var seen []string
	q := kyc.OwnerListQuery{CustomerID: biz.ID, Limit: 7}
	for range 5 {
		l, err := e.owners.List(ctx, "p1", q)
		if err != nil {
			t.Fatal(err)
		}
		if l.TotalCount != kyc.MaxOwnersPerBusiness {
			t.Errorf("totalCount %d", l.TotalCount)
		}
		for _, o := range l.Data {
			seen = append(seen, o.ID)
		}
		if !l.HasMore {
			break
		}
		q.Cursor = l.NextCursor
	}
	if diff := cmp.Diff(ids, seen); diff != "" {
		t.Errorf("pages (-want +got):\n%s", diff)
	}
	// A cursor is bound to its business and platform.
	l, _ := e.owners.List(ctx, "p1", kyc.OwnerListQuery{CustomerID: biz.ID, Limit: 7})
	_, err = e.owners.List(ctx, "p2", kyc.OwnerListQuery{CustomerID: biz.ID, Cursor: l.NextCursor})
	isErr(t, err, kyc.CodeInvalid, "cursor")
	for _, params := range []map[string][]string{{}, {"customerId": {"x y"}}, {"customerId": {biz.ID}, "limit": {"0"}}, {"customerId": {biz.ID}, "other": {"1"}}} {
		if _, err := kyc.ParseOwnerListQuery(params); err == nil {
			t.Errorf("%v accepted", params)
		}
	}
}

func TestOwnerCreateIsIdempotentByIntent(t *testing.T) {
	e := newVerifyEnv(t)
	ctx := context.Background()
	biz := create(t, e.customers, "p1", business)
	intent := "019ac0de-2222-7000-8000-000000000001"
	first, err := e.owners.Create(ctx, "p1", parseOwner(t, ownerBody(biz.ID, "UBO", 60, "Roe")), intent)
	if err != nil {
		t.Fatal(err)
	}
	again, err := e.owners.Create(ctx, "p1", parseOwner(t, ownerBody(biz.ID, "UBO", 60, "Roe")), intent)
	if err != nil || !cmp.Equal(again, first) {
		t.Fatalf("retry = %+v, %v; want %+v", again, err, first)
	}
	if l, _ := e.owners.List(ctx, "p1", kyc.OwnerListQuery{CustomerID: biz.ID}); l.TotalCount != 1 {
		t.Errorf("%d owners after a retry", l.TotalCount)
	}
}

// readyBusiness is a business of p1 with every document its own checks
// want (the owners aside).
func (e *verifyEnv) readyBusiness(t *testing.T, pcid string) kyc.CustomerView {
	t.Helper()
	biz := create(t, e.customers, "p1", strings.Replace(business, `"biz-acme-001"`, fmt.Sprintf("%q", pcid), 1))
	if _, err := patch(t, e.customers, "p1", biz.ID, `{"customerType":"BUSINESS","address":{"line1":"123 Market Street","city":"Seattle","postalCode":"98101","country":"US"}}`); err != nil {
		t.Fatal(err)
	}
	for _, typ := range []string{"CERTIFICATE_OF_INCORPORATION", "SHAREHOLDER_REGISTER", "DIRECTOR_REGISTRY", "UTILITY_BILL"} {
		e.upload(t, "p1", biz.ID, typ, "", pdfFile)
	}
	return biz
}

// TestKYBRules is Grid's structure rules and each owner's checks, as
// POST /verifications answers them.
func TestKYBRules(t *testing.T) {
	type owner struct {
		role     string
		share    int
		patch    string // applied after creation
		noPass   bool   // no passport uploaded
		extraDoc string // another identity document
	}
	for _, tc := range []struct {
		name   string
		owners []owner
		want   []string // error kinds; the owner's index in brackets
	}{
		{"no owners", nil, []string{"MISSING_CONTROL_PERSON:", "MISSING_BENEFICIAL_OWNER:"}},
		{"a UBO, no control person", []owner{{role: "UBO", share: 60}}, []string{"MISSING_CONTROL_PERSON:"}},
		{"a control person, no UBO", []owner{{role: "CONTROL_PERSON"}}, []string{"MISSING_BENEFICIAL_OWNER:"}},
		{"complete", []owner{{role: "CONTROL_PERSON"}, {role: "UBO", share: 60}}, nil},
		{"one person with both roles", []owner{{role: "UBO", share: 30, patch: `{"roles":["UBO","CONTROL_PERSON"]}`}}, nil},
		{"owned past 100%", []owner{{role: "CONTROL_PERSON", share: 50}, {role: "UBO", share: 60}},
			[]string{"INVALID_FIELD:beneficialOwners.ownershipPercentage"}},
		{"exactly 100%", []owner{{role: "CONTROL_PERSON", share: 40}, {role: "UBO", share: 60}}, nil},
		{"an owner without a passport", []owner{{role: "CONTROL_PERSON"}, {role: "UBO", share: 60, noPass: true}},
			[]string{"[1]MISSING_IDENTITY_DOCUMENT:"}},
		{"an owner without a city", []owner{{role: "CONTROL_PERSON", patch: `{"personalInfo":{"address":{"line1":"1 Main St","postalCode":"98101","country":"US"}}}`}, {role: "UBO", share: 60}},
			[]string{"[0]MISSING_FIELD:personalInfo.address.city"}},
		{"a non-U.S. owner with a passport alone", []owner{{role: "CONTROL_PERSON"}, {role: "UBO", share: 60, patch: `{"personalInfo":{"nationality":"DE"}}`}},
			[]string{"[1]MISSING_IDENTITY_DOCUMENT:"}},
		{"a non-U.S. owner with a passport and a national id", []owner{{role: "CONTROL_PERSON"}, {role: "UBO", share: 60, patch: `{"personalInfo":{"nationality":"DE"}}`, extraDoc: "NATIONAL_ID"}}, nil},
		{"a director alone is neither", []owner{{role: "DIRECTOR"}}, []string{"MISSING_CONTROL_PERSON:", "MISSING_BENEFICIAL_OWNER:"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newVerifyEnv(t)
			biz := e.readyBusiness(t, "biz-"+strings.ReplaceAll(tc.name, " ", "-"))
			var ids []string
			for i, o := range tc.owners {
				in := parseOwner(t, ownerBody(biz.ID, o.role, o.share, fmt.Sprint("Owner", i)))
				ov, err := e.owners.Create(context.Background(), "p1", in, "")
				if err != nil {
					t.Fatal(err)
				}
				ids = append(ids, ov.ID)
				if !o.noPass {
					e.upload(t, "p1", ov.ID, "PASSPORT", "", pngFile)
				}
				if o.extraDoc != "" {
					e.upload(t, "p1", ov.ID, o.extraDoc, "FRONT", pngFile)
					e.upload(t, "p1", ov.ID, o.extraDoc, "BACK", pngFile)
				}
				if o.patch != "" {
					if _, err := patchOwner(e, "p1", ov.ID, o.patch); err != nil {
						t.Fatal(err)
					}
				}
			}
			v := submit(t, e, biz.ID)
			var got []string
			for _, er := range v.Errors {
				prefix := ""
				if i := slices.Index(ids, er.ResourceID); i >= 0 {
					prefix = fmt.Sprintf("[%d]", i)
				} else if er.ResourceID != biz.ID {
					t.Errorf("error %+v names %s", er, er.ResourceID)
				}
				got = append(got, prefix+er.Type+":"+er.Field)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
			if want := kyc.VerificationInProgress; tc.want == nil && v.VerificationStatus != want {
				t.Errorf("status %s; want %s", v.VerificationStatus, want)
			}
		})
	}
}

// TestKYBSubmissionAndDecisions: a complete business goes to review with
// its owners, each PENDING; the provider gets each owner with its
// identifier and documents; each owner's decision moves its kycStatus
// alone, the business's its kybStatus and verification.
func TestKYBSubmissionAndDecisions(t *testing.T) {
	e := newVerifyEnv(t)
	ctx := context.Background()
	biz := e.readyBusiness(t, "biz-kyb")
	ctrl := e.addOwner(t, "p1", biz.ID, "CONTROL_PERSON", 0, "Doe")
	ubo := e.addOwner(t, "p1", biz.ID, "UBO", 60, "Roe")
	e.types()
	v := submit(t, e, biz.ID)
	if v.VerificationStatus != kyc.VerificationInProgress {
		t.Fatalf("verification %+v", v)
	}
	for _, id := range []string{ctrl.ID, ubo.ID} {
		if o, _ := e.owners.Get(ctx, "p1", id); o.KYCStatus != kyc.StatusPending {
			t.Errorf("owner %s is %s after the submission; want PENDING", id, o.KYCStatus)
		}
	}
	// Every document is locked, the owners' too.
	owned, _ := e.documents.List(ctx, "p1", kyc.DocumentListQuery{Holder: ubo.ID})
	isErr(t, e.documents.Delete(ctx, "p1", owned.Data[0].ID), kyc.CodeConflict, kyc.ReasonDocumentSubmitted)

	p := &capture{}
	if out, err := e.submissions(p, e.customers.Sealer.(kyc.Opener)).Submit(ctx, v.ID); err != nil || out != kyc.Submitted {
		t.Fatalf("job = %s, %v", out, err)
	}
	sub := p.got[0]
	if len(sub.Documents) != 4 || len(sub.Owners) != 2 {
		t.Fatalf("the provider got %d documents and %d owners", len(sub.Documents), len(sub.Owners))
	}
	for i, want := range []kyc.OwnerView{ctrl, ubo} {
		o := sub.Owners[i]
		if o.Owner.ID != want.ID || o.Identifier.Reveal() != "123-45-6789" || len(o.Documents) != 1 || o.Documents[0].Holder != want.ID ||
			string(o.Documents[0].Content) != string(pngFile) {
			t.Errorf("owner %d as submitted: %s, %d documents", i, o.Owner.ID, len(o.Documents))
		}
	}

	// Decisions: each owner's, then the business's.
	at := now.Add(time.Minute)
	for _, r := range []kyc.Review{
		{CustomerID: ctrl.ID, Status: kyc.StatusApproved, At: at},
		{CustomerID: ubo.ID, Status: kyc.StatusRejected, RejectType: "FINAL", RejectLabels: []string{"FORGERY"}, At: at},
		{CustomerID: ubo.ID, Status: kyc.StatusApproved, At: at}, // not newer: stale
		{CustomerID: "BeneficialOwner:019ac0de-0000-7000-8000-999999999999", Status: kyc.StatusApproved, At: at},
		{CustomerID: biz.ID, Status: kyc.StatusApproved, At: at},
	} {
		if _, err := e.reviews.Apply(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	got, _ := e.customers.Get(ctx, "p1", biz.ID)
	if got.KYBStatus != kyc.StatusApproved {
		t.Errorf("kybStatus %s", got.KYBStatus)
	}
	statuses := map[string]kyc.Status{}
	for _, o := range *got.BeneficialOwners {
		statuses[o.ID] = o.KYCStatus
	}
	if diff := cmp.Diff(map[string]kyc.Status{ctrl.ID: kyc.StatusApproved, ubo.ID: kyc.StatusRejected}, statuses); diff != "" {
		t.Errorf("owners' statuses (-want +got):\n%s", diff)
	}
	if fv, _ := e.verifications.Get(ctx, "p1", v.ID); fv.VerificationStatus != kyc.VerificationApproved {
		t.Errorf("verification %s", fv.VerificationStatus)
	}
	if diff := cmp.Diff([]string{"VERIFICATION.IN_PROGRESS", "CUSTOMER.KYB_PENDING", "VERIFICATION.APPROVED", "CUSTOMER.KYB_APPROVED"}, e.types()); diff != "" {
		t.Errorf("webhooks (-want +got):\n%s", diff)
	}
	// A platform's change to an owner keeps its decision.
	if o, err := patchOwner(e, "p1", ctrl.ID, `{"personalInfo":{"middleName":"M"}}`); err != nil || o.KYCStatus != kyc.StatusApproved {
		t.Errorf("after a PATCH: %+v, %v", o, err)
	}
}

// TestKYBRefusalResetsOwners: a submission the provider refuses sends the
// owners back to UNVERIFIED with the business.
func TestKYBRefusalResetsOwners(t *testing.T) {
	e := newVerifyEnv(t)
	ctx := context.Background()
	biz := e.readyBusiness(t, "biz-refused")
	ctrl := e.addOwner(t, "p1", biz.ID, "CONTROL_PERSON", 0, "Doe")
	e.addOwner(t, "p1", biz.ID, "UBO", 60, "Roe")
	v := submit(t, e, biz.ID)
	p := &capture{refusal: &kyc.ProviderRefusal{Problems: []kyc.VerificationError{{ResourceID: ctrl.ID, Type: kyc.ErrPoorQualityDocument, Reason: "blurry"}}}}
	if out, err := e.submissions(p, e.customers.Sealer.(kyc.Opener)).Submit(ctx, v.ID); err != nil || out != kyc.SubmitRefused {
		t.Fatalf("job = %s, %v", out, err)
	}
	got, _ := e.customers.Get(ctx, "p1", biz.ID)
	for _, o := range *got.BeneficialOwners {
		if o.KYCStatus != kyc.StatusUnverified {
			t.Errorf("owner %s is %s after a refusal", o.ID, o.KYCStatus)
		}
	}
	if fv, _ := e.verifications.Get(ctx, "p1", v.ID); fv.VerificationStatus != kyc.VerificationResolveErrors || fv.Errors[0].ResourceID != ctrl.ID {
		t.Errorf("verification %+v", fv)
	}
}

// TestCustomerPagesStayWithinTheirBudget: businesses carrying many owners
// fill a page's byte budget before its limit: the page ends early with a
// cursor, and the pages walk every customer once.
func TestCustomerPagesStayWithinTheirBudget(t *testing.T) {
	e := newVerifyEnv(t)
	ctx := context.Background()
	long := strings.Repeat("\U0001D504", 250) // 4 bytes each
	var ids []string
	for i := range 60 {
		biz := create(t, e.customers, "p1", strings.Replace(business, `"biz-acme-001"`, fmt.Sprintf(`"biz-%d"`, i), 1))
		ids = append(ids, biz.ID)
		for range kyc.MaxOwnersPerBusiness {
			body := strings.Replace(ownerBody(biz.ID, "DIRECTOR", 0, long), `"firstName":"Jane"`, `"firstName":"`+long+`"`, 1)
			if _, err := e.owners.Create(ctx, "p1", parseOwner(t, body), ""); err != nil {
				t.Fatal(err)
			}
		}
		e.advance(time.Millisecond)
	}
	var seen []string
	q := kyc.ListQuery{Limit: 100}
	for pages := 0; ; pages++ {
		l, err := e.customers.List(ctx, "p1", q)
		if err != nil {
			t.Fatal(err)
		}
		if b := mustJSON(t, l); len(b) > kyc.MaxListBytes+64<<10 {
			t.Errorf("page %d is %d bytes; the budget is %d", pages, len(b), kyc.MaxListBytes)
		}
		for _, c := range l.Data {
			seen = append(seen, c.ID)
		}
		if !l.HasMore {
			if pages == 0 {
				t.Error("one page held every business: the budget never applied")
			}
			break
		}
		q.Cursor = l.NextCursor
	}
	if diff := cmp.Diff(ids, seen); diff != "" {
		t.Errorf("pages (-want +got):\n%s", diff)
	}
}

// TestApprovedBusinessGainsAnOwner: an approved business takes a new
// owner (ownership changes) and is then verified again with it; without
// one, it is APPROVED already. Owners approved before keep their
// decision through the new submission.
func TestApprovedBusinessGainsAnOwner(t *testing.T) {
	e := newVerifyEnv(t)
	ctx := context.Background()
	biz := e.readyBusiness(t, "biz-gains")
	ctrl := e.addOwner(t, "p1", biz.ID, "CONTROL_PERSON", 0, "Doe")
	e.addOwner(t, "p1", biz.ID, "UBO", 60, "Roe")
	submit(t, e, biz.ID)
	e.advance(time.Minute)
	for _, id := range []string{ctrl.ID, biz.ID} {
		if _, err := e.reviews.Apply(ctx, kyc.Review{CustomerID: id, Status: kyc.StatusApproved, At: e.clock}); err != nil {
			t.Fatal(err)
		}
	}
	_, err := e.verifications.Submit(ctx, "p1", biz.ID, "")
	isErr(t, err, kyc.CodeInvalid, kyc.ReasonCustomerApproved)
	late := e.addOwner(t, "p1", biz.ID, "UBO", 30, "Late")
	v := submit(t, e, biz.ID)
	if v.VerificationStatus != kyc.VerificationInProgress {
		t.Fatalf("an approved business with a new owner: %+v", v)
	}
	for id, want := range map[string]kyc.Status{ctrl.ID: kyc.StatusApproved, late.ID: kyc.StatusPending} {
		if o, _ := e.owners.Get(ctx, "p1", id); o.KYCStatus != want {
			t.Errorf("owner %s is %s; want %s", id, o.KYCStatus, want)
		}
	}
}
