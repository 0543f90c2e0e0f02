package webhooks

import (
	"context"
	"log/slog"
	"time"

	"github.com/grid-kyc/kyc-link/pkg/kyc"
)

// attempts is the one delivery decision, shared by the queue worker
// (Worker: SQS, under Lambda and locally) and the in-process MemoryQueue:
// attempt a notice once; on failure, retry after the policy's backoff or,
// once the notice is past RetryFor, dead-letter it. The two differ only in
// how a notice comes back for its next attempt.
type attempts struct {
	deliverer   *Deliverer
	policy      Policy
	deadLetters DeadLetters
	timeout     time.Duration // bounds one attempt
	now         func() time.Time
	logger      *slog.Logger
}

// settled is what an attempt left of a notice.
type settled int

const (
	// done: delivered, dropped (no webhook URL) or dead-lettered; nothing
	// more to do.
	done settled = iota
	// retried: the attempt failed and the notice has time left; the
	// caller's retry scheduled the next attempt.
	retried
	// held: not settled, and no retry was scheduled: ctx ended during the
	// attempt (not the platform's failure), or the notice's dead letter
	// could not be stored. The caller brings it back later its own way (a
	// queued message after its visibility timeout), never drops it.
	held
)

// retry schedules a notice's next attempt after wait (the policy's
// backoff) and returns the wait it scheduled; log carries the notice and
// the attempt.
type retry func(ctx context.Context, log *slog.Logger, wait time.Duration) time.Duration

// attempt makes attempt number k (1-based) of n; when it fails with time
// left, retry schedules the next.
func (a attempts) attempt(ctx context.Context, n kyc.Notice, k int, retry retry) settled {
	actx, cancel := context.WithTimeout(ctx, a.timeout)
	outcome, err := a.deliverer.Deliver(actx, n)
	cancel()
	log := a.logger.With("webhook_id", n.ID, "platform_id", n.PlatformID, "type", n.Type, "attempt", k)
	switch outcome {
	case Delivered:
		log.InfoContext(ctx, "webhook delivered")
		return done
	case Dropped:
		log.WarnContext(ctx, "webhook dropped: the platform has no webhook URL")
		return done
	}
	if ctx.Err() != nil {
		// Shutting down (or out of invocation time): not the platform's
		// failure, and no time to schedule anything.
		return held
	}
	if a.policy.Expired(n.CreatedAt, a.now()) {
		log.ErrorContext(ctx, "webhook given up; dead-lettered", "error", err.Error())
		if a.deadLetter(ctx, DeadLetter{Notice: n, Attempts: k, LastError: err.Error(), DeadAt: a.now()}) != nil {
			return held
		}
		return done
	}
	wait := retry(ctx, log, a.policy.Backoff(k))
	// Logged once the retry is scheduled: a process killed after this line
	// gets the notice back after retry_in.
	log.WarnContext(ctx, "webhook attempt failed; retrying", "retry_in", wait.String(), "error", err.Error())
	return retried
}

// deadLetter stores dl and counts it. A failure is logged and returned: the
// notice is not settled and must come back (a new attempt, then a new try
// to store it), never be dropped.
func (a attempts) deadLetter(ctx context.Context, dl DeadLetter) error {
	err := a.deadLetters.Put(ctx, dl)
	if err != nil {
		a.logger.ErrorContext(ctx, "webhook: storing the dead letter failed; the message stays queued", "webhook_id", dl.Notice.ID, "error", err.Error())
		return err
	}
	// CloudWatch's embedded metric format: this line is the metric
	// KycLink/WebhookDeadLetters the template's alarm watches.
	a.logger.LogAttrs(ctx, slog.LevelInfo, "webhook dead-letter metric",
		slog.Any("_aws", map[string]any{
			"Timestamp": a.now().UnixMilli(),
			"CloudWatchMetrics": []map[string]any{{
				"Namespace": "KycLink", "Dimensions": [][]string{{}},
				"Metrics": []map[string]string{{"Name": "WebhookDeadLetters", "Unit": "Count"}},
			}},
		}),
		slog.Int("WebhookDeadLetters", 1))
	return nil
}
