// Package memstore keeps the platform API's data in memory, for local runs
// (make run) and tests: customers (the platform API's records, and the link
// route's and the reviews' view of them, in one place), platform
// configuration, and a sealer that is not plaintext.
package memstore

import (
	"context"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/grid-kyc/kyc-link/pkg/kyc"
)

// Customers is an in-memory customer store. It serves the platform API
// (kyc.CustomerRecords), the link route (kyc.CustomerStore) and the
// reviews (kyc.ReviewStore) from one map, so a customer created through
// the API gets links and reviews, as in DynamoDB.
type Customers struct {
	// Outbox receives each notice recorded with a review's change, under
	// the same lock as the change (the memory form of the transaction).
	Outbox func(kyc.Notice)
	// OnSubmit receives the id of each complete verification written
	// (its submission job), under the same lock.
	OnSubmit func(verificationID string)

	mu   sync.RWMutex
	byID map[string]*entry
	// docs and verifications live under the same lock: a verification's
	// write changes all three at once, as DynamoDB's transaction does.
	docs          map[string]kyc.Document
	verifications map[string]kyc.Verification
	marks         map[string]time.Time // verifications the provider has
	uploads       map[string]kyc.Upload
	// active maps platform id + platformCustomerId to the active
	// customer's id: the memory form of the uniqueness marker.
	active map[[2]string]string
	// owners maps a beneficial owner's id to its business's.
	owners map[string]string
}

type entry struct {
	rec kyc.Customer
}

var (
	_ kyc.CustomerRecords = (*Customers)(nil)
	_ kyc.CustomerStore   = (*Customers)(nil)
	_ kyc.ReviewStore     = (*Customers)(nil)
)

// NewCustomers returns a store holding cs (the seed file's customers, or a
// test's), as they are.
func NewCustomers(cs ...kyc.Customer) *Customers {
	m := &Customers{byID: map[string]*entry{}, active: map[[2]string]string{},
		docs: map[string]kyc.Document{}, verifications: map[string]kyc.Verification{}, marks: map[string]time.Time{},
		uploads: map[string]kyc.Upload{}, owners: map[string]string{}}
	for _, c := range cs {
		m.byID[c.ID] = &entry{rec: clone(c)}
		for _, o := range c.Owners {
			m.owners[o.ID] = c.ID
		}
		if c.PlatformCustomerID != "" && !c.IsDeleted {
			m.active[[2]string{c.PlatformID, c.PlatformCustomerID}] = c.ID
		}
	}
	return m
}

// clone copies r so that neither the caller nor the store sees the
// other's later changes.
func clone(r kyc.Customer) kyc.Customer {
	r.Currencies = slices.Clone(r.Currencies)
	r.RejectLabels = slices.Clone(r.RejectLabels)
	r.IdentifierSealed = slices.Clone(r.IdentifierSealed)
	r.TaxIDSealed = slices.Clone(r.TaxIDSealed)
	r.Owners = kyc.CloneOwners(r.Owners)
	if r.Address != nil {
		a := *r.Address
		r.Address = &a
	}
	if r.BusinessInfo != nil {
		b := *r.BusinessInfo
		b.CountriesOfOperation = slices.Clone(b.CountriesOfOperation)
		b.ExpectedRecipientJurisdictions = slices.Clone(b.ExpectedRecipientJurisdictions)
		b.SourceOfFundsCategories = slices.Clone(b.SourceOfFundsCategories)
		b.ExpectedCounterpartyCountries = slices.Clone(b.ExpectedCounterpartyCountries)
		r.BusinessInfo = &b
	}
	return r
}

func (m *Customers) InsertCustomer(_ context.Context, r kyc.Customer) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.byID[r.ID]; ok {
		return kyc.ErrCustomerExists
	}
	key := [2]string{r.PlatformID, r.PlatformCustomerID}
	if _, taken := m.active[key]; taken {
		return kyc.ErrPlatformCustomerIDTaken
	}
	m.byID[r.ID] = &entry{rec: clone(r)}
	m.active[key] = r.ID
	return nil
}

func (m *Customers) CustomerRecord(_ context.Context, id string) (kyc.Customer, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	e, ok := m.byID[id]
	if !ok {
		return kyc.Customer{}, kyc.CustomerNotFound()
	}
	return clone(e.rec), nil
}

func (m *Customers) ActiveCustomerID(_ context.Context, platformID, pcid string) (string, bool, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	id, ok := m.active[[2]string{platformID, pcid}]
	return id, ok, nil
}

func (m *Customers) CustomerRange(_ context.Context, q kyc.RangeQuery) ([]kyc.Customer, bool, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	type at struct {
		pos string
		rec *kyc.Customer
	}
	var all []at
	for _, e := range m.byID {
		pos := e.rec.ListPosition()
		if e.rec.PlatformID != q.PlatformID || pos <= q.After || q.From != "" && pos < q.From || q.To != "" && pos >= q.To {
			continue
		}
		all = append(all, at{pos, &e.rec})
	}
	sort.Slice(all, func(i, j int) bool { return all[i].pos < all[j].pos })
	n := min(len(all), q.Limit)
	out := make([]kyc.Customer, n)
	for i := range n {
		out[i] = clone(*all[i].rec)
	}
	return out, len(all) > n, nil
}

