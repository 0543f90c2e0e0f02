package httpapi

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"runtime/debug"
	"time"

	"github.com/grid-kyc/kyc-link/pkg/fault"
	"github.com/grid-kyc/kyc-link/pkg/idempotency"
	"github.com/grid-kyc/kyc-link/pkg/kyc"
)

// The details.reason of each 409 this route answers.
const (
	reasonKeyReused = "IDEMPOTENCY_KEY_REUSED"
	reasonKeyInUse  = "IDEMPOTENCY_KEY_IN_USE"
)

type lookupResult struct {
	customer kyc.Customer
	err      error
}

// lookup starts finding the customer and returns where the result will
// arrive. The lookup ends with the request; a panic in it is an internal
// error, as anywhere else.
func (q *request) lookup(customerID string) <-chan lookupResult {
	found := make(chan lookupResult, 1)
	// Read before the goroutine starts: the lookup may outlive the answer
	// (a replay does not wait for it).
	links, ctx, platformID := q.h.Links, q.ctx, q.platformID
	go func() {
		defer func() {
			if p := recover(); p != nil {
				found <- lookupResult{err: kyc.Internal(fmt.Errorf("panic: %v\n%s", p, debug.Stack()))}
			}
		}()
		c, err := links.Customer(ctx, platformID, customerID)
		found <- lookupResult{c, err}
	}()
	return found
}

// idempotent creates the link at most once per (platform, Idempotency-Key).
func (q *request) idempotent(in linkInput) response {
	path := "/customers/" + url.PathEscape(in.CustomerID) + "/kyc-link"
	fp, err := idempotency.Fingerprint("POST", path, in.Body)
	if err != nil {
		// The body was validated as JSON already; this is our bug.
		return q.fail(kyc.Internal(err))
	}
	// The customer lookup runs alongside the acquire: a first request pays
	// one round trip for both, a replay does not wait for the lookup.
	// So does the rate limit; a replay never waits for it, nor is refused.
	found, limited := q.lookup(in.CustomerID), q.limit()
	resp, replayed, err := q.h.Idempotency.Do(q.ctx, q.platformID, in.IdempotencyKey, fp,
		func(ctx context.Context) response {
			var r lookupResult
			select {
			case r = <-found:
			case <-ctx.Done():
				return q.fail(kyc.Unavailable("The customer store is temporarily unavailable.", time.Second, ctx.Err()))
			}
			if r.err != nil {
				return q.fail(r.err)
			}
			if err := q.limited(ctx, limited); err != nil {
				return q.fail(err)
			}
			return q.linkFor(ctx, r.customer, in)
		})
	switch {
	case errors.Is(err, idempotency.ErrKeyReused):
		return q.fail(kyc.Conflict(reasonKeyReused,
			"This Idempotency-Key was already used with a different request; use a new key for a new request."))
	case errors.Is(err, idempotency.ErrKeyInUse):
		e := kyc.Conflict(reasonKeyInUse, "A request with this Idempotency-Key is still in progress; retry shortly.")
		e.RetryAfter = time.Second
		return q.fail(e)
	case err != nil:
		return q.fail(fault.Outage("The service is temporarily unavailable.", time.Second, err))
	}
	if replayed {
		resp.Header = resp.Header.Clone()
		resp.Header.Set("Idempotent-Replayed", "true")
	}
	return resp
}
