package kyc

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"reflect"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
)

// DefaultUmaDomain is the domain of generated UMA addresses when none is
// configured (UMA_DOMAIN): a reserved name that routes nowhere.
const DefaultUmaDomain = "kyc-link.invalid"

// DefaultDeletedRetention is how long a deleted customer is kept (so a
// platform can still read it and list it with isIncludingDeleted) before
// the store may forget it.
const DefaultDeletedRetention = 30 * 24 * time.Hour

// Customers is the platform API's customer use case: create, read, list,
// update and delete a platform's customers, as Grid's /customers routes
// do. It knows nothing of HTTP or of the store behind CustomerRecords.
type Customers struct {
	Store  CustomerRecords
	Sealer Sealer
	// CursorKey returns the key list cursors are signed with (at least 16
	// bytes; the same in every instance, or cursors break across them).
	CursorKey func(ctx context.Context) ([]byte, error)
	// UmaDomain is the domain of generated UMA addresses
	// (DefaultUmaDomain when empty).
	UmaDomain string
	// DeletedRetention is how long a deleted customer is kept
	// (DefaultDeletedRetention when zero).
	DeletedRetention time.Duration
	Now              func() time.Time
	// NewID returns a new UUID (uuid.NewV7 when nil); tests pin it.
	NewID func() (uuid.UUID, error)
	// Contact says which new customers must verify their contact details
	// (contactVerification) before identity verification.
	Contact ContactRules
}

// CustomerIDPrefix starts every customer id.
const CustomerIDPrefix = "Customer:"

// maxAttempts bounds the re-reads of an update that lost a race, and the
// fresh platformCustomerIds tried when a generated one is taken.
const maxAttempts = 5

func (s *Customers) now() time.Time {
	// Milliseconds: what the store keeps.
	return s.Now().UTC().Truncate(time.Millisecond)
}

func (s *Customers) newID() (uuid.UUID, error) {
	if s.NewID != nil {
		return s.NewID()
	}
	return uuid.NewV7()
}

func (s *Customers) umaDomain() string {
	if s.UmaDomain != "" {
		return s.UmaDomain
	}
	return DefaultUmaDomain
}

// GeneratedUmaAddress is the UMA address of a customer created without
// one: $<the UUID of its id>@<domain>, e.g.
// $019542f5-b3e7-1d02-0000-000000000001@kyc-link.invalid (unique, as ids
// are). A customer written before the platform API (no umaAddress kept) is
// answered with this address, too.
func GeneratedUmaAddress(id, domain string) string {
	u := strings.ToLower(strings.TrimPrefix(id, CustomerIDPrefix))
	u = strings.Map(func(r rune) rune {
		if 'a' <= r && r <= 'z' || '0' <= r && r <= '9' || strings.ContainsRune("._+-", r) {
			return r
		}
		return '-'
	}, u)
	if len(u) > 63 {
		u = u[:63]
	}
	return "$" + u + "@" + domain
}

// newPlatformCustomerID is Grid's form of a generated platformCustomerId:
// 15 lower-case hex digits (60 random bits), e.g. 9f84e0c2a72c4fa.
func newPlatformCustomerID() (string, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return hex.EncodeToString(b[:])[:15], nil
}

// Create makes a new customer of platformID from in: id Customer:<UUIDv7>,
// status UNVERIFIED, the identifier and tax id sealed. A platformCustomerId
// the platform's active customers already use is 409 CONFLICT
// (ReasonPlatformCustomerIDExists), decided by the store atomically.
//
// intent, when not empty, is the UUID of an idempotent request (the same
// for every attempt of one Idempotency-Key and body): the customer is
// Customer:<intent>, and when it exists already (an earlier attempt
// created it and its answer was lost) Create answers it as it is, so a
// retry never makes a second customer.
func (s *Customers) Create(ctx context.Context, platformID string, in CustomerInput, intent string) (CustomerView, error) {
	return s.startCreate(ctx, platformID, in, intent).Create(ctx, intent)
}

