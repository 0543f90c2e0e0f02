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
	"github.com/google/uuid"

	"github.com/grid-kyc/kyc-link/internal/contract"
	"github.com/grid-kyc/kyc-link/pkg/gridhook"
	"github.com/grid-kyc/kyc-link/pkg/kyc"
	"github.com/grid-kyc/kyc-link/pkg/memstore"
)

// Files by their leading bytes.
var (
	pngFile  = []byte("\x89PNG\r\n\x1a\n" + strings.Repeat("p", 100))
	jpegFile = []byte("\xFF\xD8\xFF\xE0" + strings.Repeat("j", 100))
	pdfFile  = []byte("%PDF-1.7\n" + strings.Repeat("d", 100))
)

// verifyEnv is the documents and verifications use cases over one memory
// store, with the notices recorded.
type verifyEnv struct {
	customers     *kyc.Customers
	documents     *kyc.Documents
	verifications *kyc.Verifications
	reviews       *kyc.Reviews
	owners        *kyc.BeneficialOwners
	store         *memstore.Customers
	files         *memstore.Files
	mu            sync.Mutex
	notices       []kyc.Notice
	clock         time.Time
	t             *testing.T
}

func newVerifyEnv(t *testing.T) *verifyEnv {
	t.Helper()
	customers, store, _ := newCustomers(t)
	e := &verifyEnv{customers: customers, store: store, files: &memstore.Files{}, clock: now, t: t}
	store.Outbox = func(n kyc.Notice) { e.mu.Lock(); e.notices = append(e.notices, n); e.mu.Unlock() }
	clock := func() time.Time { e.mu.Lock(); defer e.mu.Unlock(); return e.clock }
	customers.Now = clock
	n := 0
	ids := func() (uuid.UUID, error) {
		e.mu.Lock()
		defer e.mu.Unlock()
		n++
		return uuid.Parse(fmt.Sprintf("019ac0de-1111-7000-8000-%012d", n))
	}
	e.documents = &kyc.Documents{Store: store, Files: e.files, Holders: store, Owners: store, CursorKey: customers.CursorKey, Now: clock, NewID: ids}
	e.owners = &kyc.BeneficialOwners{Customers: customers, Store: store, NewID: ids}
	e.verifications = &kyc.Verifications{Store: store, Customers: store, Documents: store,
		CustomerNotices: gridhook.Notices, VerificationNotices: gridhook.VerificationNotice,
		CursorKey: customers.CursorKey, Now: clock, NewID: ids}
	e.reviews = &kyc.Reviews{Store: store, Notices: gridhook.Notices, Now: clock,
		Verifications: store, VerificationNotices: gridhook.VerificationNotice, Owners: store}
	return e
}

func (e *verifyEnv) advance(d time.Duration) { e.mu.Lock(); e.clock = e.clock.Add(d); e.mu.Unlock() }

// types are the webhook types recorded since the last call; each
// VERIFICATION.* body is checked against the contract.
func (e *verifyEnv) types() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []string
	for _, n := range e.notices {
		out = append(out, n.Type)
		if strings.HasPrefix(n.Type, "VERIFICATION.") {
			if err := contract.CheckVerificationWebhook(n.Body); err != nil {
				e.t.Errorf("%s breaks the contract: %v\n%s", n.Type, err, n.Body)
			}
		}
	}
	e.notices = nil
	return out
}

func (e *verifyEnv) upload(t *testing.T, platform, holder, typ, side string, file []byte) kyc.DocumentView {
	t.Helper()
	d, err := e.documents.Upload(context.Background(), platform, kyc.DocumentInput{Holder: holder, Type: typ, Side: side, Country: "US", FileName: "scan"},
		kyc.DocumentFile{Name: "scan", Content: file}, "")
	if err != nil {
		t.Fatalf("Upload(%s %s) = %v", typ, side, err)
	}
	return d
}

// errorKinds is each error as type:field.
func errorKinds(errs []kyc.VerificationError) []string {
	var out []string
	for _, e := range errs {
		out = append(out, e.Type+":"+e.Field)
	}
	return out
}

