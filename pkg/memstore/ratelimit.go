package memstore

import (
	"context"
	"sync"
	"time"

	"github.com/grid-kyc/kyc-link/pkg/ratelimit"
)

// RateCounters counts links per window (ratelimit.Counter) in process
// (local mode, tests); counts are never forgotten, as windows' keys are
// never reused.
type RateCounters struct {
	mu     sync.Mutex
	counts map[string]int
}

var _ ratelimit.Counter = (*RateCounters)(nil)

func (m *RateCounters) Take(_ context.Context, key string, limit int, _ time.Time) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.counts == nil {
		m.counts = map[string]int{}
	}
	if m.counts[key] >= limit {
		return false, nil
	}
	m.counts[key]++
	return true, nil
}

func (m *RateCounters) Give(_ context.Context, key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.counts[key] > 0 {
		m.counts[key]--
	}
	return nil
}