// PendingCreate is a create whose seals have started (StartCreate): KMS
// runs while the caller does something else, the idempotency acquire.
type PendingCreate struct {
	s          *Customers
	platformID string
	in         CustomerInput
	now        time.Time
	id         uuid.UUID // the customer's, unless Create is given another intent
	err        error     // the input's or the id's: Create answers it
	identifier *pendingSeal
	taxID      *pendingSeal
}

// StartCreate checks in and, when it is valid, draws the new customer's
// id and starts sealing its identifier and tax id for that id, so that
// KMS's round trip runs beside what the caller does next (the
// idempotency acquire, with Intent as the intent of a fresh record). The
// seals run under ctx; one Create does not use ends with it. Create makes
// the customer and answers what Customers.Create would, refusals included.
func (s *Customers) StartCreate(ctx context.Context, platformID string, in CustomerInput) *PendingCreate {
	return s.startCreate(ctx, platformID, in, "")
}

func (s *Customers) startCreate(ctx context.Context, platformID string, in CustomerInput, intent string) *PendingCreate {
	p := &PendingCreate{s: s, platformID: platformID, in: in, now: s.now()}
	if p.err = in.checkCreate(p.now); p.err != nil {
		return p
	}
	var err error
	if intent != "" {
		p.id, err = uuid.Parse(intent)
	} else {
		p.id, err = s.newID()
	}
	if err != nil {
		p.err = Internal(fmt.Errorf("kyc: new customer id: %w", err))
		return p
	}
	id := CustomerIDPrefix + p.id.String()
	if in.Identifier != nil {
		p.identifier = s.startSeal(ctx, *in.Identifier, id, platformID)
	}
	if in.BusinessInfo != nil && in.BusinessInfo.TaxID != nil {
		p.taxID = s.startSeal(ctx, *in.BusinessInfo.TaxID, id, platformID)
	}
	return p
}

// Intent is the UUID the new customer is named after, for a fresh
// idempotency record ("" when the input was refused: the guard draws one).
func (p *PendingCreate) Intent() string {
	if p.err != nil {
		return ""
	}
	return p.id.String()
}

// Create makes the customer (see Customers.Create), named after intent
// when it is not empty (an idempotency record's), else after Intent. The
// seals started are used only where they were made for the very customer
// it names (and the values it stores); under another intent (a record
// taken over keeps its first attempt's) it seals again.
func (p *PendingCreate) Create(ctx context.Context, intent string) (CustomerView, error) {
	s, in, now := p.s, p.in, p.now
	if p.err != nil {
		return CustomerView{}, p.err
	}
	u := p.id
	if intent != "" {
		var err error
		if u, err = uuid.Parse(intent); err != nil {
			return CustomerView{}, Internal(fmt.Errorf("kyc: new customer id: %w", err))
		}
	}
	r := Customer{
		ID: CustomerIDPrefix + u.String(), PlatformID: p.platformID, Type: *in.CustomerType,
		Email: deref(in.Email), PhoneNumber: deref(in.PhoneNumber), Region: deref(in.Region),
		FullName: deref(in.FullName), BirthDate: deref(in.BirthDate), Nationality: deref(in.Nationality),
		IDType: deref(in.IDType), CreatedAt: now, UpdatedAt: now, Version: 1,
	}
	r.ContactVerification = s.Contact.Required(r.Region)
	if r.Type == Business {
		r.KYBStatus = StatusUnverified
	} else {
		r.KYCStatus = StatusUnverified
	}
	setSlice(&r.Currencies, in.Currencies)
	if in.Address != nil {
		a := *in.Address
		r.Address = &a
	}
	r.UmaAddress = GeneratedUmaAddress(r.ID, s.umaDomain())
	set(&r.UmaAddress, in.UmaAddress)
	if in.BusinessInfo != nil {
		var b BusinessInfo
		in.BusinessInfo.mergeInto(&b)
		r.BusinessInfo = &b
	}
	var err error
	if in.Identifier != nil {
		if r.IdentifierSealed, err = s.sealed(ctx, p.identifier, *in.Identifier, r); err != nil {
			return CustomerView{}, err
		}
	}
	if in.BusinessInfo != nil && in.BusinessInfo.TaxID != nil {
		if r.TaxIDSealed, err = s.sealed(ctx, p.taxID, *in.BusinessInfo.TaxID, r); err != nil {
			return CustomerView{}, err
		}
	}
	platformID := p.platformID
	generated := in.PlatformCustomerID == nil
	for range maxAttempts {
		if generated {
			if r.PlatformCustomerID, err = newPlatformCustomerID(); err != nil {
				return CustomerView{}, Internal(fmt.Errorf("kyc: new platformCustomerId: %w", err))
			}
		} else {
			r.PlatformCustomerID = *in.PlatformCustomerID
		}
		err = s.Store.InsertCustomer(ctx, r)
		if errors.Is(err, ErrCustomerExists) && intent != "" {
			return s.created(ctx, platformID, r.ID)
		}
		if errors.Is(err, ErrPlatformCustomerIDTaken) && generated {
			continue // 60 random bits met another: draw again
		}
		if errors.Is(err, ErrPlatformCustomerIDTaken) {
			e := Conflict(ReasonPlatformCustomerIDExists, "The platform already has a customer with this platformCustomerId.")
			e.Details["field"] = "platformCustomerId"
			return CustomerView{}, e
		}
		if err != nil {
			return CustomerView{}, err
		}
		return s.View(r), nil
	}
	return CustomerView{}, Internal(fmt.Errorf("kyc: %d generated platformCustomerIds were all taken", maxAttempts))
}