func TestRequirementsOfAnIndividual(t *testing.T) {
	e := newVerifyEnv(t)
	ctx := context.Background()
	bare := create(t, e.customers, "p1", `{"customerType":"INDIVIDUAL","fullName":"Jane Doe 001"}`)
	v, err := e.verifications.Submit(ctx, "p1", bare.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"MISSING_FIELD:customer.birthDate", "MISSING_FIELD:customer.nationality", "MISSING_FIELD:customer.idType",
		"MISSING_FIELD:customer.identifier", "MISSING_FIELD:customer.address", "MISSING_IDENTITY_DOCUMENT:"}
	if diff := cmp.Diff(want, errorKinds(v.Errors)); v.VerificationStatus != kyc.VerificationResolveErrors || diff != "" {
		t.Fatalf("status %s, errors (-want +got):\n%s", v.VerificationStatus, diff)
	}
	if got := v.Errors[5]; !slices.Equal(got.AcceptedDocumentTypes, []string{"PASSPORT", "DRIVERS_LICENSE", "NATIONAL_ID"}) || got.ResourceID != bare.ID {
		t.Errorf("identity error = %+v", got)
	}
	if diff := cmp.Diff([]string{"VERIFICATION.RESOLVE_ERRORS"}, e.types()); diff != "" {
		t.Errorf("webhooks (-want +got):\n%s", diff)
	}
	// A customer's status does not move for a verification sent back.
	if c, _ := e.customers.Get(ctx, "p1", bare.ID); c.KYCStatus != "UNVERIFIED" {
		t.Errorf("kycStatus = %s", c.KYCStatus)
	}

	// One side of a two-sided document is incomplete; both sides are not.
	full := create(t, e.customers, "p1", individual)
	front := e.upload(t, "p1", full.ID, "DRIVERS_LICENSE", "FRONT", jpegFile)
	v, err = e.verifications.Submit(ctx, "p1", full.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]kyc.VerificationError{{ResourceID: front.ID, Type: "INCOMPLETE_DOCUMENT",
		Reason: "Both sides of the DRIVERS_LICENSE are required: upload its FRONT and its BACK (side)"}}, v.Errors); diff != "" {
		t.Errorf("errors (-want +got):\n%s", diff)
	}
	e.upload(t, "p1", full.ID, "DRIVERS_LICENSE", "BACK", jpegFile)
	e.types()
	v, err = e.verifications.Submit(ctx, "p1", full.ID, "")
	if err != nil || v.VerificationStatus != kyc.VerificationInProgress || len(v.Errors) != 0 {
		t.Fatalf("Submit = %+v, %v; want IN_PROGRESS", v, err)
	}
	if diff := cmp.Diff([]string{"VERIFICATION.IN_PROGRESS", "CUSTOMER.KYC_PENDING"}, e.types()); diff != "" {
		t.Errorf("webhooks (-want +got):\n%s", diff)
	}
}

func TestRequirementsOfABusiness(t *testing.T) {
	e := newVerifyEnv(t)
	ctx := context.Background()
	// Creation requires a business's tax id and date of incorporation;
	// the rules still hold for a record that lacks them.
	bare := kyc.Customer{ID: "Customer:b", Type: kyc.Business, BusinessInfo: &kyc.BusinessInfo{LegalName: "Acme", Country: "DE"}}
	want := []string{"MISSING_FIELD:customer.address", "MISSING_FIELD:customer.businessInfo.countriesOfOperation",
		"MISSING_GOOD_STANDING_DOCUMENT:", "MISSING_FIELD:customer.businessInfo.incorporatedOn",
		"MISSING_LEGAL_PRESENCE_DOCUMENT:", "MISSING_OWNERSHIP_STRUCTURE_DOCUMENT:", "MISSING_CONTROL_STRUCTURE_DOCUMENT:",
		"MISSING_PROOF_OF_ADDRESS_DOCUMENT:", "MISSING_CONTROL_PERSON:", "MISSING_BENEFICIAL_OWNER:"}
	if diff := cmp.Diff(want, errorKinds(kyc.Requirements(bare, nil, now))); diff != "" {
		t.Fatalf("errors (-want +got):\n%s", diff)
	}
	bare.BusinessInfo.Country = "US"
	want[2] = "MISSING_FIELD:customer.businessInfo.taxId"
	if diff := cmp.Diff(want, errorKinds(kyc.Requirements(bare, nil, now))); diff != "" {
		t.Fatalf("US business: errors (-want +got):\n%s", diff)
	}
	bare.BusinessInfo.Country = "DE"
	standing := []kyc.Document{{ID: "Document:g", Holder: bare.ID, Type: "GOOD_STANDING_CERTIFICATE"}}
	if got := errorKinds(kyc.Requirements(bare, standing, now)); slices.Contains(got, "MISSING_GOOD_STANDING_DOCUMENT:") {
		t.Errorf("with a good standing certificate: %v", got)
	}

	// A US business needs its tax id; a proof of address older than
	// three months is expired.
	biz := create(t, e.customers, "p1", business)
	// A review needs the city of the address, which Grid's Address leaves
	// optional.
	if _, err := patch(t, e.customers, "p1", biz.ID, `{"customerType":"BUSINESS","address":{"line1":"123 Market Street","city":"Seattle","postalCode":"98101","country":"US"}}`); err != nil {
		t.Fatal(err)
	}
	for _, typ := range []string{"CERTIFICATE_OF_INCORPORATION", "SHAREHOLDER_REGISTER", "DIRECTOR_REGISTRY", "UTILITY_BILL"} {
		e.upload(t, "p1", biz.ID, typ, "", pdfFile)
	}
	e.advance(kyc.ProofOfAddressMaxAge + time.Hour)
	v, err := e.verifications.Submit(ctx, "p1", biz.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"EXPIRED_DOCUMENT:", "MISSING_CONTROL_PERSON:", "MISSING_BENEFICIAL_OWNER:"}, errorKinds(v.Errors)); diff != "" {
		t.Fatalf("errors (-want +got):\n%s", diff)
	}
	e.upload(t, "p1", biz.ID, "BANK_STATEMENT", "", pdfFile)
	if diff := cmp.Diff([]string{"MISSING_CONTROL_PERSON:", "MISSING_BENEFICIAL_OWNER:"}, errorKinds(submit(t, e, biz.ID).Errors)); diff != "" {
		t.Fatalf("without owners: errors (-want +got):\n%s", diff)
	}
	e.addOwner(t, "p1", biz.ID, "CONTROL_PERSON", 0, "Doe")
	e.addOwner(t, "p1", biz.ID, "UBO", 60, "Roe")
	e.types()
	v, err = e.verifications.Submit(ctx, "p1", biz.ID, "")
	if err != nil || v.VerificationStatus != kyc.VerificationInProgress {
		t.Fatalf("Submit = %+v, %v; want IN_PROGRESS", v, err)
	}
	if diff := cmp.Diff([]string{"VERIFICATION.IN_PROGRESS", "CUSTOMER.KYB_PENDING"}, e.types()); diff != "" {
		t.Errorf("webhooks (-want +got):\n%s", diff)
	}
}

