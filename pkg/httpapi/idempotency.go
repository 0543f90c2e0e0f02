package httpapi

import (
	"context"
	"errors"
	"net/url"
	"time"

	"github.com/grid-kyc/kyc-link/pkg/idempotency"
	"github.com/grid-kyc/kyc-link/pkg/kyc"
)

// The details.reason of each 409 this route answers.
const (
	reasonKeyReused = "IDEMPOTENCY_KEY_REUSED"
	reasonKeyInUse  = "IDEMPOTENCY_KEY_IN_USE"
)

// idempotent creates the link at most once per (platform, Idempotency-Key).
func (q *request) idempotent(in linkInput) response {
	path := "/customers/" + url.PathEscape(in.CustomerID) + "/kyc-link"
	fp, err := idempotency.Fingerprint("POST", path, in.Body)
	if err != nil {
		// The body was validated as JSON already; this is our bug.
		return q.fail(kyc.Internal(err))
	}
	resp, replayed, err := q.h.Idempotency.Do(q.ctx, q.platformID, in.IdempotencyKey, fp,
		func(ctx context.Context) response { return q.createLink(ctx, in) })
	switch {
	case errors.Is(err, idempotency.ErrKeyReused):
		r := q.fail(kyc.Conflict(reasonKeyReused,
			"This Idempotency-Key was already used with a different request; use a new key for a new request."))
		r.Header.Set("X-Should-Retry", "false")
		return r
	case errors.Is(err, idempotency.ErrKeyInUse):
		e := kyc.Conflict(reasonKeyInUse, "A request with this Idempotency-Key is still in progress; retry shortly.")
		e.RetryAfter = time.Second
		return q.fail(e)
	case err != nil:
		return q.fail(kyc.Unavailable("The service is temporarily unavailable.", time.Second, err))
	}
	if replayed {
		resp.Header = resp.Header.Clone()
		resp.Header.Set("Idempotent-Replayed", "true")
	}
	return resp
}