// created is the customer an earlier attempt of an idempotent create
// made, as it is now.
func (s *Customers) created(ctx context.Context, platformID, id string) (CustomerView, error) {
	r, err := s.Store.CustomerRecord(ctx, id)
	if err != nil {
		return CustomerView{}, err
	}
	if r.PlatformID != platformID {
		// An intent is drawn per platform's key; another platform's
		// customer under it is a bug, never an answer.
		return CustomerView{}, Internal(fmt.Errorf("kyc: intent %s names another platform's customer", id))
	}
	return s.View(r), nil
}

func (s *Customers) seal(ctx context.Context, v Secret, r Customer) ([]byte, error) {
	return s.sealFor(ctx, v.Reveal(), r.ID, r.PlatformID)
}

func (s *Customers) sealFor(ctx context.Context, plaintext, customerID, platformID string) ([]byte, error) {
	ct, err := s.Sealer.Seal(ctx, []byte(plaintext), customerID, platformID)
	if err != nil {
		return nil, err // the Sealer's *Error: 503 for an outage, 500 for our misconfiguration
	}
	if len(ct) == 0 {
		return nil, Internal(errors.New("kyc: the sealer returned no ciphertext"))
	}
	return ct, nil
}

// pendingSeal is a seal started before it is needed, so that KMS's round
// trip runs beside another (the idempotency acquire, the customer read).
// It is bound to what it sealed: the plaintext, and the customer and
// platform of the encryption context. sealed hands it out only for
// exactly those, so a ciphertext is never stored for another customer
// (or another value) than it was sealed for; one not used is dropped
// (ciphertext nobody keeps, which only its customer's context opens).
type pendingSeal struct {
	plaintext, customerID, platformID string
	done                              chan struct{}
	cancel                            context.CancelFunc
	ct                                []byte
	err                               error
}

// startSeal seals v for customerID of platformID, under ctx, in the
// background.
func (s *Customers) startSeal(ctx context.Context, v Secret, customerID, platformID string) *pendingSeal {
	ctx, cancel := context.WithCancel(ctx)
	p := &pendingSeal{plaintext: v.Reveal(), customerID: customerID, platformID: platformID, done: make(chan struct{}), cancel: cancel}
	go func() {
		defer close(p.done)
		defer cancel()
		// A panic fails the request (500), as on its own goroutine, not
		// the process.
		defer func() {
			if v := recover(); v != nil {
				p.ct, p.err = nil, Internal(fmt.Errorf("panic sealing: %v\n%s", v, debug.Stack()))
			}
		}()
		p.ct, p.err = s.sealFor(ctx, p.plaintext, customerID, platformID)
	}()
	return p
}