func (m *Customers) UpdateCustomer(_ context.Context, prev, next kyc.Customer) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.byID[prev.ID]
	if !ok || e.rec.Version != prev.Version {
		return kyc.ErrChanged
	}
	n := updated(e.rec, next, prev.Version)
	if n.IsDeleted && !e.rec.IsDeleted {
		key := [2]string{n.PlatformID, n.PlatformCustomerID}
		if m.active[key] == n.ID {
			delete(m.active, key)
		}
	}
	e.rec = n
	return nil
}

func (m *Customers) FindCustomer(_ context.Context, id string) (kyc.Customer, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	e, ok := m.byID[id]
	if !ok {
		return kyc.Customer{}, kyc.CustomerNotFound()
	}
	return clone(e.rec), nil
}

func (m *Customers) ApplyChange(_ context.Context, ch kyc.Change, notice *kyc.Notice) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.byID[ch.CustomerID]
	if !ok || ch.Status != "" && (e.rec.StatusOf() != ch.WasStatus || !e.rec.LastReviewAt.Equal(ch.WasReviewAt)) {
		return kyc.ErrChanged
	}
	for _, mv := range ch.Owners {
		o, ok := e.rec.Owner(mv.ID)
		if !ok || o.StatusOf() != mv.WasStatus || !o.LastReviewAt.Equal(mv.WasReviewAt) {
			return kyc.ErrChanged
		}
	}
	for _, mv := range ch.Owners {
		for i := range e.rec.Owners {
			if o := &e.rec.Owners[i]; o.ID == mv.ID {
				o.KYCStatus, o.LastReviewAt = mv.Status, mv.ReviewAt
				o.RejectType, o.RejectLabels = mv.RejectType, slices.Clone(mv.RejectLabels)
			}
		}
	}
	if ch.Status == "" {
		return nil // an owner's review: the customer's own data stays
	}
	if mv := ch.Verification; mv != nil {
		v, ok := m.verifications[mv.ID]
		if !ok || v.Status != mv.WasStatus {
			return kyc.ErrChanged
		}
		v.Status, v.Errors, v.LastReviewAt, v.UpdatedAt = mv.Status, slices.Clone(mv.Errors), mv.ReviewAt, mv.UpdatedAt
		m.verifications[mv.ID] = v
		if mv.Notice != nil && m.Outbox != nil {
			m.Outbox(*mv.Notice)
		}
	}
	e.rec.SetStatus(ch.Status)
	e.rec.LastReviewAt, e.rec.UpdatedAt = ch.ReviewAt, ch.UpdatedAt
	e.rec.RejectType, e.rec.RejectLabels = "", nil
	if ch.Status == kyc.StatusRejected {
		e.rec.RejectType, e.rec.RejectLabels = ch.RejectType, slices.Clone(ch.RejectLabels)
	}
	if notice != nil && m.Outbox != nil {
		m.Outbox(*notice)
	}
	return nil
}

var _ kyc.OwnerRecords = (*Customers)(nil)

// updated is next as a platform's write leaves it over stored (read at
// version): the reviews' data (statuses, last reviews, reasons, the
// current verification, its owners' reviews) is theirs, never written.
func updated(stored, next kyc.Customer, version int64) kyc.Customer {
	n := clone(next)
	n.KYCStatus, n.KYBStatus = stored.KYCStatus, stored.KYBStatus
	n.LastReviewAt, n.RejectType, n.RejectLabels = stored.LastReviewAt, stored.RejectType, slices.Clone(stored.RejectLabels)
	n.VerificationID = stored.VerificationID
	n.Owners = keepOwnerReviews(n.Owners, stored.Owners)
	n.Version = version + 1
	return n
}

// keepOwnerReviews is next's owners with the reviews' data of stored
// (statuses, last reviews, reasons): a platform's write never sets it.
func keepOwnerReviews(next, stored []kyc.BeneficialOwner) []kyc.BeneficialOwner {
	for i := range next {
		next[i].KYCStatus, next[i].LastReviewAt, next[i].RejectType, next[i].RejectLabels = "", time.Time{}, "", nil
		for _, o := range stored {
			if o.ID == next[i].ID {
				next[i].KYCStatus, next[i].LastReviewAt = o.KYCStatus, o.LastReviewAt
				next[i].RejectType, next[i].RejectLabels = o.RejectType, slices.Clone(o.RejectLabels)
			}
		}
	}
	return next
}

func (m *Customers) OwnerCustomerID(_ context.Context, ownerID string) (string, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	cid, ok := m.owners[ownerID]
	if !ok {
		return "", kyc.OwnerNotFound()
	}
	return cid, nil
}

func (m *Customers) InsertOwner(_ context.Context, prev, next kyc.Customer, ownerID string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.owners[ownerID]; ok {
		return kyc.ErrOwnerExists
	}
	e, ok := m.byID[prev.ID]
	if !ok || e.rec.Version != prev.Version || e.rec.IsDeleted || e.rec.StatusOf() != prev.StatusOf() {
		return kyc.ErrChanged
	}
	e.rec = updated(e.rec, next, prev.Version)
	m.owners[ownerID] = prev.ID
	return nil
}
