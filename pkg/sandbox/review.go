package sandbox

import (
	"context"
	"strings"
	"time"

	"github.com/grid-kyc/kyc-link/pkg/kyc"
)

// RejectFinal is a decision for good (RED, FINAL), beside the page's
// three.
const RejectFinal = "reject-final"

// Reviewer is the local stand-in for the provider's API-driven review
// (kyc.ReviewSubmitter): it accepts every submission and, a moment later,
// decides it by Grid's sandbox suffixes of the customer's fullName (a
// business's legalName), as Sumsub's signed events to the receiver:
// 001 on hold (PENDING_MANUAL_REVIEW, decided by a person at the inbox),
// 002 rejected for good, 003 sent back (RESOLVE_ERRORS with
// POOR_QUALITY_DOCUMENT), anything else approved.
type Reviewer struct {
	// Decide sends the decision's events (Decider.Decide, tracked by the
	// inbox).
	Decide func(ctx context.Context, customerID, decision string) error
	// Delay is the moment before the decision (the answer to POST
	// /verifications comes first).
	Delay time.Duration
	// Logf reports a decision that could not be sent.
	Logf func(format string, args ...any)
}

var _ kyc.ReviewSubmitter = (*Reviewer)(nil)

// DecisionFor is the decision Grid's sandbox takes for a name.
func DecisionFor(name string) string {
	switch {
	case strings.HasSuffix(name, "001"):
		return Hold
	case strings.HasSuffix(name, "002"):
		return RejectFinal
	case strings.HasSuffix(name, "003"):
		return Reject
	}
	return Approve
}

func (r *Reviewer) SubmitForReview(_ context.Context, s kyc.ProviderSubmission) error {
	name := s.Customer.FullName
	if s.Customer.Type == kyc.Business && s.Customer.BusinessInfo != nil {
		name = s.Customer.BusinessInfo.LegalName
	}
	decision, id := DecisionFor(name), s.Customer.ID
	time.AfterFunc(r.Delay, func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := r.Decide(ctx, id, decision); err != nil && r.Logf != nil {
			r.Logf("sandbox: the decision %s for %s was not sent: %v", decision, id, err)
		}
	})
	return nil
}
