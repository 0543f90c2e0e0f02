package idempotency

import (
	"context"
	"net/http"
	"sync"
	"time"
)

// Memory is a Store in process memory with the same semantics as DynamoDB.
// It suits one process (local mode, tests); it never drops expired records
// on its own beyond overwriting them.
type Memory struct {
	mu      sync.Mutex
	records map[string]Record
}

var _ Store = (*Memory)(nil)

// NewMemory returns an empty store.
func NewMemory() *Memory { return &Memory{records: make(map[string]Record)} }

func (m *Memory) Acquire(_ context.Context, rec Record, now time.Time) (*Record, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if old, ok := m.records[rec.Key]; ok && !old.Expired(now) && old.LockToken != rec.LockToken {
		return copyRecord(old), nil
	}
	m.records[rec.Key] = rec
	return nil, nil
}

func (m *Memory) TakeOver(_ context.Context, rec Record, fromToken string, now time.Time) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.records[rec.Key]
	if ok && r.LockToken == rec.LockToken && r.Status == InProgress {
		return true, nil // taken by this token already
	}
	if !ok || r.LockToken != fromToken || r.Status != InProgress || r.Expired(now) ||
		r.LockExpiresAt.UnixMilli() >= now.UnixMilli() {
		return false, nil
	}
	r.LockToken, r.LockExpiresAt, r.ExpiresAt = rec.LockToken, rec.LockExpiresAt, rec.ExpiresAt
	m.records[rec.Key] = r
	return true, nil
}

func (m *Memory) Get(_ context.Context, key string) (*Record, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if r, ok := m.records[key]; ok {
		return copyRecord(r), nil
	}
	return nil, nil
}

func (m *Memory) Complete(_ context.Context, key, lockToken string, resp Response) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.records[key]
	if ok && r.LockToken == lockToken && r.Status == Completed {
		return nil // completed by this token already
	}
	if !ok || r.LockToken != lockToken || r.Status != InProgress {
		return ErrNotOwner
	}
	r.Status, r.Response = Completed, copyResponse(resp)
	if !resp.ExpiresAt.IsZero() {
		r.ExpiresAt = resp.ExpiresAt
	}
	m.records[key] = r
	return nil
}

func (m *Memory) Release(_ context.Context, key, lockToken string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.records[key]
	if !ok {
		return nil // the key is free already
	}
	if r.LockToken != lockToken || r.Status != InProgress {
		return ErrNotOwner
	}
	delete(m.records, key)
	return nil
}

func (m *Memory) Abandon(_ context.Context, key, lockToken string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.records[key]
	if !ok || r.LockToken != lockToken || r.Status != InProgress {
		return ErrNotOwner
	}
	r.LockExpiresAt = time.UnixMilli(0)
	m.records[key] = r
	return nil
}

// Put stores rec as is, for tests that need a record in a given state.
func (m *Memory) Put(_ context.Context, rec Record) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.records[rec.Key] = rec
	return nil
}

// copyRecord keeps callers from sharing the stored response.
func copyRecord(r Record) *Record {
	if r.Response != nil {
		r.Response = copyResponse(*r.Response)
	}
	return &r
}

func copyResponse(resp Response) *Response {
	h := http.Header{}
	for k, v := range resp.Header {
		h[k] = append([]string(nil), v...)
	}
	return &Response{Status: resp.Status, Header: h, Body: append([]byte(nil), resp.Body...)}
}
