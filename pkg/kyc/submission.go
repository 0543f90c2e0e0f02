package kyc

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"
)

// ProviderSubmission is everything the provider needs to review a
// verification: the customer's data (its identifier and tax id opened),
// and the documents with their files. Personal data throughout: never
// logged.
type ProviderSubmission struct {
	Verification Verification
	Customer     Customer
	Identifier   Secret
	TaxID        Secret
	Documents    []ProviderDocument
	// Owners are a business's beneficial owners, each with its identifier
	// opened and its documents: each is reviewed as a person of its own,
	// linked to the business.
	Owners []ProviderOwner
}

// ProviderOwner is a beneficial owner as submitted.
type ProviderOwner struct {
	Owner      BeneficialOwner
	Identifier Secret
	Documents  []ProviderDocument
}

// ProviderDocument is a submitted document and its file.
type ProviderDocument struct {
	Document
	Content []byte
}

// ReviewSubmitter hands a complete verification to the provider and asks
// for its review. Every step must be safe to repeat: a submission is
// retried until it succeeds (at least once).
type ReviewSubmitter interface {
	SubmitForReview(ctx context.Context, s ProviderSubmission) error
}

// ProviderRefusal is a ReviewSubmitter's answer when the provider refuses
// the submission itself (a document it cannot use, documents it still
// needs): the verification goes back to RESOLVE_ERRORS with Problems.
type ProviderRefusal struct {
	Problems []VerificationError
}

func (r *ProviderRefusal) Error() string {
	types := make([]string, len(r.Problems))
	for i, p := range r.Problems {
		types[i] = p.Type
	}
	return fmt.Sprintf("kyc: the provider refused the submission: %v", types)
}

// Opener opens what a Sealer sealed for the same customer and platform.
type Opener interface {
	Unseal(ctx context.Context, ciphertext []byte, customerID, platformID string) ([]byte, error)
}

// SubmissionMarks records that a verification reached the provider, so a
// repeated submission job does nothing.
type SubmissionMarks interface {
	// MarkSubmitted notes v's submission at at (idempotent).
	MarkSubmitted(ctx context.Context, id string, at time.Time) error
	// Submitted reports whether MarkSubmitted was called for id.
	Submitted(ctx context.Context, id string) (bool, error)
}

// Submissions is the asynchronous half of POST /verifications: a job per
// complete verification (recorded with it) hands it to the provider. A
// job may run more than once and concurrently with itself; each step is
// safe to repeat, and a verification the provider already has, or that
// was decided meanwhile, is left alone.
type Submissions struct {
	Verifications VerificationReader
	Marks         SubmissionMarks
	Customers     HolderStore
	Documents     DocumentRecords
	Files         DocumentFiles
	Opener        Opener
	Provider      ReviewSubmitter
	// Reviews writes a refusal: the verification back to RESOLVE_ERRORS
	// and the customer's status back to UNVERIFIED, in one write.
	Reviews             ReviewStore
	VerificationNotices VerificationNoticeBuilder
	Now                 func() time.Time
}

// SubmitOutcome says what a submission job did.
type SubmitOutcome string

const (
	Submitted       SubmitOutcome = "submitted"        // the provider has it and reviews it
	SubmitRefused   SubmitOutcome = "refused"          // the provider refused it: RESOLVE_ERRORS
	SubmitNotNeeded SubmitOutcome = "nothing_to_do"    // submitted before, decided, or gone
	SubmitMoved     SubmitOutcome = "customer_changed" // the customer moved on (deleted, another verification)
)

// Submit runs verification id's job. An error is transient (the job is
// retried); a refusal by the provider is an outcome, not an error.
func (s *Submissions) Submit(ctx context.Context, id string) (SubmitOutcome, error) {
	v, err := s.Verifications.VerificationRecord(ctx, id)
	if e := AsError(err); err != nil && e.Code == CodeReferenceNotFound {
		return SubmitNotNeeded, nil
	}
	if err != nil {
		return "", err
	}
	if v.Status != VerificationInProgress {
		return SubmitNotNeeded, nil
	}
	done, err := s.Marks.Submitted(ctx, id)
	if err != nil || done {
		return SubmitNotNeeded, err
	}
	c, err := s.Customers.CustomerRecord(ctx, v.CustomerID)
	if e := AsError(err); err != nil && e.Code == CodeNotFound {
		return SubmitMoved, nil
	}
	if err != nil {
		return "", err
	}
	if c.IsDeleted || c.VerificationID != v.ID {
		return SubmitMoved, nil
	}
	var docs []Document
	for _, did := range v.Documents {
		d, err := s.Documents.DocumentRecord(ctx, did)
		if e := AsError(err); err != nil && e.Code == CodeReferenceNotFound {
			continue // cannot happen to a locked document; nothing to send
		}
		if err != nil {
			return "", err
		}
		docs = append(docs, d)
	}
	// The customer changed since the checks (a PATCH while under
	// review): what goes to the provider is checked again, as it is now.
	if c.Version != v.CustomerVersion {
		if errs := Requirements(c, docs, s.Now().UTC()); len(errs) > 0 {
			return SubmitRefused, s.refuse(ctx, v, &ProviderRefusal{Problems: errs})
		}
	}
	sub := ProviderSubmission{Verification: v, Customer: c}
	if sub.Identifier, err = s.open(ctx, c.IdentifierSealed, c); err != nil {
		return "", err
	}
	if sub.TaxID, err = s.open(ctx, c.TaxIDSealed, c); err != nil {
		return "", err
	}
	owners := map[string]int{}
	for _, o := range c.Owners {
		identifier, err := s.openFor(ctx, o.IdentifierSealed, o.ID, c.PlatformID)
		if err != nil {
			return "", err
		}
		owners[o.ID] = len(sub.Owners)
		sub.Owners = append(sub.Owners, ProviderOwner{Owner: o, Identifier: identifier})
	}
	for _, d := range docs {
		content, err := s.Files.ReadFile(ctx, d.FileKey)
		if err != nil {
			return "", err
		}
		pd := ProviderDocument{Document: d, Content: content}
		if i, ok := owners[d.Holder]; ok {
			sub.Owners[i].Documents = append(sub.Owners[i].Documents, pd)
		} else if d.Holder == c.ID {
			sub.Documents = append(sub.Documents, pd)
		}
	}
	err = s.Provider.SubmitForReview(ctx, sub)
	var refusal *ProviderRefusal
	if errors.As(err, &refusal) {
		return SubmitRefused, s.refuse(ctx, v, refusal)
	}
	if err != nil {
		return "", err
	}
	return Submitted, s.Marks.MarkSubmitted(ctx, id, s.Now().UTC())
}

