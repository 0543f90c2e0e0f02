package memstore

import (
	"bytes"
	"context"
	"slices"
	"sync"
	"time"

	"github.com/grid-kyc/kyc-link/pkg/kyc"
)

// ContactCodes keeps contact verification's codes (kyc.ContactCodes) in
// process memory with the semantics of awsstore.ContactCodes. Records are
// never dropped; a local process lives shorter than the send window.
type ContactCodes struct {
	mu      sync.Mutex
	records map[string]kyc.ContactCode
}

var _ kyc.ContactCodes = (*ContactCodes)(nil)

func codeKey(customerID string, ch kyc.Channel) string { return customerID + "#" + string(ch) }

func (m *ContactCodes) ContactCode(_ context.Context, customerID string, ch kyc.Channel) (kyc.ContactCode, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c, ok := m.records[codeKey(customerID, ch)]
	return cloneCode(c), ok, nil
}

func (m *ContactCodes) PutContactCode(_ context.Context, prevSentAt time.Time, c kyc.ContactCode) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := codeKey(c.CustomerID, c.Channel)
	old, ok := m.records[k]
	if ok && !old.SentAt.Equal(prevSentAt) || !ok && !prevSentAt.IsZero() {
		return kyc.ErrChanged
	}
	if m.records == nil {
		m.records = map[string]kyc.ContactCode{}
	}
	m.records[k] = cloneCode(c)
	return nil
}

// live returns the record whose code is codeMAC (ok false: none).
func (m *ContactCodes) live(customerID string, ch kyc.Channel, codeMAC []byte) (kyc.ContactCode, bool) {
	c, ok := m.records[codeKey(customerID, ch)]
	return c, ok && c.CodeMAC != nil && bytes.Equal(c.CodeMAC, codeMAC)
}

func (m *ContactCodes) CountWrongCode(_ context.Context, customerID string, ch kyc.Channel, codeMAC []byte, max int) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c, ok := m.live(customerID, ch, codeMAC)
	if !ok || c.Attempts >= max {
		return false, nil
	}
	c.Attempts++
	m.records[codeKey(customerID, ch)] = c
	return true, nil
}

func (m *ContactCodes) UseContactCode(_ context.Context, customerID string, ch kyc.Channel, codeMAC []byte, max int) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c, ok := m.live(customerID, ch, codeMAC)
	if !ok || !c.Delivered || c.Used || c.Attempts >= max {
		return false, nil
	}
	c.Used = true
	m.records[codeKey(customerID, ch)] = c
	return true, nil
}

func (m *ContactCodes) UnuseContactCode(_ context.Context, customerID string, ch kyc.Channel, codeMAC []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if c, ok := m.live(customerID, ch, codeMAC); ok {
		c.Used = false
		m.records[codeKey(customerID, ch)] = c
	}
	return nil
}

func (m *ContactCodes) MarkCodeDelivered(_ context.Context, customerID string, ch kyc.Channel, codeMAC []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if c, ok := m.live(customerID, ch, codeMAC); ok {
		c.Delivered = true
		m.records[codeKey(customerID, ch)] = c
	}
	return nil
}

func cloneCode(c kyc.ContactCode) kyc.ContactCode {
	c.CodeMAC, c.ContactMAC = slices.Clone(c.CodeMAC), slices.Clone(c.ContactMAC)
	return c
}