// ready makes a customer of platform whose submission is complete.
func (e *verifyEnv) ready(t *testing.T, platform string) kyc.CustomerView {
	t.Helper()
	c := create(t, e.customers, platform, strings.Replace(individual, `"ind-9f84e0c2"`, fmt.Sprintf("%q", uuid.NewString()), 1))
	e.upload(t, platform, c.ID, "PASSPORT", "", pngFile)
	return c
}

func TestSubmitRefusals(t *testing.T) {
	e := newVerifyEnv(t)
	ctx := context.Background()
	c := e.ready(t, "p1")
	// Another platform's customer is the same 404 as an unknown one.
	_, errOther := e.verifications.Submit(ctx, "p2", c.ID, "")
	_, errUnknown := e.verifications.Submit(ctx, "p2", "Customer:019ac0de-0000-7000-8000-999999999999", "")
	isErr(t, errOther, kyc.CodeNotFound, "")
	if errOther.Error() != errUnknown.Error() {
		t.Errorf("another platform's customer: %v; unknown: %v", errOther, errUnknown)
	}
	v, err := e.verifications.Submit(ctx, "p1", c.ID, "")
	if err != nil || v.VerificationStatus != kyc.VerificationInProgress {
		t.Fatalf("Submit = %+v, %v", v, err)
	}
	_, err = e.verifications.Submit(ctx, "p1", c.ID, "")
	isErr(t, err, kyc.CodeConflict, kyc.ReasonVerificationInProgress)

	// The submitted documents are locked.
	docs, _ := e.documents.List(ctx, "p1", kyc.DocumentListQuery{Holder: c.ID})
	isErr(t, e.documents.Delete(ctx, "p1", docs.Data[0].ID), kyc.CodeConflict, kyc.ReasonDocumentSubmitted)

	// Decided customers cannot be submitted again; a RETRY rejection can.
	for _, tc := range []struct {
		review kyc.Review
		err    string
	}{
		{kyc.Review{Status: kyc.StatusApproved}, kyc.ReasonCustomerApproved},
		{kyc.Review{Status: kyc.StatusRejected, RejectType: "FINAL"}, kyc.ReasonCustomerRejected},
		{kyc.Review{Status: kyc.StatusRejected, RejectType: "RETRY", Problems: []string{kyc.ErrPoorQualityDocument}}, ""},
	} {
		c := e.ready(t, "p1")
		if _, err := e.verifications.Submit(ctx, "p1", c.ID, ""); err != nil {
			t.Fatal(err)
		}
		e.advance(time.Second)
		r := tc.review
		r.CustomerID, r.At = c.ID, e.clock
		if _, err := e.reviews.Apply(ctx, r); err != nil {
			t.Fatal(err)
		}
		_, err := e.verifications.Submit(ctx, "p1", c.ID, "")
		if tc.err == "" {
			if err != nil {
				t.Errorf("%s/%s: resubmission = %v", r.Status, r.RejectType, err)
			}
			continue
		}
		isErr(t, err, kyc.CodeInvalid, tc.err)
	}

	// A contact verification still pending comes first.
	rules, err := kyc.ParseContactRules("DE", "email")
	if err != nil {
		t.Fatal(err)
	}
	eea := create(t, &kyc.Customers{Store: e.store, Sealer: memstore.NewSealer(), CursorKey: memstore.RandomKey(),
		Now: time.Now, Contact: rules}, "p1", `{"customerType":"INDIVIDUAL","region":"DE","email":"a@example.com"}`)
	_, err = e.verifications.Submit(ctx, "p1", eea.ID, "")
	isErr(t, err, kyc.CodeConflict, kyc.ReasonContactVerificationRequired)
}

