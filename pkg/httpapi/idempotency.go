package httpapi

import (
	"context"
	"errors"
	"net/url"
	"time"

	"github.com/grid-kyc/kyc-link/pkg/idempotency"
	"github.com/grid-kyc/kyc-link/pkg/kyc"
)

// idempotent runs create at most once per (platform, Idempotency-Key).
func (h *Handler) idempotent(ctx context.Context, platformID string, in linkInput, rid string, log *accessLog,
	create func(context.Context) response) response {
	path := "/customers/" + url.PathEscape(in.CustomerID) + "/kyc-link"
	fp, err := idempotency.Fingerprint("POST", path, in.Body)
	if err != nil {
		// The body was validated as JSON already; this is our bug.
		log.err = err
		return errorResponse(err, rid)
	}
	resp, replayed, err := h.Idempotency.Do(ctx, platformID, in.IdempotencyKey, fp, create)
	switch {
	case errors.Is(err, idempotency.ErrKeyReused):
		r := errorResponse(&kyc.Error{Code: kyc.Conflict,
			Message: "This Idempotency-Key was already used with a different request; use a new key for a new request.",
			Details: map[string]any{"reason": "IDEMPOTENCY_KEY_REUSED"}}, rid)
		r.Header.Set("X-Should-Retry", "false")
		return r
	case errors.Is(err, idempotency.ErrKeyInUse):
		return errorResponse(&kyc.Error{Code: kyc.Conflict,
			Message:    "A request with this Idempotency-Key is still in progress; retry shortly.",
			Details:    map[string]any{"reason": "IDEMPOTENCY_KEY_IN_USE"},
			RetryAfter: time.Second}, rid)
	case err != nil:
		log.err = err
		return errorResponse(&kyc.Error{Code: kyc.Unavailable, Message: "The service is temporarily unavailable.",
			RetryAfter: time.Second, Cause: err}, rid)
	}
	if replayed {
		resp.Header = resp.Header.Clone()
		resp.Header.Set("Idempotent-Replayed", "true")
	}
	return resp
}
