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

	mu   sync.RWMutex
	byID map[string]*entry
	// active maps platform id + platformCustomerId to the active
	// customer's id: the memory form of the uniqueness marker.
	active map[[2]string]string
}

type entry struct {
	rec          kyc.CustomerRecord
	lastReviewAt time.Time
	rejection    Rejection
}

// Rejection is what the store keeps about a REJECTED customer for
// operators.
type Rejection struct {
	Type   string
	Labels []string
}

var (
	_ kyc.CustomerRecords = (*Customers)(nil)
	_ kyc.CustomerStore   = (*Customers)(nil)
	_ kyc.ReviewStore     = (*Customers)(nil)
)

// NewCustomers returns a store holding cs: customers as the link route
// knows them (the seed file's), written before the platform API (version
// 0, as such items in DynamoDB).
func NewCustomers(cs ...kyc.Customer) *Customers {
	m := &Customers{byID: map[string]*entry{}, active: map[[2]string]string{}}
	for _, c := range cs {
		r := kyc.CustomerRecord{ID: c.ID, PlatformID: c.PlatformID, PlatformCustomerID: c.PlatformCustomerID,
			Type: c.Type, KYCStatus: kyc.Status(c.KYCStatus), KYBStatus: kyc.Status(c.KYBStatus),
			Email: c.Email, PhoneNumber: c.PhoneNumber, IsDeleted: c.IsDeleted, UpdatedAt: c.UpdatedAt,
			ContactVerification: c.ContactVerification}
		if t, err := time.Parse(time.RFC3339Nano, c.CreatedAt); err == nil {
			r.CreatedAt = t.UTC()
		}
		m.byID[c.ID] = &entry{rec: r, lastReviewAt: c.LastReviewAt}
		if r.PlatformCustomerID != "" && !r.IsDeleted {
			m.active[[2]string{r.PlatformID, r.PlatformCustomerID}] = r.ID
		}
	}
	return m
}

// clone copies r so that neither the caller nor the store sees the
// other's later changes.
func clone(r kyc.CustomerRecord) kyc.CustomerRecord {
	r.Currencies = slices.Clone(r.Currencies)
	r.IdentifierSealed = slices.Clone(r.IdentifierSealed)
	r.TaxIDSealed = slices.Clone(r.TaxIDSealed)
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

func (m *Customers) InsertCustomer(_ context.Context, r kyc.CustomerRecord) error {
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

func (m *Customers) CustomerRecord(_ context.Context, id string) (kyc.CustomerRecord, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	e, ok := m.byID[id]
	if !ok {
		return kyc.CustomerRecord{}, kyc.CustomerNotFound()
	}
	return clone(e.rec), nil
}

func (m *Customers) ActiveCustomerID(_ context.Context, platformID, pcid string) (string, bool, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	id, ok := m.active[[2]string{platformID, pcid}]
	return id, ok, nil
}

func (m *Customers) CustomerRange(_ context.Context, q kyc.RangeQuery) ([]kyc.CustomerRecord, bool, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	type at struct {
		pos string
		rec *kyc.CustomerRecord
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
	out := make([]kyc.CustomerRecord, n)
	for i := range n {
		out[i] = clone(*all[i].rec)
	}
	return out, len(all) > n, nil
}

func (m *Customers) UpdateCustomer(_ context.Context, prev, next kyc.CustomerRecord) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.byID[prev.ID]
	if !ok || e.rec.Version != prev.Version {
		return kyc.ErrChanged
	}
	n := clone(next)
	// The reviews' data is theirs: an update never writes it.
	n.KYCStatus, n.KYBStatus, n.ContactVerification = e.rec.KYCStatus, e.rec.KYBStatus, e.rec.ContactVerification
	n.Version = prev.Version + 1
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
	c := e.rec.Customer()
	c.LastReviewAt = e.lastReviewAt
	return c, nil
}

func (m *Customers) ReviewState(ctx context.Context, id string) (kyc.Customer, error) {
	return m.FindCustomer(ctx, id)
}

func (m *Customers) ApplyChange(_ context.Context, ch kyc.Change, notice *kyc.Notice) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.byID[ch.CustomerID]
	if !ok || e.rec.StatusOf() != ch.WasStatus || !e.lastReviewAt.Equal(ch.WasReviewAt) {
		return kyc.ErrChanged
	}
	if e.rec.Type == kyc.Business {
		e.rec.KYBStatus = ch.Status
	} else {
		e.rec.KYCStatus = ch.Status
	}
	e.lastReviewAt, e.rec.UpdatedAt = ch.ReviewAt, ch.UpdatedAt
	if ch.Status == kyc.StatusRejected {
		e.rejection = Rejection{Type: ch.RejectType, Labels: slices.Clone(ch.RejectLabels)}
	} else {
		e.rejection = Rejection{}
	}
	if notice != nil && m.Outbox != nil {
		m.Outbox(*notice)
	}
	return nil
}

// RejectionOf returns what the store keeps about a REJECTED customer.
func (m *Customers) RejectionOf(id string) (Rejection, bool) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	e, ok := m.byID[id]
	if !ok || e.rec.StatusOf() != kyc.StatusRejected {
		return Rejection{}, false
	}
	return Rejection{Type: e.rejection.Type, Labels: slices.Clone(e.rejection.Labels)}, true
}