func (s *Submissions) open(ctx context.Context, sealed []byte, c Customer) (Secret, error) {
	return s.openFor(ctx, sealed, c.ID, c.PlatformID)
}

// openFor opens what was sealed for id (a customer, or an owner) of
// platformID.
func (s *Submissions) openFor(ctx context.Context, sealed []byte, id, platformID string) (Secret, error) {
	if len(sealed) == 0 {
		return "", nil
	}
	b, err := s.Opener.Unseal(ctx, sealed, id, platformID)
	if err != nil {
		return "", err
	}
	return Secret(b), nil
}

// refuse sends v back to RESOLVE_ERRORS with the problems and its
// customer back to UNVERIFIED (nothing is under review), in one write with
// the verification's webhook. A review landing meanwhile (even a pending
// one) makes it read again; once the verification is no longer open (a
// decision arrived first) the decision stands.
func (s *Submissions) refuse(ctx context.Context, v Verification, r *ProviderRefusal) error {
	errs := slices.Clone(r.Problems)
	for i := range errs {
		if errs[i].ResourceID == "" {
			errs[i].ResourceID = v.CustomerID
		}
	}
	for range maxAttempts {
		cur, err := s.Verifications.VerificationRecord(ctx, v.ID)
		if err != nil {
			return err
		}
		if !cur.Status.Open() {
			return nil
		}
		c, err := s.Customers.CustomerRecord(ctx, v.CustomerID)
		if err != nil {
			return err
		}
		if c.IsDeleted {
			return nil // nothing to send back to: its documents go with it
		}
		now := s.Now().UTC().Truncate(time.Millisecond)
		after := cur
		after.Status, after.Errors, after.UpdatedAt = VerificationResolveErrors, errs, now
		notice, err := s.VerificationNotices(after, now)
		if err != nil {
			return fmt.Errorf("kyc: build notice: %w", err)
		}
		status := StatusUnverified
		if c.StatusOf() != StatusPending && c.StatusOf() != StatusHold {
			status = c.StatusOf() // a decision of the customer's own stands
		}
		ch := Change{CustomerID: c.ID, Type: c.Type, Status: status, ReviewAt: c.LastReviewAt, UpdatedAt: now,
			RejectType: c.RejectType, RejectLabels: c.RejectLabels, WasStatus: c.StatusOf(), WasReviewAt: c.LastReviewAt,
			Verification: &VerificationMove{ID: v.ID, Status: VerificationResolveErrors, Errors: errs, WasStatus: cur.Status,
				ReviewAt: cur.LastReviewAt, UpdatedAt: now, Notice: notice}}
		// Owners the submission made PENDING are no longer under review.
		for _, o := range c.Owners {
			if o.StatusOf() == StatusPending {
				ch.Owners = append(ch.Owners, OwnerMove{ID: o.ID, Status: StatusUnverified, ReviewAt: o.LastReviewAt,
					WasStatus: StatusPending, WasReviewAt: o.LastReviewAt})
			}
		}
		err = s.Reviews.ApplyChange(ctx, ch, nil)
		if errors.Is(err, ErrChanged) {
			continue
		}
		return err
	}
	return fmt.Errorf("kyc: verification %s kept changing while its refusal was written", v.ID)
}

// Purged is the outcome of a purge job.
const Purged SubmitOutcome = "purged"

// Purge is the job of a customer gone for good (its record purged, 30
// days after its deletion): every document it held, files and records,
// goes too (Documents.Purge). Safe to repeat. A customer still there (a
// message sent by hand in error, a bug upstream) keeps everything: the
// job does nothing.
//
// ownerIDs are the customer's beneficial owners as last stored (a
// business's): their documents go too.
func (s *Submissions) Purge(ctx context.Context, platformID, customerID string, ownerIDs []string) (SubmitOutcome, error) {
	if CheckCustomerID(customerID) != nil {
		return SubmitNotNeeded, nil
	}
	c, err := s.Customers.CustomerRecord(ctx, customerID)
	switch e := AsError(err); {
	case err == nil && (c.PlatformID != platformID || !c.IsDeleted || s.Now().Before(c.ExpiresAt)):
		return SubmitNotNeeded, nil // not this platform's, or not gone
	case err != nil && e.Code != CodeNotFound:
		return "", err
	}
	p, ok := s.Documents.(DocumentPurger)
	if !ok {
		return "", Internal(fmt.Errorf("kyc: the documents store %T cannot purge", s.Documents))
	}
	d := &Documents{Store: s.Documents, Files: s.Files}
	for _, holder := range append([]string{customerID}, ownerIDs...) {
		if holder != customerID && !CheckOwnerID(holder) {
			continue
		}
		if _, err := d.Purge(ctx, p, platformID, holder); err != nil {
			return "", err
		}
	}
	return Purged, nil
}
