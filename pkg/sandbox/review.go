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
// decides it by Grid's sandbox suffixes, as Sumsub's signed events to the
// receiver. An individual by its fullName: 001 on hold
// (PENDING_MANUAL_REVIEW, decided by a person at the inbox), 002 rejected
// for good, 003 sent back (RESOLVE_ERRORS with POOR_QUALITY_DOCUMENT),
// anything else approved. A business by its registrationNumber (Grid's
// kyb-sandbox-suffixes): 001 and 003 wait for a person, 002 rejected,
// anything else approved; and first each of its beneficial owners by
// its lastName: 001 stays PENDING, 002 rejected, anything else approved.
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

// DecisionFor is the decision Grid's sandbox takes for an individual's
// name.
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

// BusinessDecisionFor is the decision Grid's KYB sandbox takes for a
// registration number: 001 and 003 make no decision of their own (a
// person decides at the inbox), 002 rejects, anything else approves.
func BusinessDecisionFor(registrationNumber string) string {
	switch {
	case strings.HasSuffix(registrationNumber, "001"), strings.HasSuffix(registrationNumber, "003"):
		return Hold
	case strings.HasSuffix(registrationNumber, "002"):
		return RejectFinal
	}
	return Approve
}

// OwnerDecisionFor is the decision for a beneficial owner's last name:
// 001 none (the owner stays PENDING), 002 rejected, anything else
// approved.
func OwnerDecisionFor(lastName string) string {
	switch {
	case strings.HasSuffix(lastName, "001"):
		return ""
	case strings.HasSuffix(lastName, "002"):
		return RejectFinal
	}
	return Approve
}

// decision is one applicant's decision to send.
type decision struct{ id, decision string }

// decisionsOf are the decisions a submission gets, in the order they are
// sent: a business's owners first (Sumsub reviews a company's
// beneficiaries before the company), then the customer.
func decisionsOf(s kyc.ProviderSubmission) []decision {
	c := s.Customer
	if c.Type != kyc.Business {
		return []decision{{c.ID, DecisionFor(c.FullName)}}
	}
	var out []decision
	for _, o := range s.Owners {
		if d := OwnerDecisionFor(o.Owner.LastName); d != "" {
			out = append(out, decision{o.Owner.ID, d})
		}
	}
	reg := ""
	if c.BusinessInfo != nil {
		reg = c.BusinessInfo.RegistrationNumber
	}
	return append(out, decision{c.ID, BusinessDecisionFor(reg)})
}

func (r *Reviewer) SubmitForReview(_ context.Context, s kyc.ProviderSubmission) error {
	decisions := decisionsOf(s)
	time.AfterFunc(r.Delay, func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		for _, d := range decisions {
			if err := r.Decide(ctx, d.id, d.decision); err != nil && r.Logf != nil {
				r.Logf("sandbox: the decision %s for %s was not sent: %v", d.decision, d.id, err)
			}
		}
	})
	return nil
}
