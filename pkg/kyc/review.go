package kyc

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
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
	// Problems are the provider's reasons as Grid's VerificationErrorType
	// values (the provider's adapter maps its labels), for the customer's
	// current verification.
	Problems []string
	// AtField names At in the provider's event (Sumsub's createdAtMs) and
	// FormatAt writes a time as the provider writes At, so that a review
	// refused for its At is refused in the provider's terms. Empty, they
	// are "at" and RFC 3339.
	AtField  string
	FormatAt func(time.Time) string
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
	// Verification, when set, moves the customer's current verification
	// in the same write.
	Verification *VerificationMove
	// Owners move beneficial owners of the customer in the same write,
	// each conditioned on its own status and last review as read. With
	// Status empty only they are written (an owner's own review): the
	// customer's status, review and updatedAt stay.
	Owners []OwnerMove
}

// OwnerMove is what a review (or a refused submission) writes to one
// beneficial owner: its status, last review and reasons, only if its
// status and last review are still as read.
type OwnerMove struct {
	ID           string
	Status       Status
	ReviewAt     time.Time
	RejectType   string
	RejectLabels []string
	WasStatus    Status
	WasReviewAt  time.Time
}

// VerificationMove is what a review writes to the customer's current
// verification: its status and errors, conditioned on the status as
// read, and its webhook.
type VerificationMove struct {
	ID        string
	Status    VerificationStatus
	Errors    []VerificationError
	WasStatus VerificationStatus
	ReviewAt  time.Time
	UpdatedAt time.Time
	// Notice is the VERIFICATION.* webhook (nil: none).
	Notice *Notice
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

// DefaultMaxEventSkew is Reviews.MaxEventSkew when it is not set.
const DefaultMaxEventSkew = 5 * time.Minute

// ErrReviewFromTheFuture is wrapped by Apply's refusal of a review whose
// At lies more than MaxEventSkew past its clock; the refusal's Cause says
// why, for the log.
var ErrReviewFromTheFuture = errors.New("kyc: review from the future")

// Reviews applies providers' decisions to customers.
type Reviews struct {
	Store   ReviewStore
	Notices NoticeBuilder
	Now     func() time.Time
	// Verifications, when set, lets a review move the customer's current
	// verification (nil: statuses only).
	Verifications VerificationReader
	// VerificationNotices builds a moved verification's webhook.
	VerificationNotices VerificationNoticeBuilder
	// Owners finds a beneficial owner's business: a review of an owner
	// (the provider's applicant for it) moves the owner's kycStatus (nil:
	// owners' reviews are UnknownCustomer).
	Owners OwnerLocator
	// MaxEventSkew is how far past Now a review's At may lie; zero is
	// DefaultMaxEventSkew. At becomes the customer's ordering watermark,
	// so a far-future one would make every real decision after it stale;
	// one from a provider's clock a little ahead is refused too, and
	// applied on the provider's retry (Sumsub's: 5 min, 1 h, 5 h, 18 h
	// later) once its time has come.
	MaxEventSkew time.Duration
}

// Apply applies r if it is newer than the last review applied to its
// customer. A changed status records a notice in the same write. A
// review of an id that cannot be a customer's (CheckCustomerID) is
// UnknownCustomer, and one whose At is too far ahead (MaxEventSkew) an
// InvalidField naming AtField that wraps ErrReviewFromTheFuture; neither
// reads the store.
func (s *Reviews) Apply(ctx context.Context, r Review) (Outcome, error) {
	// Such an id names nobody: acknowledged like an unknown one, without
	// a lookup (DynamoDB refuses keys over 2048 bytes).
	if CheckCustomerID(r.CustomerID) != nil {
		return UnknownCustomer, nil
	}
	if err := s.checkSkew(r); err != nil {
		return "", err
	}
	if strings.HasPrefix(r.CustomerID, OwnerIDPrefix) {
		return s.applyOwner(ctx, r)
	}
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
		if ch.Verification, err = s.moveVerification(ctx, c, r, now); err != nil {
			return "", err
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

// applyOwner applies r to the beneficial owner it names, if newer than
// the owner's last review: the owner's kycStatus only (an owner has no
// webhook of its own; its business's answers carry its status).
func (s *Reviews) applyOwner(ctx context.Context, r Review) (Outcome, error) {
	if s.Owners == nil {
		return UnknownCustomer, nil
	}
	cid, err := s.Owners.OwnerCustomerID(ctx, r.CustomerID)
	if e := AsError(err); err != nil && e.Code == CodeReferenceNotFound {
		return UnknownCustomer, nil
	}
	if err != nil {
		return "", err
	}
	for range 5 {
		c, err := s.Store.FindCustomer(ctx, cid)
		if e := AsError(err); err != nil && e.Code == CodeNotFound {
			return UnknownCustomer, nil
		}
		if err != nil {
			return "", err
		}
		o, ok := c.Owner(r.CustomerID)
		if c.IsDeleted || !ok {
			return UnknownCustomer, nil
		}
		if !r.At.After(o.LastReviewAt) {
			return Stale, nil
		}
		m := OwnerMove{ID: o.ID, Status: r.Status, ReviewAt: r.At, WasStatus: o.StatusOf(), WasReviewAt: o.LastReviewAt}
		if r.Status == StatusRejected {
			m.RejectType, m.RejectLabels = r.RejectType, slices.Clone(r.RejectLabels)
		}
		err = s.Store.ApplyChange(ctx, Change{CustomerID: c.ID, Type: c.Type, UpdatedAt: s.Now().UTC(), Owners: []OwnerMove{m}}, nil)
		if errors.Is(err, ErrChanged) {
			continue
		}
		if err != nil {
			return "", err
		}
		return Applied, nil
	}
	return "", fmt.Errorf("kyc: owner %s kept changing while a review was applied", r.CustomerID)
}

// checkSkew refuses r if its At lies more than MaxEventSkew past the
// clock. Refused, not clamped: a clamped date would still be a watermark
// no real review may pass for minutes, and the provider's retry brings
// the review back anyway.
func (s *Reviews) checkSkew(r Review) error {
	skew := s.MaxEventSkew
	if skew == 0 {
		skew = DefaultMaxEventSkew
	}
	clock := s.Now().UTC()
	if !r.At.After(clock.Add(skew)) {
		return nil
	}
	field, format := r.AtField, r.FormatAt
	if field == "" {
		field = "at"
	}
	if format == nil {
		format = func(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }
	}
	at, now := format(r.At), format(clock)
	e := InvalidField(field, "The event's %s (%s UTC) is more than %d minutes after this receiver's clock (%s UTC); it is not applied. A retry is applied once that time has passed.",
		field, at, int(skew/time.Minute), now)
	e.Cause = &futureError{fmt.Sprintf("%s %s is more than %v after the receiver's clock (%s)", field, at, skew, now)}
	return e
}

// futureError is why a review from the future was refused, worded for
// the log; it is an ErrReviewFromTheFuture.
type futureError struct{ why string }

func (e *futureError) Error() string { return e.why }
func (e *futureError) Unwrap() error { return ErrReviewFromTheFuture }

// VerificationReader reads verifications.
type VerificationReader interface {
	VerificationRecord(ctx context.Context, id string) (Verification, error)
}

// moveVerification is what r does to c's current verification: nothing
// once it is decided or sent back (a later review answers a later
// submission, or the hosted link), else the status r maps to.
func (s *Reviews) moveVerification(ctx context.Context, c Customer, r Review, now time.Time) (*VerificationMove, error) {
	if c.VerificationID == "" || s.Verifications == nil {
		return nil, nil
	}
	v, err := s.Verifications.VerificationRecord(ctx, c.VerificationID)
	if e := AsError(err); err != nil && e.Code == CodeReferenceNotFound {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if !v.Status.Open() {
		return nil, nil
	}
	status, errs := VerificationOutcome(c.ID, r)
	m := &VerificationMove{ID: v.ID, Status: status, Errors: errs, WasStatus: v.Status, ReviewAt: r.At, UpdatedAt: now}
	if status != v.Status {
		after := v
		after.Status, after.Errors, after.UpdatedAt, after.LastReviewAt = status, errs, now, r.At
		if m.Notice, err = s.VerificationNotices(after, now); err != nil {
			return nil, fmt.Errorf("kyc: build notice: %w", err)
		}
	}
	return m, nil
}

// VerificationOutcome is the verification status and errors of customer
// id's review r: pending → IN_PROGRESS, on hold → PENDING_MANUAL_REVIEW,
// approved → APPROVED, rejected for a fixable reason (RETRY) →
// RESOLVE_ERRORS, rejected for good → REJECTED; the errors come from the
// provider's reasons (r.Problems), or a generic one.
func VerificationOutcome(id string, r Review) (VerificationStatus, []VerificationError) {
	switch r.Status {
	case StatusApproved:
		return VerificationApproved, nil
	case StatusHold:
		return VerificationPendingManualReview, nil
	case StatusRejected:
		status, fallback := VerificationRejected, ErrApplicantRejected
		if r.RejectType == "RETRY" {
			status, fallback = VerificationResolveErrors, ErrDocumentVerificationFailed
		}
		problems := r.Problems
		if len(problems) == 0 {
			problems = []string{fallback}
		}
		errs := make([]VerificationError, 0, len(problems))
		for _, p := range problems {
			errs = append(errs, VerificationError{ResourceID: id, Type: p, AcceptedDocumentTypes: acceptedFor(p), Reason: problemReasons[p]})
		}
		return status, errs
	}
	return VerificationInProgress, nil
}

// acceptedFor lists the documents that answer a document problem.
func acceptedFor(problem string) []string {
	switch problem {
	case ErrMissingIdentityDoc, ErrPoorQualityDocument, ErrSuspectedFraudDocument, ErrExpiredDocument,
		ErrIncompleteDocument, ErrUnreadableDocument, ErrInvalidDocument, ErrWrongDocumentType:
		return slices.Clone(IdentityDocuments)
	case ErrMissingProofOfAddressDoc:
		return slices.Clone(ProofOfAddressDocuments)
	}
	return nil
}

// problemReasons are the reasons answered with each provider problem.
var problemReasons = map[string]string{
	ErrPoorQualityDocument:        "The document's image is of too low a quality to be read: upload a clearer one",
	ErrSuspectedFraudDocument:     "The document appears to be forged or edited",
	ErrExpiredDocument:            "The document has expired: upload a valid one",
	ErrInvalidDocument:            "The document is not acceptable: upload another",
	ErrWrongDocumentType:          "The file is not the type of document declared",
	ErrIncompleteDocument:         "The document is incomplete (a side or a page is missing)",
	ErrUnreadableDocument:         "The document cannot be read: upload it again",
	ErrDocumentVerificationFailed: "The documents could not be verified: check the data and documents and submit again",
	ErrMissingIdentityDoc:         "An additional identity document is required",
	ErrMissingProofOfAddressDoc:   "A valid proof of address is required",
	ErrApplicantSanctioned:        "The applicant matches a sanctions list",
	ErrApplicantFraud:             "The applicant was found to be fraudulent",
	ErrApplicantCriminalRecord:    "The applicant has a disqualifying criminal record",
	ErrApplicantRejected:          "The applicant was rejected by the review",
	ErrMissingBeneficialOwner:     "The business's beneficial owners are missing or could not be verified",
	ErrMissingControlPerson:       "The business's control person is missing or could not be verified",
}
