//go:build integration

package storetest

// Defects found in the review of 0df9e4d (KYB review's findings fixed),
// on DynamoDB (moto). Each test fails on the code as reviewed; its comment
// says what is wrong and what is right.

import (
	"context"
	"testing"
	"time"

	"github.com/grid-kyc/kyc-link/pkg/kyc"
)

// Wrong: decide counts only documents whose SubmittedIn is "" against the
// 90 a verification may submit (0df9e4d: "locked documents count no more
// against a verification's 90"), but awsstore.Documents.DocumentRange
// reads the holder items, which never carry submittedIn (only the by-id
// items are locked): on DynamoDB every document reads as unlocked, so the
// fix is the memory store's only. A business whose first submission
// locked 90 documents and which Sumsub sends back (REJECTED, RETRY) for
// one more can never be submitted again: its locked documents cannot be
// deleted, and the 91st is refused as "91 documents not yet submitted".
// Right: as on the memory store, locked documents do not count; the
// resubmission goes IN_PROGRESS (the range must tell locked documents, or
// decide must read their lock some other way).
func TestFoundMotoLockedDocumentsStillCountAgainstNinety(t *testing.T) {
	e := newKYBMoto(t)
	ctx := context.Background()
	biz, ctrl, ubo := e.ready(t) // 4 + 1 + 1 documents
	for range kyc.MaxDocumentsPerHolder - 4 {
		e.upload(t, biz, "UTILITY_BILL") // 50
	}
	for range 20 {
		e.upload(t, ctrl, "PASSPORT") // 21
	}
	for range 18 {
		e.upload(t, ubo, "PASSPORT") // 19: 90 in all
	}
	if v, err := e.verifications.Submit(ctx, "p1", biz, ""); err != nil || v.VerificationStatus != kyc.VerificationInProgress {
		t.Fatalf("first Submit (90 documents) = %+v, %v", v, err)
	}
	e.advance(time.Minute)
	r := kyc.Review{CustomerID: biz, Status: kyc.StatusRejected, RejectType: "RETRY", RejectLabels: []string{"BAD_PROOF_OF_ADDRESS"}, At: e.now()}
	if out, err := e.reviews.Apply(ctx, r); err != nil || out != kyc.Applied {
		t.Fatalf("Apply = %s, %v", out, err)
	}
	e.advance(time.Minute)
	e.upload(t, ubo, "PASSPORT") // the one new document
	v, err := e.verifications.Submit(ctx, "p1", biz, "")
	if err != nil || v.VerificationStatus != kyc.VerificationInProgress {
		t.Errorf("resubmission with 90 locked documents and 1 new one = %+v, %v; want IN_PROGRESS (locked documents do not count)", v, err)
	}
}
