package kyc

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Verifications is the platform API's verification use case: Grid's
// /verifications routes. A submission is checked here, synchronously;
// a complete one is written with its customer's new status, its locked
// documents and its webhooks in one write, and the provider is asked
// later, at least once, from what that write recorded.
type Verifications struct {
	Store     VerificationRecords
	Customers HolderStore
	Documents DocumentRecords
	// CustomerNotices builds the CUSTOMER.* webhook of a status change;
	// VerificationNotices the VERIFICATION.* one of a verification.
	CustomerNotices     NoticeBuilder
	VerificationNotices VerificationNoticeBuilder
	CursorKey           func(ctx context.Context) ([]byte, error)
	Now                 func() time.Time
	NewID               func() (uuid.UUID, error)
}

// VerificationNoticeBuilder turns a verification into its VERIFICATION.*
// webhook.
type VerificationNoticeBuilder func(v Verification, at time.Time) (*Notice, error)

// details.reason of POST /verifications' refusals.
const (
	// ReasonVerificationInProgress (409): the provider is reviewing the
	// customer already.
	ReasonVerificationInProgress = "VERIFICATION_IN_PROGRESS"
	// ReasonCustomerApproved and ReasonCustomerRejected (400): the
	// customer is decided; there is nothing to verify.
	ReasonCustomerApproved = "CUSTOMER_APPROVED"
	ReasonCustomerRejected = "CUSTOMER_REJECTED"
)

func (s *Verifications) now() time.Time { return s.Now().UTC().Truncate(time.Millisecond) }

// Submit checks platformID's customer for review and records a new
// verification: RESOLVE_ERRORS with every problem found, or IN_PROGRESS
// (the customer PENDING, its documents locked). intent (an idempotent
// request's UUID) names the verification, so a retry whose first attempt
// landed answers it.
func (s *Verifications) Submit(ctx context.Context, platformID, customerID, intent string) (VerificationView, error) {
	if err := CheckCustomerID(customerID); err != nil {
		return VerificationView{}, err
	}
	id := intent
	if id == "" {
		u, err := s.newID()
		if err != nil {
			return VerificationView{}, Internal(fmt.Errorf("kyc: new verification id: %w", err))
		}
		id = u.String()
	}
	id = VerificationIDPrefix + id
	for attempt := range maxAttempts {
		// A retry of a keyed request looks for what its first attempt
		// wrote, beside the reads (whatever the customer is now).
		w, err := s.decide(ctx, platformID, customerID, id, intent != "" && attempt == 0)
		if err == nil {
			err = s.Store.WriteVerification(ctx, w)
		}
		switch {
		case errors.Is(err, ErrChanged):
			continue // the customer or a document moved: check again
		case errors.Is(err, ErrVerificationExists):
			// An earlier attempt of this request wrote it (its answer was
			// lost): answer what it wrote.
			prev, rerr := s.Store.VerificationRecord(ctx, id)
			if rerr != nil {
				return VerificationView{}, rerr
			}
			if prev.PlatformID != platformID {
				return VerificationView{}, Internal(fmt.Errorf("kyc: verification %s exists for another platform", id))
			}
			return prev.View(), nil
		case err != nil:
			return VerificationView{}, err
		}
		return w.Verification.View(), nil
	}
	return VerificationView{}, concurrentModification()
}

func (s *Verifications) newID() (uuid.UUID, error) {
	if s.NewID != nil {
		return s.NewID()
	}
	return uuid.NewV7()
}

