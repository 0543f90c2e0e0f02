package kyc_test

// Defects found in the review of the KYB beneficial owners change
// (e268990..2f62689). Each test fails on the code as reviewed; its comment
// says what is wrong and what the right behaviour is.

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/grid-kyc/kyc-link/pkg/kyc"
)

// kybReady is a business of p1 with its own documents, a control person
// and a 60 % UBO (each with a passport), ready for POST /verifications.
func kybReady(t *testing.T, e *verifyEnv, pcid string) (biz kyc.CustomerView, ctrl, ubo kyc.OwnerView) {
	t.Helper()
	biz = e.readyBusiness(t, pcid)
	ctrl = e.addOwner(t, "p1", biz.ID, "CONTROL_PERSON", 0, "Doe")
	ubo = e.addOwner(t, "p1", biz.ID, "UBO", 60, "Roe")
	return biz, ctrl, ubo
}

// The CUSTOMER.KYB_PENDING webhook that POST /verifications records says
// every owner is UNVERIFIED, while the very write that records it makes
// each owner PENDING (GET /customers/{id} right after shows PENDING).
// The webhook's data is "the full customer, as GET /customers/{id}
// returns it": the notice is built from the customer as read with only
// its own status moved (Verifications.decide: after.SetStatus), not its
// owners'. Right behaviour: the webhook's beneficialOwners carry the
// statuses the write gives them (PENDING), as GET does.
func TestFoundKYBPendingWebhookShowsOwnersUnverified(t *testing.T) {
	e := newVerifyEnv(t)
	ctx := context.Background()
	biz, _, _ := kybReady(t, e, "biz-found-webhook")
	e.types() // drop the notices so far
	if v := submit(t, e, biz.ID); v.VerificationStatus != kyc.VerificationInProgress {
		t.Fatalf("verification %+v", v)
	}
	got, err := e.customers.Get(ctx, "p1", biz.ID)
	if err != nil {
		t.Fatal(err)
	}
	onGet := map[string]kyc.Status{}
	for _, o := range *got.BeneficialOwners {
		onGet[o.ID] = o.KYCStatus
	}
	e.mu.Lock()
	notices := append([]kyc.Notice(nil), e.notices...)
	e.mu.Unlock()
	found := false
	for _, n := range notices {
		if n.Type != "CUSTOMER.KYB_PENDING" {
			continue
		}
		found = true
		var env struct {
			Data struct {
				BeneficialOwners []struct {
					ID        string
					KycStatus kyc.Status
				}
			}
		}
		if err := json.Unmarshal(n.Body, &env); err != nil {
			t.Fatal(err)
		}
		if len(env.Data.BeneficialOwners) != len(onGet) {
			t.Fatalf("the webhook carries %d owners; GET %d", len(env.Data.BeneficialOwners), len(onGet))
		}
		for _, o := range env.Data.BeneficialOwners {
			if o.KycStatus != onGet[o.ID] {
				t.Errorf("CUSTOMER.KYB_PENDING says owner %s is %s; GET right after says %s", o.ID, o.KycStatus, onGet[o.ID])
			}
		}
	}
	if !found {
		t.Fatal("no CUSTOMER.KYB_PENDING recorded")
	}
}

// An owner added once the submission job has handed the business to the
// provider is never sent to the provider, and the business's decision
// (APPROVED) then stands with that owner UNVERIFIED for good: POST
// /verifications answers 400 "APPROVED already", so the platform has no
// way to have the new owner (here a 30 % UBO) verified. Owner create does
// not look at the business's kybStatus, and the job (run once) reads the
// owners only when it runs. Right behaviour: an owner cannot join a
// business whose review is under way without being reviewed: either the
// create is refused while the business is PENDING/HOLD (409, as POST
// /verifications is), or the new owner is submitted too; an APPROVED
// business never has an owner the provider was never given.
func TestFoundOwnerAddedAfterSubmissionIsNeverVerified(t *testing.T) {
	e := newVerifyEnv(t)
	ctx := context.Background()
	biz, _, _ := kybReady(t, e, "biz-found-late-owner")
	v := submit(t, e, biz.ID)
	p := &capture{}
	jobs := e.submissions(p, e.customers.Sealer.(kyc.Opener))
	if out, err := jobs.Submit(ctx, v.ID); err != nil || out != kyc.Submitted {
		t.Fatalf("job = %s, %v", out, err)
	}
	in := parseOwner(t, ownerBody(biz.ID, "UBO", 30, "Late"))
	late, cerr := e.owners.Create(ctx, "p1", in, "")
	if cerr != nil {
		return // refused while the business is under review: right
	}
	e.upload(t, "p1", late.ID, "PASSPORT", "", pngFile)
	// Whatever else runs (a repeat of the job), then the provider decides
	// the company.
	if _, err := jobs.Submit(ctx, v.ID); err != nil {
		t.Fatal(err)
	}
	e.advance(time.Minute)
	if _, err := e.reviews.Apply(ctx, kyc.Review{CustomerID: biz.ID, Status: kyc.StatusApproved, At: e.clock}); err != nil {
		t.Fatal(err)
	}
	sent := false
	for _, s := range p.got {
		for _, o := range s.Owners {
			sent = sent || o.Owner.ID == late.ID
		}
	}
	got, _ := e.customers.Get(ctx, "p1", biz.ID)
	if got.KYBStatus == kyc.StatusApproved && !sent {
		o, _ := e.owners.Get(ctx, "p1", late.ID)
		_, verr := e.verifications.Submit(ctx, "p1", biz.ID, "")
		t.Errorf("the business is APPROVED with UBO %s (%s) never handed to the provider; POST /verifications now: %v", late.ID, o.KYCStatus, verr)
	}
}

