package sumsub_test

// Defects found in the review of the KYB beneficial owners change
// (e268990..2f62689). Each test fails on the code as reviewed; its comment
// says what is wrong and what the right behaviour is.

import (
	"context"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/grid-kyc/kyc-link/pkg/kyc"
	"github.com/grid-kyc/kyc-link/pkg/sumsub"
	"github.com/grid-kyc/kyc-link/pkg/sumsub/sumsubtest"
)

// An owner's link to the company applicant is made once and never
// changed: Reviewer.link skips every owner the company's beneficiaries
// already list, whatever types and share they were linked with. A
// submission that got as far as the links and was then sent back (here
// Sumsub still missed steps; equally a RETRY rejection of the company),
// followed by a PATCH of the owners' roles and shares and a new
// submission, leaves Sumsub's ownership structure as it was: A still a
// 60 % UBO and director though now only the control person with no
// share, B still only a representative though now a 70 % UBO. Sumsub
// reviews the company against that stale structure. Right behaviour: each
// submission leaves every owner linked with the types and share its
// current roles and ownershipPercentage give (the link updated, or
// removed and made again), each owner still linked once.
func TestFoundBeneficiaryLinksNeverFollowRoleChanges(t *testing.T) {
	srv := sumsubtest.NewServer(sumsub.Credentials{AppToken: "tok", SecretKey: "key"})
	defer srv.Close()
	r := ownersReviewer(srv, &wire{})
	ctx := context.Background()
	s := kybSubmission(kybID)
	srv.SetMissingSteps("IDENTITY")
	if err := r.SubmitForReview(ctx, s); !errors.As(err, new(*kyc.ProviderRefusal)) {
		t.Fatalf("first submission = %v; want a refusal after the links", err)
	}
	if got := stateOf(t, srv, kybID, ownerA, ownerB).Links; len(got) != 2 {
		t.Fatalf("links after the first submission: %v", got)
	}
	srv.SetMissingSteps()
	// The platform's PATCHes, then POST /verifications again.
	s.Owners[0].Owner.Roles, s.Owners[0].Owner.OwnershipPercentage = []string{kyc.RoleControlPerson}, 0
	s.Owners[1].Owner.Roles, s.Owners[1].Owner.OwnershipPercentage = []string{kyc.RoleUBO}, 70
	if err := r.SubmitForReview(ctx, s); err != nil {
		t.Fatal(err)
	}
	want := []string{ownerA + " [representative] -", ownerB + " [ubo] 70"}
	if diff := cmp.Diff(want, stateOf(t, srv, kybID, ownerA, ownerB).Links); diff != "" {
		t.Errorf("the company's beneficiaries at Sumsub after the owners changed (-want +got):\n%s", diff)
	}
}