// decide reads the customer and its documents side by side and makes the
// verification id's write; with landed, it also reads verification id
// and answers ErrVerificationExists when an earlier attempt wrote it.
func (s *Verifications) decide(ctx context.Context, platformID, customerID, id string, landed bool) (VerificationWrite, error) {
	var docs []Document
	listed := background(ctx, func(ctx context.Context) error {
		var err error
		docs, _, err = s.Documents.DocumentRange(ctx, DocumentRange{PlatformID: platformID, Holder: customerID, Limit: MaxDocumentsPerHolder})
		return err
	})
	var prev Verification
	earlier := background(ctx, func(ctx context.Context) error {
		if !landed {
			return VerificationNotFound()
		}
		var err error
		prev, err = s.Store.VerificationRecord(ctx, id)
		return err
	})
	c, err := s.Customers.CustomerRecord(ctx, customerID)
	derr, perr := <-listed, <-earlier
	if perr == nil && prev.PlatformID == platformID {
		return VerificationWrite{}, ErrVerificationExists
	}
	if e := AsError(perr); perr != nil && e.Code != CodeReferenceNotFound {
		return VerificationWrite{}, perr
	}
	if e := AsError(err); err != nil && e.Code == CodeNotFound {
		return VerificationWrite{}, CustomerNotFound()
	}
	if err != nil {
		return VerificationWrite{}, err
	}
	if c.PlatformID != platformID || c.IsDeleted {
		return VerificationWrite{}, CustomerNotFound()
	}
	if derr != nil {
		return VerificationWrite{}, derr
	}
	docs = slices.DeleteFunc(docs, func(d Document) bool { return d.PlatformID != platformID || d.Holder != customerID })
	if c.Type == Business && len(c.Owners) > 0 {
		owned, err := s.ownersDocuments(ctx, platformID, c)
		if err != nil {
			return VerificationWrite{}, err
		}
		docs = append(docs, owned...)
	}
	switch st := c.StatusOf(); {
	case st == StatusApproved && !c.ownerToVerify():
		e := Errorf(CodeInvalid, "The customer is APPROVED already; there is nothing to verify.")
		e.Details = map[string]any{"field": "customerId", "reason": ReasonCustomerApproved}
		return VerificationWrite{}, e
	case st == StatusRejected && c.RejectType != "RETRY":
		e := Errorf(CodeInvalid, "The customer was REJECTED with a final decision; it cannot be submitted again.")
		e.Details = map[string]any{"field": "customerId", "reason": ReasonCustomerRejected}
		return VerificationWrite{}, e
	case (st == StatusPending || st == StatusHold) && c.VerificationID == id:
		return VerificationWrite{}, ErrVerificationExists
	case st == StatusPending || st == StatusHold:
		return VerificationWrite{}, Conflict(ReasonVerificationInProgress,
			"The customer is being reviewed already (kycStatus/kybStatus "+string(st)+"); wait for the decision (a VERIFICATION.* or CUSTOMER.* webhook).")
	}
	if err := contactRequired(c); err != nil {
		return VerificationWrite{}, err
	}
	now := s.now()
	v := Verification{ID: id, PlatformID: platformID, CustomerID: customerID, CreatedAt: now, UpdatedAt: now, CustomerVersion: c.Version}
	w := VerificationWrite{}
	// Documents an earlier submission locked can no longer change: they
	// go to the provider again but need no lock of their own, so only the
	// others count against one write's bound (and can be deleted).
	var unlocked []Document
	for _, d := range docs {
		if d.SubmittedIn == "" {
			unlocked = append(unlocked, d)
		}
	}
	if len(unlocked) > MaxSubmittedDocuments {
		// A range read may not say which are locked (DynamoDB's holder
		// items do not carry the lock): the customer's earlier complete
		// verifications do, each listing the documents it locked.
		if unlocked, err = s.notSubmitted(ctx, platformID, customerID, unlocked); err != nil {
			return VerificationWrite{}, err
		}
	}
	if len(unlocked) > MaxSubmittedDocuments {
		return VerificationWrite{}, InvalidField("customerId", "The customer and its beneficial owners hold %d documents not yet submitted; one verification submits at most %d new ones. Delete the documents the review does not need.", len(unlocked), MaxSubmittedDocuments)
	}
	if errs := Requirements(c, docs, now); len(errs) > 0 {
		v.Status, v.Errors = VerificationResolveErrors, errs
	} else {
		v.Status = VerificationInProgress
		// Every document goes to the provider, held at the version
		// read; those an earlier submission locked stay its.
		for _, d := range docs {
			v.Documents = append(v.Documents, d.ID)
		}
		w.Submission = &Submission{Customer: c, Status: StatusPending, UpdatedAt: now, Documents: unlocked}
		after := c
		after.SetStatus(StatusPending)
		after.UpdatedAt, after.VerificationID = now, id
		// The webhook shows the owners as the write leaves them.
		after.Owners = CloneOwners(c.Owners)
		for i := range after.Owners {
			after.Owners[i] = SubmittedOwner(after.Owners[i])
		}
		n, err := s.CustomerNotices(after, StatusPending, now)
		if err != nil {
			return VerificationWrite{}, fmt.Errorf("kyc: build notice: %w", err)
		}
		if n != nil {
			w.Notices = append(w.Notices, *n)
		}
	}
	n, err := s.VerificationNotices(v, now)
	if err != nil {
		return VerificationWrite{}, fmt.Errorf("kyc: build notice: %w", err)
	}
	if n != nil {
		// The verification's webhook goes first: a platform learns the
		// verification before the status it explains.
		w.Notices = append([]Notice{*n}, w.Notices...)
	}
	w.Verification = v
	return w, nil
}

// notSubmitted is docs without those an earlier verification of the
// customer submitted (and so locked). Its verifications are read in pages
// (an index read may miss the very latest: then its documents count, which
// errs on the side of the bound).
func (s *Verifications) notSubmitted(ctx context.Context, platformID, customerID string, docs []Document) ([]Document, error) {
	submitted := map[string]bool{}
	q := VerificationRange{PlatformID: platformID, CustomerID: customerID, Limit: MaxListLimit}
	for {
		vs, more, err := s.Store.VerificationRange(ctx, q)
		if err != nil {
			return nil, err
		}
		for _, v := range vs {
			if v.CustomerID == customerID && v.PlatformID == platformID {
				for _, id := range v.Documents {
					submitted[id] = true
				}
			}
			q.After = v.ListPosition()
		}
		if !more || len(vs) == 0 {
			break
		}
	}
	return slices.DeleteFunc(docs, func(d Document) bool { return submitted[d.ID] }), nil
}

