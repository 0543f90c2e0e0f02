package app

import (
	"context"
	"log/slog"
	"time"

	"github.com/grid-kyc/kyc-link/pkg/kyc"
)

// localSubmissions runs each submission job in this process (make run's
// stand-in for the submission queue): at once, then after 1 s, 2 s, 4 s …
// (at most a minute apart) until it succeeds or the process ends.
type localSubmissions struct {
	ctx    context.Context
	run    *kyc.Submissions
	logger *slog.Logger
}

// enqueue starts verification id's job.
func (l *localSubmissions) enqueue(id string) { go l.attempt(id, 1) }

func (l *localSubmissions) attempt(id string, k int) {
	if l.ctx.Err() != nil {
		return
	}
	ctx, cancel := context.WithTimeout(l.ctx, time.Minute)
	outcome, err := l.run.Submit(ctx, id)
	cancel()
	if err == nil {
		l.logger.Info("submission", "verification_id", id, "outcome", string(outcome), "attempt", k)
		return
	}
	wait := min(time.Second<<min(k-1, 6), time.Minute)
	l.logger.Warn("submission failed; retrying", "verification_id", id, "attempt", k, "retry_in", wait.String(),
		"error", err.Error(), "dependency", string(kyc.AsError(err).Dependency))
	time.AfterFunc(wait, func() { l.attempt(id, k+1) })
}
