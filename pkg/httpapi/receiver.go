package httpapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/grid-kyc/kyc-link/pkg/kyc"
	"github.com/grid-kyc/kyc-link/pkg/strictjson"
	"github.com/grid-kyc/kyc-link/pkg/sumsub"
)

// MaxWebhookBody bounds a Sumsub event; they are a few hundred bytes.
const MaxWebhookBody = 256 << 10

// MaxEventSkew is how far past the receiver's clock an event's createdAtMs
// may lie. createdAtMs becomes the customer's ordering watermark, so a
// far-future one would make every real decision after it stale; one from
// a Sumsub clock a little ahead is refused too, and applied on Sumsub's
// retry (5 min, 1 h, 5 h, 18 h later) once its time has come.
const MaxEventSkew = 5 * time.Minute

// Reviewer applies a provider's review (kyc.Reviews).
type Reviewer interface {
	Apply(ctx context.Context, r kyc.Review) (kyc.Outcome, error)
}

// SumsubReceiver serves WebhookRoute: it receives Sumsub's applicant events: it checks the body's
// size, then the digest before anything of the body is looked at, maps the
// event to a review and applies it. It answers 200 only once the change is
// durable (or the event changes nothing), 5xx only when the change could
// not be recorded, so Sumsub retries exactly what was not recorded.
type SumsubReceiver struct {
	// Credentials holds the webhook secret (the Sumsub secret's
	// webhookSecret); an error is a load failure (503).
	Credentials sumsub.CredentialSource
	Reviews     Reviewer
	// Now is the receiver's clock for MaxEventSkew; nil is time.Now.
	Now func() time.Time
}

type webhookAck struct {
	Received bool   `json:"received"`
	Outcome  string `json:"outcome"`
}

func (h *SumsubReceiver) serve(q *request) response {
	// The size first, on nothing but the length: the digest of a
	// truncated body could never match, and the rest is not read.
	body, err := io.ReadAll(io.LimitReader(q.r.Body, MaxWebhookBody+1))
	if err != nil {
		return q.fail(kyc.InvalidField("body", "The request body could not be read completely in time."))
	}
	if len(body) > MaxWebhookBody {
		return q.fail(kyc.InvalidField("body", "The webhook body is larger than %d bytes (%d KiB); Sumsub events are a few hundred bytes.", MaxWebhookBody, MaxWebhookBody>>10))
	}
	creds, err := h.Credentials.Get(q.ctx)
	secret := creds.WebhookSecret
	if err != nil {
		return q.fail(kyc.Reword(err, "The webhook secret is temporarily unavailable."))
	}
	// The signature next: nothing of an unsigned body is looked at.
	if err := sumsub.VerifyWebhook(secret, q.r.Header.Get("X-Payload-Digest-Alg"), q.r.Header.Get("X-Payload-Digest"), body); err != nil {
		if errors.Is(err, sumsub.ErrNoSecret) {
			return q.fail(kyc.Misconfigured(kyc.DepSecrets, errors.New("the Sumsub secret has no webhookSecret")))
		}
		q.attrs = append(q.attrs, slog.String("refused", err.Error()))
		r := q.fail(kyc.Errorf(kyc.CodeUnauthorized, "The webhook signature (X-Payload-Digest) is missing or does not match."))
		r.Header.Del("WWW-Authenticate") // not Basic auth
		return r
	}
	ev, err := sumsub.ParseEvent(body)
	// A repeated key makes a signed body ambiguous (the decoder keeps the
	// last one), so it is refused as the link route refuses one.
	var je *strictjson.Error
	if errors.As(err, &je) && je.Kind == strictjson.Repeated {
		q.attrs = append(q.attrs, slog.String("refused", "repeated JSON key"))
		field := strictjson.Shorten(je.Key, 64)
		if je.Key != je.Earlier {
			return q.fail(kyc.InvalidField(field, "The key %q appears more than once in one object of the event (as %q too; keys that differ only in case are one key to the decoder).", field, strictjson.Shorten(je.Earlier, 64)))
		}
		return q.fail(kyc.InvalidField(field, "The key %q appears more than once in one object of the event.", field))
	}
	if err != nil {
		return q.fail(kyc.InvalidField("body", "The webhook body is not a Sumsub event."))
	}
	q.attrs = append(q.attrs, slog.String("event_type", ev.Type), slog.String("correlation_id", ev.CorrelationID))
	review, ok, err := ev.Review()
	if err != nil {
		q.attrs = append(q.attrs, slog.String("refused", err.Error()))
		return q.fail(kyc.InvalidField("body", "The Sumsub event is incomplete: %v.", err))
	}
	if !ok {
		return jsonResponse(http.StatusOK, webhookAck{Received: true, Outcome: "ignored"})
	}
	// An id that cannot be a Grid customer names nobody: acknowledged
	// like an unknown one, without a lookup (DynamoDB refuses keys over
	// 2048 bytes), and never logged (it may be anything, even an email).
	if err := kyc.CheckCustomerID(review.CustomerID); err != nil {
		q.attrs = append(q.attrs, slog.String("refused", "externalUserId is not a Grid customer id: "+kyc.AsError(err).Message),
			slog.Int("external_user_id_bytes", len(review.CustomerID)),
			slog.String("outcome", string(kyc.UnknownCustomer)))
		return jsonResponse(http.StatusOK, webhookAck{Received: true, Outcome: string(kyc.UnknownCustomer)})
	}
	q.customerID = review.CustomerID
	q.attrs = append(q.attrs, slog.String("review_status", string(review.Status)))
	now := time.Now
	if h.Now != nil {
		now = h.Now
	}
	// Refused, not clamped: a clamped date would still be a watermark no
	// real event may pass for minutes, and Sumsub's retry brings the
	// event back anyway.
	if clock := now().UTC(); review.At.After(clock.Add(MaxEventSkew)) {
		why := fmt.Sprintf("createdAtMs %s is more than %v after the receiver's clock (%s)", ev.CreatedAtMs, MaxEventSkew, sumsub.FormatCreatedAt(clock))
		q.attrs = append(q.attrs, slog.String("refused", why))
		q.logger.LogAttrs(q.ctx, slog.LevelWarn, "sumsub event from the future refused",
			slog.String("request_id", q.id), slog.String("customer_id", review.CustomerID),
			slog.String("event_type", ev.Type), slog.String("correlation_id", ev.CorrelationID),
			slog.String("reason", why))
		return q.fail(kyc.InvalidField("createdAtMs", "The event's createdAtMs (%s UTC) is more than %d minutes after this receiver's clock (%s UTC); it is not applied. A retry is applied once that time has passed.",
			ev.CreatedAtMs, int(MaxEventSkew/time.Minute), sumsub.FormatCreatedAt(clock)))
	}
	outcome, err := h.Reviews.Apply(q.ctx, review)
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
