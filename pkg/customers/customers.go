// Package customers reads Grid customers and applies verification
// reviews to them, in DynamoDB or in memory.
package customers

import (
	"context"
	"slices"
	"sync"

	"github.com/grid-kyc/kyc-link/pkg/kyc"
)

// Memory is an in-memory customer store for local mode and tests.
type Memory struct {
	// Outbox receives each notice recorded with a change, under the same
	// lock as the change (the memory form of the DynamoDB transaction).
	Outbox func(kyc.Notice)

	mu   sync.RWMutex
	byID map[string]kyc.Customer
	// rejections holds the reject type and labels of REJECTED customers.
	rejections map[string]Rejection
}

// Rejection is what a store keeps about a REJECTED customer for operators.
type Rejection struct {
	Type   string
	Labels []string
}

var (
	_ kyc.CustomerStore = (*Memory)(nil)
	_ kyc.ReviewStore   = (*Memory)(nil)
)

// NewMemory returns a store holding cs.
func NewMemory(cs ...kyc.Customer) *Memory {
	m := &Memory{byID: make(map[string]kyc.Customer, len(cs)), rejections: map[string]Rejection{}}
	for _, c := range cs {
		m.byID[c.ID] = c
	}
	return m
}

func (m *Memory) FindCustomer(_ context.Context, id string) (kyc.Customer, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	c, ok := m.byID[id]
	if !ok {
		return kyc.Customer{}, kyc.CustomerNotFound()
	}
	return c, nil
}

func (m *Memory) ReviewState(ctx context.Context, id string) (kyc.Customer, error) {
	return m.FindCustomer(ctx, id)
}

func (m *Memory) ApplyChange(_ context.Context, ch kyc.Change, notice *kyc.Notice) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	c, ok := m.byID[ch.CustomerID]
	if !ok || c.StatusOf() != ch.WasStatus || !c.LastReviewAt.Equal(ch.WasReviewAt) {
		return kyc.ErrChanged
	}
	c.SetStatus(ch.Status)
	c.LastReviewAt, c.UpdatedAt = ch.ReviewAt, ch.UpdatedAt
	m.byID[c.ID] = c
	if ch.Status == kyc.StatusRejected {
		m.rejections[c.ID] = Rejection{Type: ch.RejectType, Labels: slices.Clone(ch.RejectLabels)}
	} else {
		delete(m.rejections, c.ID)
	}
	if notice != nil && m.Outbox != nil {
		m.Outbox(*notice)
	}
	return nil
}

// RejectionOf returns what the store keeps about a REJECTED customer.
func (m *Memory) RejectionOf(id string) (Rejection, bool) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	r, ok := m.rejections[id]
	return r, ok
}