// sealed is the ciphertext of v for r: p's when p sealed exactly v for
// r's customer and platform, else a seal made now. Waiting for p ends when
// ctx does: p is cancelled and answers the sealer's own error, as a seal
// made under ctx would.
func (s *Customers) sealed(ctx context.Context, p *pendingSeal, v Secret, r Customer) ([]byte, error) {
	if p == nil || p.plaintext != v.Reveal() || p.customerID != r.ID || p.platformID != r.PlatformID {
		return s.seal(ctx, v, r)
	}
	stop := context.AfterFunc(ctx, p.cancel)
	defer stop()
	<-p.done
	return p.ct, p.err
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// record reads platformID's customer id: a bad id is an input error;
// missing and another platform's customer are one and the same
// CustomerNotFound. A deleted customer is returned (isDeleted).
func (s *Customers) record(ctx context.Context, platformID, id string) (Customer, error) {
	if err := CheckCustomerID(id); err != nil {
		return Customer{}, err
	}
	r, err := s.Store.CustomerRecord(ctx, id)
	if err != nil {
		return Customer{}, err
	}
	if r.PlatformID != platformID {
		return Customer{}, CustomerNotFound()
	}
	return r, nil
}

// Get returns platformID's customer id in Grid's shape, deleted ones
// included (isDeleted: true).
func (s *Customers) Get(ctx context.Context, platformID, id string) (CustomerView, error) {
	r, err := s.record(ctx, platformID, id)
	if err != nil {
		return CustomerView{}, err
	}
	return s.View(r), nil
}

// Update applies in (Grid's update fields) to platformID's customer id.
// The write is conditional on the version read; when another write landed
// first, Update reads again and applies in again (at most maxAttempts
// times), so concurrent updates of different fields all survive. A
// request that changes nothing writes nothing (updatedAt stays).
func (s *Customers) Update(ctx context.Context, platformID, id string, in CustomerInput) (CustomerView, error) {
	if err := CheckCustomerID(id); err != nil {
		return CustomerView{}, err
	}
	if err := in.checkPatch(s.now()); err != nil {
		return CustomerView{}, err
	}
	// A seal needs only the customer's id and platform, both known now:
	// it runs beside the read. It is used for the customer read and the
	// value checkAgainst keeps, else sealed seals again.
	var pendingIdentifier, pendingTaxID *pendingSeal
	if in.Identifier != nil {
		pendingIdentifier = s.startSeal(ctx, identifierToKeep(in), id, platformID)
	}
	if in.BusinessInfo != nil && in.BusinessInfo.TaxID != nil {
		pendingTaxID = s.startSeal(ctx, *in.BusinessInfo.TaxID, id, platformID)
	}
	var identifier, taxID []byte // sealed once, on the first read
	sealed := false
	return s.change(ctx, platformID, id, func(prev Customer, now time.Time) (Customer, bool, error) {
		if err := in.checkAgainst(prev); err != nil {
			return prev, false, err
		}
		if !sealed {
			var err error
			if in.Identifier != nil {
				if identifier, err = s.sealed(ctx, pendingIdentifier, *in.Identifier, prev); err != nil {
					return prev, false, err
				}
			}
			if in.BusinessInfo != nil && in.BusinessInfo.TaxID != nil {
				if taxID, err = s.sealed(ctx, pendingTaxID, *in.BusinessInfo.TaxID, prev); err != nil {
					return prev, false, err
				}
			}
			sealed = true
		}
		next := in.applyPatch(prev, identifier, taxID)
		next.ContactVerification = reverify(prev, next)
		return next, !sameData(prev, next), nil
	})
}

// identifierToKeep is in's identifier as checkAgainst will keep it, to
// seal before the customer is read: sent with idType, checkPatch has
// normalized it; without, checkAgainst normalizes it against the idType
// kept, and SSN and ITIN are both kept as ###-##-####.
func identifierToKeep(in CustomerInput) Secret {
	v := in.Identifier.Reveal()
	if in.IDType != nil {
		return Secret(v)
	}
	for _, t := range individualIDTypes {
		if n, ok := normalizeIdentifier(t, v); ok {
			return Secret(n)
		}
	}
	return Secret(v)
}

// Delete soft-deletes platformID's customer id (Grid's DELETE): the
// customer stays readable with isDeleted: true for DeletedRetention, its
// platformCustomerId is free for a new customer at once, and the link
// route and the reviews treat it as unknown. An already deleted customer
// is CUSTOMER_DELETED (410).
func (s *Customers) Delete(ctx context.Context, platformID, id string) (CustomerView, error) {
	return s.change(ctx, platformID, id, func(prev Customer, now time.Time) (Customer, bool, error) {
		retention := s.DeletedRetention
		if retention == 0 {
			retention = DefaultDeletedRetention
		}
		next := prev
		next.IsDeleted, next.DeletedAt, next.ExpiresAt = true, now, now.Add(retention)
		return next, true, nil
	})
}

// change is the one optimistic write of Update and Delete: read
// platformID's customer id (a deleted one is CUSTOMER_DELETED), let apply
// compute the next record at now (changed false: nothing to write), write it
// conditioned on the version read with updatedAt and version moved, and,
// when another write landed first, read and apply again, at most
// maxAttempts times (then CONCURRENT_MODIFICATION).
func (s *Customers) change(ctx context.Context, platformID, id string, apply func(prev Customer, now time.Time) (next Customer, changed bool, err error)) (CustomerView, error) {
	return s.changeFrom(ctx, platformID, id, nil, apply)
}

// changeFrom is change whose first attempt starts from first, the
// customer as the caller just read it (nil: read it), saving a round
// trip; a lost race reads again.
func (s *Customers) changeFrom(ctx context.Context, platformID, id string, first *Customer, apply func(prev Customer, now time.Time) (next Customer, changed bool, err error)) (CustomerView, error) {
	for range maxAttempts {
		var prev Customer
		var err error
		if first != nil {
			prev, first = *first, nil
		} else if prev, err = s.record(ctx, platformID, id); err != nil {
			return CustomerView{}, err
		}
		if prev.IsDeleted {
			return CustomerView{}, CustomerDeleted()
		}
		now := s.now()
		next, changed, err := apply(prev, now)
		if err != nil {
			return CustomerView{}, err
		}
		if !changed {
			return s.View(prev), nil
		}
		next.UpdatedAt, next.Version = now, prev.Version+1
		err = s.Store.UpdateCustomer(ctx, prev, next)
		if errors.Is(err, ErrChanged) {
			continue
		}
		if err != nil {
			return CustomerView{}, err
		}
		return s.View(next), nil
	}
	return CustomerView{}, concurrentModification()
}

// reverify is next's contactVerification: a verified email or phone
// number that next changes is PENDING again (a code confirms only the
// value it was sent to).
func reverify(prev, next Customer) ContactVerification {
	v := next.ContactVerification
	for _, ch := range []Channel{ChannelEmail, ChannelPhone} {
		if ch.stateOf(v) == ContactVerified && ch.valueOf(prev) != ch.valueOf(next) {
			ch.setState(&v, ContactPending)
		}
	}
	return v
}

// sameData reports whether an update leaves a customer as it was.
func sameData(a, b Customer) bool {
	return a.UmaAddress == b.UmaAddress && slices.Equal(a.Currencies, b.Currencies) && a.Email == b.Email &&
		a.PhoneNumber == b.PhoneNumber && a.FullName == b.FullName && a.BirthDate == b.BirthDate &&
		a.Nationality == b.Nationality && a.IDType == b.IDType && string(a.IdentifierSealed) == string(b.IdentifierSealed) &&
		equalPtr(a.Address, b.Address, func(x, y Address) bool { return x == y }) &&
		equalPtr(a.BusinessInfo, b.BusinessInfo, equalBusinessInfo) && string(a.TaxIDSealed) == string(b.TaxIDSealed) &&
		a.ContactVerification == b.ContactVerification
}

func equalPtr[T any](a, b *T, eq func(T, T) bool) bool {
	if a == nil || b == nil {
		return a == b
	}
	return eq(*a, *b)
}

func equalBusinessInfo(a, b BusinessInfo) bool { return reflect.DeepEqual(a, b) }
