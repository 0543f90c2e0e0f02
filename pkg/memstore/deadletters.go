package memstore

import (
	"context"
	"maps"
	"slices"
	"sync"

	"github.com/grid-kyc/kyc-link/pkg/webhooks"
)

// DeadLetters keeps webhooks' dead letters in process (make run, tests),
// by webhook id as the dead-letter table does: one put again replaces the
// one it had.
type DeadLetters struct {
	mu sync.Mutex
	m  map[string]webhooks.DeadLetter
}

var (
	_ webhooks.DeadLetters = (*DeadLetters)(nil)
	_ webhooks.Redriver    = (*DeadLetters)(nil)
)

func (d *DeadLetters) Put(_ context.Context, dl webhooks.DeadLetter) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.m == nil {
		d.m = map[string]webhooks.DeadLetter{}
	}
	d.m[dl.Notice.ID] = dl
	return nil
}

// List returns every dead letter, oldest first.
func (d *DeadLetters) List(context.Context) ([]webhooks.DeadLetter, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.SortedFunc(maps.Values(d.m), func(a, b webhooks.DeadLetter) int { return a.DeadAt.Compare(b.DeadAt) }), nil
}

func (d *DeadLetters) Remove(_ context.Context, id string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.m, id)
	return nil
}