func TestSubmitIsIdempotentByIntent(t *testing.T) {
	e := newVerifyEnv(t)
	ctx := context.Background()
	c := e.ready(t, "p1")
	intent := "019ac0de-2222-7000-8000-000000000001"
	first, err := e.verifications.Submit(ctx, "p1", c.ID, intent)
	if err != nil {
		t.Fatal(err)
	}
	again, err := e.verifications.Submit(ctx, "p1", c.ID, intent)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(first, again); diff != "" || first.ID != "Verification:"+intent {
		t.Errorf("retry (-first +again):\n%s", diff)
	}
	l, _ := e.verifications.List(ctx, "p1", kyc.VerificationListQuery{CustomerID: c.ID})
	if len(l.Data) != 1 {
		t.Errorf("%d verifications; want 1", len(l.Data))
	}
}

// TestDecisionsMoveTheVerification: each provider decision moves the
// customer's current verification, with its webhook before the customer's.
func TestDecisionsMoveTheVerification(t *testing.T) {
	for _, tc := range []struct {
		review kyc.Review
		status kyc.VerificationStatus
		errors []string
		hooks  []string
	}{
		{kyc.Review{Status: kyc.StatusApproved}, kyc.VerificationApproved, nil, []string{"VERIFICATION.APPROVED", "CUSTOMER.KYC_APPROVED"}},
		{kyc.Review{Status: kyc.StatusHold}, kyc.VerificationPendingManualReview, nil, []string{"VERIFICATION.PENDING_MANUAL_REVIEW"}},
		{kyc.Review{Status: kyc.StatusRejected, RejectType: "FINAL", Problems: []string{kyc.ErrApplicantSanctioned}}, kyc.VerificationRejected,
			[]string{"APPLICANT_SANCTIONED:"}, []string{"VERIFICATION.REJECTED", "CUSTOMER.KYC_REJECTED"}},
		{kyc.Review{Status: kyc.StatusRejected, RejectType: "RETRY", Problems: []string{kyc.ErrPoorQualityDocument}}, kyc.VerificationResolveErrors,
			[]string{"POOR_QUALITY_DOCUMENT:"}, []string{"VERIFICATION.RESOLVE_ERRORS", "CUSTOMER.KYC_REJECTED"}},
		{kyc.Review{Status: kyc.StatusRejected, RejectType: "RETRY"}, kyc.VerificationResolveErrors,
			[]string{"DOCUMENT_VERIFICATION_FAILED:"}, []string{"VERIFICATION.RESOLVE_ERRORS", "CUSTOMER.KYC_REJECTED"}},
		{kyc.Review{Status: kyc.StatusPending}, kyc.VerificationInProgress, nil, nil},
	} {
		t.Run(string(tc.status)+tc.review.RejectType, func(t *testing.T) {
			e := newVerifyEnv(t)
			ctx := context.Background()
			c := e.ready(t, "p1")
			sub, err := e.verifications.Submit(ctx, "p1", c.ID, "")
			if err != nil {
				t.Fatal(err)
			}
			e.types()
			e.advance(time.Second)
			r := tc.review
			r.CustomerID, r.At = c.ID, e.clock
			if _, err := e.reviews.Apply(ctx, r); err != nil {
				t.Fatal(err)
			}
			v, err := e.verifications.Get(ctx, "p1", sub.ID)
			if err != nil {
				t.Fatal(err)
			}
			if v.VerificationStatus != tc.status || !slices.Equal(errorKinds(v.Errors), tc.errors) {
				t.Errorf("verification = %s %v; want %s %v", v.VerificationStatus, errorKinds(v.Errors), tc.status, tc.errors)
			}
			if diff := cmp.Diff(tc.hooks, e.types()); diff != "" {
				t.Errorf("webhooks (-want +got):\n%s", diff)
			}
			// A decided verification stays as it is.
			e.advance(time.Second)
			r.Status, r.At = kyc.StatusApproved, e.clock
			if _, err := e.reviews.Apply(ctx, r); err != nil {
				t.Fatal(err)
			}
			after, _ := e.verifications.Get(ctx, "p1", sub.ID)
			if tc.status != kyc.VerificationInProgress && tc.status != kyc.VerificationPendingManualReview && after.VerificationStatus != tc.status {
				t.Errorf("a later review moved a decided verification to %s", after.VerificationStatus)
			}
		})
	}
}

