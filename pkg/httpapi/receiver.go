package httpapi

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/grid-kyc/kyc-link/pkg/kyc"
	"github.com/grid-kyc/kyc-link/pkg/sumsub"
)

// Reviewer applies a provider's review (kyc.Reviews).
type Reviewer interface {
	Apply(ctx context.Context, r kyc.Review) (kyc.Outcome, error)
}

// SumsubReceiver serves WebhookRoute: Sumsub's applicant events. It
// translates: sumsub.ReadWebhook reads and authenticates the delivery,
// the Reviewer applies the review it carries. It answers 200 only once the
// change is durable (or the event changes nothing), 5xx only when the
// change could not be recorded, so Sumsub retries exactly what was not
// recorded.
type SumsubReceiver struct {
	// Credentials holds the webhook secret (the Sumsub secret's
	// webhookSecret); an error is a load failure (503).
	Credentials sumsub.CredentialSource
	Reviews     Reviewer
}

type webhookAck struct {
	Received bool   `json:"received"`
	Outcome  string `json:"outcome"`
}

func (h *SumsubReceiver) serve(q *request) response {
	ev, err := sumsub.ReadWebhook(q.ctx, h.Credentials, q.r.Header.Get("X-Payload-Digest-Alg"), q.r.Header.Get("X-Payload-Digest"), q.r.Body)
	if err != nil {
		return q.refuse(err)
	}
	q.attrs = append(q.attrs, slog.String("event_type", ev.Type), slog.String("correlation_id", ev.CorrelationID))
	review, ok, err := ev.Review()
	if err != nil {
		return q.refuse(err)
	}
	if !ok {
		return jsonResponse(http.StatusOK, webhookAck{Received: true, Outcome: "ignored"})
	}
	// Only an id that can be a customer's is logged: any other may be
	// anything, even an email (Apply acknowledges it without a lookup).
	if err := kyc.CheckCustomerID(review.CustomerID); err != nil {
		q.attrs = append(q.attrs, slog.String("refused", "externalUserId is not a Grid customer id: "+kyc.AsError(err).Message),
			slog.Int("external_user_id_bytes", len(review.CustomerID)))
	} else {
		q.customerID = review.CustomerID
		q.attrs = append(q.attrs, slog.String("review_status", string(review.Status)))
	}
	outcome, err := h.Reviews.Apply(q.ctx, review)
	if errors.Is(err, kyc.ErrReviewFromTheFuture) {
		q.logger.LogAttrs(q.ctx, slog.LevelWarn, "sumsub event from the future refused",
			slog.String("request_id", q.id), slog.String("customer_id", review.CustomerID),
			slog.String("event_type", ev.Type), slog.String("correlation_id", ev.CorrelationID),
			slog.String("reason", kyc.AsError(err).Cause.Error()))
		return q.refuse(err)
	}
	if err != nil {
		e := kyc.AsError(err)
		if e.Code != kyc.CodeUnavailable && e.Code != kyc.CodeInternal {
			e = kyc.Unavailable(kyc.DepStore, "The status change could not be recorded.", time.Second, err)
		}
		return q.fail(e)
	}
	q.attrs = append(q.attrs, slog.String("outcome", string(outcome)))
	return jsonResponse(http.StatusOK, webhookAck{Received: true, Outcome: string(outcome)})
}

// refuse answers err. The cause of a refusal of what was sent is the
// sender's fault, not ours: it is logged as refused, not as an error.
func (q *request) refuse(err error) response {
	e := kyc.AsError(err)
	if e.Cause != nil && (e.Code == kyc.CodeInvalid || e.Code == kyc.CodeUnauthorized) {
		q.attrs = append(q.attrs, slog.String("refused", e.Cause.Error()))
		shown := *e
		shown.Cause = nil
		err = &shown
	}
	r := q.fail(err)
	if e.Code == kyc.CodeUnauthorized {
		r.Header.Del("WWW-Authenticate") // a digest, not Basic auth
	}
	return r
}
