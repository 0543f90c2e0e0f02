package httpapi

import (
	"context"
	"errors"
	"net/url"
	"strings"
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

// once runs work once per Idempotency-Key: directly when no key was sent
// or the server has no guard, else through the guard, which replays the
// stored answer of an earlier attempt with the same request. work's intent
// is the same for every attempt of one key and request ("" without one).
func (q *request) once(work func(ctx context.Context, intent string) response) response {
	return q.onceAs("", work)
}

// onceAs is once with intent (a fresh UUID; "" draws one) as the intent of
// a fresh idempotency record (idempotency.Guard.DoWithIntent), so work can
// start under it before the acquire; work still gets the record's own.
func (q *request) onceAs(intent string, work func(ctx context.Context, intent string) response) response {
	if q.key == "" || q.guard == nil {
		return work(q.ctx, "")
	}
	// The guard stores only 2xx answers: an error must not stick to the key.
	resp, replayed, err := q.guard.DoWithIntent(q.ctx, q.platformID, q.key, fingerprint(q), intent, work)
	return guarded(q, resp, replayed, err)
}

// fingerprint is what a key's request is: the route's method and its path
// with each value as url.PathEscape writes it (not as the client escaped
// it, so equal requests match), and the body.
func fingerprint(q *request) idempotency.Payload {
	method, pattern, ok := strings.Cut(q.route, " ")
	if !ok { // a pattern for every method
		method, pattern = q.r.Method, q.route
	}
	var b strings.Builder
	for {
		open := strings.IndexByte(pattern, '{')
		end := strings.IndexByte(pattern, '}')
		if open < 0 || end < open {
			b.WriteString(pattern)
			break
		}
		b.WriteString(pattern[:open])
		name := strings.TrimSuffix(pattern[open+1:end], "...")
		b.WriteString(url.PathEscape(q.r.PathValue(name)))
		pattern = pattern[end+1:]
	}
	return idempotency.Payload{Method: method, Path: b.String(), Body: q.body}
}
