package memstore

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/grid-kyc/kyc-link/pkg/idempotency"
)

// Idempotency keeps the idempotency guard's records (idempotency.Store) in
// process memory with the same semantics as DynamoDB's
// (awsstore.Idempotency). It suits one process (local mode, tests); it
// never drops expired records on its own beyond overwriting them.
type Idempotency struct {
	mu      sync.Mutex
	records map[string]idempotency.Record
}

var _ idempotency.Store = (*Idempotency)(nil)

// NewIdempotency returns an empty store.
func NewIdempotency() *Idempotency { return &Idempotency{records: make(map[string]idempotency.Record)} }

func (m *Idempotency) Acquire(_ context.Context, rec idempotency.Record, now time.Time) (*idempotency.Record, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if old, ok := m.records[rec.Key]; ok && !old.Expired(now) && old.LockToken != rec.LockToken {
		return copyIdempotencyRecord(old), nil
	}
	m.records[rec.Key] = rec
	return nil, nil
}

func (m *Idempotency) TakeOver(_ context.Context, rec idempotency.Record, fromToken string, now time.Time) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.records[rec.Key]
	if ok && r.LockToken == rec.LockToken && r.Status == idempotency.InProgress {
		return true, nil // taken by this token already
	}
	if !ok || r.LockToken != fromToken || r.Status != idempotency.InProgress || r.Expired(now) ||
		r.LockExpiresAt.UnixMilli() >= now.UnixMilli() {
		return false, nil
	}
	r.LockToken, r.LockExpiresAt, r.ExpiresAt = rec.LockToken, rec.LockExpiresAt, rec.ExpiresAt
	m.records[rec.Key] = r
	return true, nil
}

func (m *Idempotency) Get(_ context.Context, key string) (*idempotency.Record, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if r, ok := m.records[key]; ok {
		return copyIdempotencyRecord(r), nil
	}
	return nil, nil
}

func (m *Idempotency) Complete(_ context.Context, key, lockToken string, resp idempotency.Response) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.records[key]
	if ok && r.LockToken == lockToken && r.Status == idempotency.Completed {
		return nil // completed by this token already
	}
	if !ok || r.LockToken != lockToken || r.Status != idempotency.InProgress {
		return idempotency.ErrNotOwner
	}
	r.Status, r.Response = idempotency.Completed, copyIdempotencyResponse(resp)
	if !resp.ExpiresAt.IsZero() {
		r.ExpiresAt = resp.ExpiresAt
	}
	m.records[key] = r
	return nil
}

func (m *Idempotency) Release(_ context.Context, key, lockToken string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.records[key]
	if !ok {
		return nil // the key is free already
	}
	if r.LockToken != lockToken || r.Status != idempotency.InProgress {
		return idempotency.ErrNotOwner
	}
	delete(m.records, key)
	return nil
}

func (m *Idempotency) Abandon(_ context.Context, key, lockToken string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.records[key]
	if !ok || r.LockToken != lockToken || r.Status != idempotency.InProgress {
		return idempotency.ErrNotOwner
	}
	r.LockExpiresAt = time.UnixMilli(0)
	m.records[key] = r
	return nil
}

// Put stores rec as is, for tests that need a record in a given state.
func (m *Idempotency) Put(_ context.Context, rec idempotency.Record) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.records[rec.Key] = rec
	return nil
}

// copyRecord keeps callers from sharing the stored response.
func copyIdempotencyRecord(r idempotency.Record) *idempotency.Record {
	if r.Response != nil {
		r.Response = copyIdempotencyResponse(*r.Response)
	}
	return &r
}

func copyIdempotencyResponse(resp idempotency.Response) *idempotency.Response {
	h := http.Header{}
	for k, v := range resp.Header {
		h[k] = append([]string(nil), v...)
	}
	return &idempotency.Response{Status: resp.Status, Header: h, Body: append([]byte(nil), resp.Body...)}
}
