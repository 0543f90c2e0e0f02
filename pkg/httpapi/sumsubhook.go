package httpapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/grid-kyc/kyc-link/pkg/fault"
	"github.com/grid-kyc/kyc-link/pkg/kyc"
	"github.com/grid-kyc/kyc-link/pkg/sumsub"
)

// WebhookRoute is the route Sumsub posts its applicant events to.
const WebhookRoute = "POST /webhooks/sumsub"

// MaxWebhookBody bounds a Sumsub event; they are a few hundred bytes.
const MaxWebhookBody = 256 << 10

// Reviewer applies a provider's review (kyc.Reviews).
type Reviewer interface {
	Apply(ctx context.Context, r kyc.Review) (kyc.Outcome, error)
}

// SumsubWebhook receives Sumsub's applicant events: it checks the digest
// before anything else, maps the event to a review and applies it. It
// answers 200 only once the change is durable (or the event changes
// nothing), 5xx only when the change could not be recorded, so Sumsub
// retries exactly what was not recorded.
type SumsubWebhook struct {
	// Secret returns the webhook secret (the Sumsub secret's
	// webhookSecret); an error is a load failure (503).
	Secret  func(ctx context.Context) (string, error)
	Reviews Reviewer
	Logger  *slog.Logger
	// Timeout bounds each request; 0 leaves the context's deadline.
	Timeout time.Duration
}

func (h *SumsubWebhook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	handle(w, r, h.Logger, h.Timeout, h.serve)
}

type webhookAck struct {
	Received bool   `json:"received"`
	Outcome  string `json:"outcome"`
}

func (h *SumsubWebhook) serve(q *request) (resp response) {
	defer func() {
		if p := recover(); p != nil {
			resp = q.fail(kyc.Internal(fmt.Errorf("panic: %v\n%s", p, debug.Stack())))
		}
	}()
	if q.r.URL.EscapedPath() != "/webhooks/sumsub" {
		return q.fail(kyc.Errorf(codeRouteNotFound, "No route matches %s %s.", q.r.Method, truncate(q.r.URL.EscapedPath(), 200)))
	}
	if q.r.Method != http.MethodPost {
		return q.fail(kyc.Errorf(codeMethodNotAllowed, "This route accepts only POST."))
	}
	q.route = WebhookRoute
	body, err := io.ReadAll(io.LimitReader(q.r.Body, MaxWebhookBody+1))
	if err != nil {
		return q.fail(kyc.InvalidField("body", "The request body could not be read completely in time."))
	}
	secret, err := h.Secret(q.ctx)
	if err != nil {
		return q.fail(fault.Outage("The webhook secret is temporarily unavailable.", time.Second, err))
	}
	// The signature first: nothing of an unsigned body is looked at.
	if err := sumsub.VerifyWebhook(secret, q.r.Header.Get("X-Payload-Digest-Alg"), q.r.Header.Get("X-Payload-Digest"), body); err != nil {
		if errors.Is(err, sumsub.ErrNoSecret) {
			return q.fail(kyc.Internal(errors.New("the Sumsub secret has no webhookSecret")))
		}
		q.attrs = append(q.attrs, slog.String("refused", err.Error()))
		r := q.fail(kyc.Errorf(kyc.CodeUnauthorized, "The webhook signature (X-Payload-Digest) is missing or does not match."))
		r.Header.Del("WWW-Authenticate") // not Basic auth
		return r
	}
	if len(body) > MaxWebhookBody {
		return q.fail(kyc.InvalidField("body", "The webhook body is larger than %d bytes.", MaxWebhookBody))
	}
	ev, err := sumsub.ParseEvent(body)
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
	q.customerID = review.CustomerID
	q.attrs = append(q.attrs, slog.String("review_status", string(review.Status)))
	outcome, err := h.Reviews.Apply(q.ctx, review)
	if err != nil {
		e := kyc.AsError(err)
		if e.Code != kyc.CodeUnavailable && e.Code != kyc.CodeInternal {
			e = kyc.Unavailable("The status change could not be recorded.", time.Second, err)
		}
		return q.fail(e)
	}
	q.attrs = append(q.attrs, slog.String("outcome", string(outcome)))
	return jsonResponse(http.StatusOK, webhookAck{Received: true, Outcome: string(outcome)})
}
