package webhooks

import (
	"context"
	"strings"
	"time"

	"github.com/grid-kyc/kyc-link/pkg/kyc"
)

// Redriver lists and removes dead letters.
type Redriver interface {
	List(ctx context.Context) ([]DeadLetter, error)
	Remove(ctx context.Context, id string) error
}

// Redrive queues every dead letter again with the same id and body and a
// fresh retry window, and removes it from the store once queued. It
// returns how many it queued. The dead letters of unreadable queue
// messages (ids starting with UnreadablePrefix) stay where they are: they
// hold no notice to deliver, only what an operator must look at.
func Redrive(ctx context.Context, store Redriver, relay *Relay, now time.Time) (int, error) {
	letters, err := store.List(ctx)
	if err != nil {
		return 0, err
	}
	queued := 0
	for _, dl := range letters {
		n := dl.Notice
		if strings.HasPrefix(n.ID, UnreadablePrefix) {
			continue
		}
		n.CreatedAt = now
		if err := relay.Send(ctx, []kyc.Notice{n}); err != nil {
			return queued, err
		}
		queued++
		if err := store.Remove(ctx, n.ID); err != nil {
			return queued, err
		}
	}
	return queued, nil
}
