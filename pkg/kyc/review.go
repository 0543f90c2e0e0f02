package kyc

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Status is a customer's verification status (Grid's KycStatus, and
// KybStatus for businesses: one enum).
type Status string

const (
	StatusUnverified Status = "UNVERIFIED"
	StatusPending    Status = "PENDING"
	StatusApproved   Status = "APPROVED"
	StatusRejected   Status = "REJECTED"
	StatusHold       Status = "HOLD"
)

// Review is a provider's decision about one customer.
type Review struct {
	CustomerID string
	Status     Status
	// At is when the provider made the decision; only a review newer than
	// the last one applied to the customer changes anything.
	At time.Time
	// RejectType and RejectLabels explain a REJECTED status to operators.
	RejectType   string
	RejectLabels []string
}

// Change is what applying a review writes to a customer, conditioned on
// the customer still being as it was read.
type Change struct {
	CustomerID string
	// Type says which status moves: the KYC status of an individual,
	// the KYB status of a business.
	Type         CustomerType
	Status       Status
	ReviewAt     time.Time
	RejectType   string
	RejectLabels []string
	UpdatedAt    time.Time
	// The customer as read: the write must fail if either moved since.
	WasStatus   Status
	WasReviewAt time.Time
}

// Notice is a webhook to a platform, recorded with the change that causes
// it so that neither exists without the other.
type Notice struct {
	ID         string // Webhook:<unique>, the same on every delivery attempt
	PlatformID string
	Type       string
	CreatedAt  time.Time
	// Body is the exact JSON delivered and signed.
	Body []byte
}

// ErrChanged is a store's answer when the customer moved since it was read
// (another review landed first).
var ErrChanged = errors.New("kyc: the customer changed since it was read")

// ReviewStore reads customers for review and applies changes atomically
// with their notice.
type ReviewStore interface {
	// FindCustomer reads the customer with a consistent read (as the link
	// route does).
	CustomerStore
	// ApplyChange writes ch and, when notice is not nil, records it, both
	// or neither; ErrChanged when the customer is no longer as read.
	ApplyChange(ctx context.Context, ch Change, notice *Notice) error
}

// Outcome says what a review did.
type Outcome string

const (
	Applied         Outcome = "applied"          // status written (and a notice recorded if the status changed)
	Stale           Outcome = "stale"            // not newer than the last review applied: nothing changed
	UnknownCustomer Outcome = "unknown_customer" // no such (or a deleted) customer: nothing changed
)

// NoticeBuilder turns a changed customer into a platform notice (the
// Grid webhook); it returns nil when the status has no webhook.
type NoticeBuilder func(c Customer, status Status, at time.Time) (*Notice, error)

// Reviews applies providers' decisions to customers.
type Reviews struct {
	Store   ReviewStore
	Notices NoticeBuilder
	Now     func() time.Time
}

// Apply applies r if it is newer than the last review applied to its
// customer. A changed status records a notice in the same write.
func (s *Reviews) Apply(ctx context.Context, r Review) (Outcome, error) {
	// A concurrent review of the same customer makes the write fail; read
	// again and decide again. Each pass means another review landed.
	for range 5 {
		c, err := s.Store.FindCustomer(ctx, r.CustomerID)
		if e := AsError(err); err != nil && e.Code == CodeNotFound {
			return UnknownCustomer, nil
		}
		if err != nil {
			return "", err
		}
		if c.IsDeleted {
			return UnknownCustomer, nil
		}
		if !r.At.After(c.LastReviewAt) {
			return Stale, nil
		}
		now := s.Now().UTC()
		was := c.StatusOf()
		ch := Change{CustomerID: c.ID, Type: c.Type, Status: r.Status, ReviewAt: r.At,
			RejectType: r.RejectType, RejectLabels: r.RejectLabels, UpdatedAt: now,
			WasStatus: was, WasReviewAt: c.LastReviewAt}
		var notice *Notice
		if was != r.Status {
			after := c
			after.SetStatus(r.Status)
			after.UpdatedAt = now
			if notice, err = s.Notices(after, r.Status, now); err != nil {
				return "", fmt.Errorf("kyc: build notice: %w", err)
			}
		}
		err = s.Store.ApplyChange(ctx, ch, notice)
		if errors.Is(err, ErrChanged) {
			continue
		}
		if err != nil {
			return "", err
		}
		return Applied, nil
	}
	return "", fmt.Errorf("kyc: customer %s kept changing while a review was applied", r.CustomerID)
}