func TestVerificationWebhookBody(t *testing.T) {
	e := newVerifyEnv(t)
	c := e.ready(t, "p1")
	e.types()
	v, err := e.verifications.Submit(context.Background(), "p1", c.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	e.mu.Lock()
	n := e.notices[0]
	e.mu.Unlock()
	var env gridhook.VerificationEnvelope
	if err := json.Unmarshal(n.Body, &env); err != nil {
		t.Fatal(err)
	}
	if err := contract.CheckVerificationWebhook(n.Body); err != nil {
		t.Errorf("the webhook breaks the contract: %v\n%s", err, n.Body)
	}
	if diff := cmp.Diff(v, env.Data); diff != "" || env.Type != "VERIFICATION.IN_PROGRESS" || n.PlatformID != "p1" {
		t.Errorf("webhook %s to %s, data (-answer +webhook):\n%s", env.Type, n.PlatformID, diff)
	}
}

func TestVerificationListAndGet(t *testing.T) {
	e := newVerifyEnv(t)
	ctx := context.Background()
	a := create(t, e.customers, "p1", `{"customerType":"INDIVIDUAL","fullName":"A"}`)
	b := create(t, e.customers, "p1", `{"customerType":"INDIVIDUAL","fullName":"B"}`)
	var ids []string
	for i := range 5 {
		c := a
		if i%2 == 1 {
			c = b
		}
		e.advance(time.Millisecond)
		v, err := e.verifications.Submit(ctx, "p1", c.ID, "")
		if err != nil {
			t.Fatal(err)
		}
		if c.ID == a.ID {
			ids = append(ids, v.ID)
		}
	}
	var got []string
	q := kyc.VerificationListQuery{CustomerID: a.ID, Limit: 2}
	for pages := 0; ; pages++ {
		l, err := e.verifications.List(ctx, "p1", q)
		if err != nil || pages > 5 {
			t.Fatal(err)
		}
		for _, v := range l.Data {
			got = append(got, v.ID)
		}
		if !l.HasMore {
			break
		}
		q.Cursor = l.NextCursor
	}
	if diff := cmp.Diff(ids, got); diff != "" {
		t.Errorf("a's verifications (-want +got):\n%s", diff)
	}
	// A cursor works only for the listing it came from.
	l, _ := e.verifications.List(ctx, "p1", kyc.VerificationListQuery{CustomerID: a.ID, Limit: 1})
	_, err := e.verifications.List(ctx, "p1", kyc.VerificationListQuery{CustomerID: b.ID, Cursor: l.NextCursor})
	isErr(t, err, kyc.CodeInvalid, "cursor")
	_, err = e.verifications.List(ctx, "p2", kyc.VerificationListQuery{CustomerID: a.ID, Cursor: l.NextCursor})
	isErr(t, err, kyc.CodeInvalid, "cursor")
	// Another platform sees none of them.
	other, _ := e.verifications.List(ctx, "p2", kyc.VerificationListQuery{})
	if len(other.Data) != 0 {
		t.Errorf("p2 lists %d of p1's verifications", len(other.Data))
	}
	_, errOther := e.verifications.Get(ctx, "p2", ids[0])
	_, errUnknown := e.verifications.Get(ctx, "p2", "Verification:019ac0de-0000-7000-8000-999999999999")
	isErr(t, errOther, kyc.CodeReferenceNotFound, "")
	if errOther.Error() != errUnknown.Error() {
		t.Errorf("another platform's: %v; unknown: %v", errOther, errUnknown)
	}
	// A status filter.
	st, _ := e.verifications.List(ctx, "p1", kyc.VerificationListQuery{Status: kyc.VerificationInProgress})
	if len(st.Data) != 0 {
		t.Errorf("IN_PROGRESS lists %d", len(st.Data))
	}
}