// ownersDocuments reads the documents of c's owners, side by side.
func (s *Verifications) ownersDocuments(ctx context.Context, platformID string, c Customer) ([]Document, error) {
	results := make([][]Document, len(c.Owners))
	waits := make([]<-chan error, len(c.Owners))
	for i, o := range c.Owners {
		waits[i] = background(ctx, func(ctx context.Context) error {
			var err error
			results[i], _, err = s.Documents.DocumentRange(ctx, DocumentRange{PlatformID: platformID, Holder: o.ID, Limit: MaxDocumentsPerHolder})
			return err
		})
	}
	var errs []error
	for _, w := range waits {
		errs = append(errs, <-w)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	var out []Document
	for i, o := range c.Owners {
		out = append(out, slices.DeleteFunc(results[i], func(d Document) bool { return d.PlatformID != platformID || d.Holder != o.ID })...)
	}
	return out, nil
}

// Get returns platformID's verification id.
func (s *Verifications) Get(ctx context.Context, platformID, id string) (VerificationView, error) {
	if !strings.HasPrefix(id, VerificationIDPrefix) || CheckCustomerID(id) != nil {
		return VerificationView{}, VerificationNotFound()
	}
	v, err := s.Store.VerificationRecord(ctx, id)
	if err != nil {
		return VerificationView{}, err
	}
	if v.PlatformID != platformID {
		return VerificationView{}, VerificationNotFound()
	}
	return v.View(), nil
}

// VerificationListQuery is GET /verifications' query.
type VerificationListQuery struct {
	CustomerID string
	Status     VerificationStatus
	Limit      int
	Cursor     string
}

// VerificationList is Grid's VerificationListResponse (no totalCount).
type VerificationList struct {
	Data       []VerificationView `json:"data"`
	HasMore    bool               `json:"hasMore"`
	NextCursor string             `json:"nextCursor,omitempty"`
}

// ParseVerificationListQuery reads GET /verifications' parameters.
func ParseVerificationListQuery(params map[string][]string) (VerificationListQuery, error) {
	var q VerificationListQuery
	err := parseQuery(params, []string{"customerId", "verificationStatus", "limit", "cursor"}, func(errs *fieldErrors, name, v string) {
		switch name {
		case "customerId":
			if CheckCustomerID(v) != nil {
				errs.add(name, "customerId must be a customer id (Customer:…).")
			}
			q.CustomerID = v
		case "verificationStatus":
			if !slices.Contains(verificationStatuses, v) {
				errs.addc(name, &FieldConstraint{Enum: verificationStatuses}, "verificationStatus must be one of %s.", strings.Join(verificationStatuses, ", "))
			}
			q.Status = VerificationStatus(v)
		case "limit":
			q.Limit = parseLimit(errs, v)
		case "cursor":
			q.Cursor = parseCursorParam(errs, v)
		}
	})
	return q, err
}

// List returns a page of platformID's verifications (of one customer when
// set, of one status when set), oldest first.
func (s *Verifications) List(ctx context.Context, platformID string, q VerificationListQuery) (VerificationList, error) {
	const domain = "kyc-link verifications cursor v1"
	filters := q.CustomerID + "\x00" + string(q.Status)
	limit, key, after, err := startPage(ctx, s.CursorKey, q.Limit, domain, platformID, filters, q.Cursor)
	if err != nil {
		return VerificationList{}, err
	}
	rq := VerificationRange{PlatformID: platformID, CustomerID: q.CustomerID, After: after, Limit: limit + 1}
	if q.Status != "" {
		rq.Limit = max(rq.Limit, listPage) // the filter drops records
	}
	out := VerificationList{Data: []VerificationView{}}
	var positions []string
	lastRead := ""
	for range listReads {
		vs, more, err := s.Store.VerificationRange(ctx, rq)
		if err != nil {
			return VerificationList{}, err
		}
		for _, v := range vs {
			lastRead = v.ListPosition()
			if v.PlatformID != platformID || q.CustomerID != "" && v.CustomerID != q.CustomerID ||
				q.Status != "" && v.Status != q.Status {
				continue
			}
			if len(out.Data) == limit {
				out.HasMore = true
				out.NextCursor = sealCursorIn(domain, key, platformID, filters, positions[limit-1])
				return out, nil
			}
			out.Data, positions = append(out.Data, v.View()), append(positions, lastRead)
		}
		if !more || len(vs) == 0 {
			return out, nil
		}
		rq.After = lastRead
	}
	out.HasMore = true
	out.NextCursor = sealCursorIn(domain, key, platformID, filters, lastRead)
	return out, nil
}

// ParseVerificationRequest reads POST /verifications' body
// ({"customerId": …}) and returns the customer id.
func ParseVerificationRequest(body []byte) (string, error) {
	var in struct {
		CustomerID *string `json:"customerId"`
	}
	if err := decodeStrict(body, &in, nil); err != nil {
		return "", err
	}
	if in.CustomerID == nil {
		return "", InvalidField("customerId", "customerId is required: the id of the customer to verify.")
	}
	return *in.CustomerID, CheckCustomerID(*in.CustomerID)
}
