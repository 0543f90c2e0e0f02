package httpapi

import (
	"errors"
	"time"

	"github.com/grid-kyc/kyc-link/pkg/idempotency"
	"github.com/grid-kyc/kyc-link/pkg/kyc"
)

// The details.reason of each 409 the guard's refusals become.
const (
	reasonKeyReused = "IDEMPOTENCY_KEY_REUSED"
	reasonKeyInUse  = "IDEMPOTENCY_KEY_IN_USE"
)

// guarded is the answer of a request the idempotency guard ran: the
// guard's refusals as 409s, a replay marked as one.
func guarded(q *request, resp response, replayed bool, err error) response {
	switch {
	case errors.Is(err, idempotency.ErrKeyReused):
		return q.fail(kyc.Conflict(reasonKeyReused,
			"This Idempotency-Key was already used with a different request; use a new key for a new request."))
	case errors.Is(err, idempotency.ErrKeyInUse):
		e := kyc.Conflict(reasonKeyInUse, "A request with this Idempotency-Key is still in progress; retry shortly.")
		e.RetryAfter = time.Second
		return q.fail(e)
	case err != nil:
		return q.fail(err)
	}
	if replayed {
		resp.Header = resp.Header.Clone()
		resp.Header.Set("Idempotent-Replayed", "true")
	}
	return resp
}