// A business sent back (REJECTED with RETRY) and submitted again puts
// every owner PENDING, erasing a FINAL rejection of one of them (its
// status, rejectType and labels): the verification's write sets each
// owner PENDING whatever its decision (memstore WriteVerification,
// awsstore submittedOwners), and the checks never look at owners'
// statuses. A final rejection is final for a customer here ("REJECTED
// with a final decision; it cannot be submitted again"); an owner's is
// silently undone by the platform's resubmission of its business.
// Right behaviour: a finally rejected owner stays REJECTED (its reasons
// kept); the business's verification names it (Grid's
// APPLICANT_REJECTED with the owner as resourceId, RESOLVE_ERRORS) or is
// refused, rather than sending it to review again.
func TestFoundResubmissionErasesOwnersFinalRejection(t *testing.T) {
	e := newVerifyEnv(t)
	ctx := context.Background()
	biz, ctrl, ubo := kybReady(t, e, "biz-found-final")
	v := submit(t, e, biz.ID)
	if out, err := e.submissions(&capture{}, e.customers.Sealer.(kyc.Opener)).Submit(ctx, v.ID); err != nil || out != kyc.Submitted {
		t.Fatalf("job = %s, %v", out, err)
	}
	e.advance(time.Minute)
	for _, r := range []kyc.Review{
		{CustomerID: ctrl.ID, Status: kyc.StatusApproved, At: e.clock},
		{CustomerID: ubo.ID, Status: kyc.StatusRejected, RejectType: "FINAL", RejectLabels: []string{"FORGERY"}, At: e.clock},
		{CustomerID: biz.ID, Status: kyc.StatusRejected, RejectType: "RETRY", RejectLabels: []string{"BAD_PROOF_OF_ADDRESS"}, At: e.clock},
	} {
		if _, err := e.reviews.Apply(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	e.advance(time.Minute)
	v2, err := e.verifications.Submit(ctx, "p1", biz.ID, "")
	if err != nil {
		return // refused: the final rejection stands
	}
	rec, _ := e.store.CustomerRecord(ctx, biz.ID)
	o, _ := rec.Owner(ubo.ID)
	if o.StatusOf() != kyc.StatusRejected || o.RejectType != "FINAL" {
		t.Errorf("after resubmitting the business (verification %s), the finally rejected owner is %s (rejectType %q, labels %v); want REJECTED FINAL kept",
			v2.VerificationStatus, o.StatusOf(), o.RejectType, o.RejectLabels)
	}
}

// A non-U.S. owner passes the checks with a passport and only the FRONT
// of a national id: the rule "a passport and one more government-issued
// identity document" counts any identity document that is not a
// passport, complete or not (requirements.owner), while the same
// one-sided national id is INCOMPLETE_DOCUMENT everywhere else
// (requirements.identityDocument). The provider then gets one side of the
// second document. Right behaviour: the second document must be complete
// (both sides of a national id or driver's license); one side alone is
// INCOMPLETE_DOCUMENT (or MISSING_IDENTITY_DOCUMENT) on the owner, and the
// verification is RESOLVE_ERRORS.
func TestFoundNonUSOwnerPassesWithOneSideOfASecondDocument(t *testing.T) {
	e := newVerifyEnv(t)
	biz, _, ubo := kybReady(t, e, "biz-found-nonus")
	if _, err := patchOwner(e, "p1", ubo.ID, `{"personalInfo":{"nationality":"DE"}}`); err != nil {
		t.Fatal(err)
	}
	e.upload(t, "p1", ubo.ID, "NATIONAL_ID", "FRONT", pngFile)
	v := submit(t, e, biz.ID)
	if v.VerificationStatus != kyc.VerificationResolveErrors {
		t.Errorf("a non-U.S. owner with a passport and one side of a national id: %s %v; want RESOLVE_ERRORS naming the incomplete national id",
			v.VerificationStatus, errorKinds(v.Errors))
	}
}

// ownershipPercentage 1e2 (or 100.0) is refused with "must be a whole
// number", though it is the whole number 100: JSON Schema's integer (and
// api/openapi.yaml as internal/contract checks it, which accepts this
// very body) is any number without a fractional part, whatever its
// spelling. encoding/json cannot decode "1e2" into an int, and
// strictjson reports that as a wrong type. Right behaviour: 1e2, 1E2 and
// 100.0 are 100 (the owner is created); 51.5 and 1e400 stay refused.
func TestFoundOwnershipPercentageInExponentFormIsRefused(t *testing.T) {
	for v, want := range map[string]int{"1e2": 100, "1E2": 100, "100.0": 100, "5e1": 50} {
		body := strings.Replace(ownerBody("Customer:019542f5-b3e7-1d02-0000-000000000001", "UBO", 99, "Roe"), `"ownershipPercentage":99`, `"ownershipPercentage":`+v, 1)
		in, err := kyc.ParseOwnerCreate([]byte(body))
		if err != nil {
			t.Errorf("ownershipPercentage %s refused: %v", v, err)
			continue
		}
		if in.OwnershipPercentage == nil || *in.OwnershipPercentage != float64(want) {
			t.Errorf("ownershipPercentage %s read as %v; want %d", v, in.OwnershipPercentage, want)
		}
	}
}

// A business whose documents, with its owners', number more than
// MaxSubmittedDocuments (90) can never be submitted again once 90 of them
// are locked by an earlier verification: POST /verifications answers 400
// "Delete the documents the review does not need", but a submitted
// document cannot be deleted (409 DOCUMENT_SUBMITTED, "upload a new
// document instead"). A refused submission followed by the one new
// document the refusal asks for is enough. The count includes documents
// an earlier verification locked, although they need no lock of their
// own (they can no longer change). Right behaviour: the platform always
// has a way forward: documents locked already do not count against the
// one-transaction bound (or a document of a decided verification can be
// deleted), so the business can be submitted again.
func TestFoundLockedDocumentsBlockTheBusinessForGood(t *testing.T) {
	e := newVerifyEnv(t)
	ctx := context.Background()
	biz, ctrl, ubo := kybReady(t, e, "biz-found-90")
	// 6 documents so far (4 of the business, a passport each owner): up to
	// exactly 90, within each holder's 50.
	for range 44 {
		e.upload(t, "p1", biz.ID, "BANK_STATEMENT", "", pdfFile)
	}
	for range 40 {
		e.upload(t, "p1", ctrl.ID, "SELFIE", "", pngFile)
	}
	v := submit(t, e, biz.ID)
	if v.VerificationStatus != kyc.VerificationInProgress {
		t.Fatalf("with 90 documents: %+v", v)
	}
	refusal := &kyc.ProviderRefusal{Problems: []kyc.VerificationError{{ResourceID: ubo.ID, Type: kyc.ErrPoorQualityDocument, Reason: "blurry"}}}
	if out, err := e.submissions(&capture{refusal: refusal}, e.customers.Sealer.(kyc.Opener)).Submit(ctx, v.ID); err != nil || out != kyc.SubmitRefused {
		t.Fatalf("job = %s, %v", out, err)
	}
	// As asked: a better passport for the owner.
	e.upload(t, "p1", ubo.ID, "PASSPORT", "", jpegFile)
	_, err := e.verifications.Submit(ctx, "p1", biz.ID, "")
	if err == nil {
		return
	}
	// Refused on the count: the platform must be able to delete one.
	docs, _ := e.documents.List(ctx, "p1", kyc.DocumentListQuery{Holder: biz.ID, Limit: 100})
	var deleted bool
	for _, d := range docs.Data {
		if e.documents.Delete(ctx, "p1", d.ID) == nil {
			deleted = true
			break
		}
	}
	if !deleted {
		t.Errorf("POST /verifications = %v, and none of the business's documents can be deleted: the business can never be submitted again", err)
	}
}
