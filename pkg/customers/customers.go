// Package customers reads Grid customers, from DynamoDB or from memory.
package customers

import (
	"context"

	"github.com/grid-kyc/kyc-link/pkg/kyc"
)

// Memory is an in-memory customer store for local mode and tests. It is
// never written after NewMemory, so concurrent reads need no lock.
type Memory struct {
	byID map[string]kyc.Customer
}

var _ kyc.CustomerStore = (*Memory)(nil)

// NewMemory returns a store holding cs.
func NewMemory(cs ...kyc.Customer) *Memory {
	m := &Memory{byID: make(map[string]kyc.Customer, len(cs))}
	for _, c := range cs {
		m.byID[c.ID] = c
	}
	return m
}

func (m *Memory) FindCustomer(_ context.Context, id string) (kyc.Customer, error) {
	c, ok := m.byID[id]
	if !ok {
		return kyc.Customer{}, kyc.CustomerNotFound()
	}
	return c, nil
}
