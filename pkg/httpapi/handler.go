// Package httpapi is the HTTP edge of the service: routing, input
// validation, authentication, errors in the Grid shape and the access log.
// Lambda and the local server both serve this one http.Handler.
package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/aws/smithy-go"
	"github.com/grid-kyc/kyc-link/pkg/auth"
	"github.com/grid-kyc/kyc-link/pkg/fault"
	"github.com/grid-kyc/kyc-link/pkg/idempotency"

	"github.com/grid-kyc/kyc-link/pkg/kyc"
	"github.com/grid-kyc/kyc-link/pkg/metrics"
	"github.com/grid-kyc/kyc-link/pkg/ratelimit"
	"github.com/grid-kyc/kyc-link/pkg/requestid"
	"github.com/grid-kyc/kyc-link/pkg/secrets"
	"github.com/grid-kyc/kyc-link/pkg/sumsub"
)

// Route is the one route this service answers.
const Route = "POST /customers/{customerId}/kyc-link"

// Authenticator maps an Authorization header to a platform id. Credential
// problems are auth.ErrBadCredentials; anything else means it could not
// check.
type Authenticator interface {
	Authenticate(ctx context.Context, header string) (platformID string, err error)
}

// LinkCreator issues verification links (kyc.Service) in two steps, so the
// lookup can run alongside the idempotency check.
type LinkCreator interface {
	// Customer finds the platform's customer (USER_NOT_FOUND otherwise).
	Customer(ctx context.Context, platformID, customerID string) (kyc.Customer, error)
	// LinkFor mints a link for a customer Customer returned.
	LinkFor(ctx context.Context, c kyc.Customer, redirectURI string) (kyc.Link, error)
}

// Handler serves the kyc-link route.
type Handler struct {
	Auth  Authenticator
	Links LinkCreator
	// Idempotency enforces Idempotency-Key; nil ignores the (still
	// validated) header.
	Idempotency *idempotency.Guard
	Logger      *slog.Logger
	// Timeout bounds each request; 0 leaves the context's own deadline
	// (Lambda's invocation deadline) in charge.
	Timeout time.Duration
	// LocalRedirects allows http redirect URLs to loopback (the sandbox
	// provider). Sumsub refuses them, so with it every redirect must be a
	// public https URL.
	LocalRedirects bool
	// Limiter, when set, refuses links over a platform's rate or the
	// global one (429 RATE_LIMITED); it runs beside the customer lookup.
	Limiter Limiter
}

// Limiter counts a link against the platform's and the global limit; a
// *ratelimit.ErrLimited is a refusal, any other error means it could not
// tell (the link is then allowed: the limit protects Sumsub's quota, and an
// outage of the counter store must not take links down with it).
type Limiter interface {
	Allow(ctx context.Context, platformID string) error
}

// response is one answer, buffered so it can be stored and replayed whole.
type response = idempotency.Response

// request is one call, from arrival to answer: what it carries and what its
// single log line reports.
type request struct {
	h      *Handler // the kyc-link route's dependencies; nil on other routes
	logger *slog.Logger
	r      *http.Request
	ctx    context.Context // carries the request deadline
	id     string          // X-Request-Id

	route, customerID, platformID string
	// attrs are further facts for the log line (a webhook's type, outcome).
	attrs []slog.Attr
	// cause is what went wrong behind the answer, for the log only.
	cause error
	// outcome names the answer for the metrics (fail sets it for errors).
	outcome string
	metrics *metrics.Recorder
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	handle(w, r, h.Logger, h.Timeout, func(q *request) response {
		q.h = h
		return q.serve()
	})
}

// RejectEvent answers a request whose event could not be turned into an
// http.Request (see lambdahttp.Adapter.BadEvent).
func (h *Handler) RejectEvent(w http.ResponseWriter, r *http.Request, err error) {
	RejectEvent(h.Logger)(w, r, err)
}

// RejectEvent answers, in the Grid shape and with a log line, a request
// whose event could not be turned into an http.Request, for any route.
func RejectEvent(logger *slog.Logger) func(w http.ResponseWriter, r *http.Request, err error) {
	return func(w http.ResponseWriter, r *http.Request, err error) {
		handle(w, r, logger, 0, func(q *request) response {
			return q.fail(kyc.InvalidField("request", "The request could not be read: %v.", err))
		})
	}
}

// handle runs serve under the request deadline (timeout, when set, else the
// context's own), writes its answer and logs one line for it.
func handle(w http.ResponseWriter, r *http.Request, logger *slog.Logger, timeout time.Duration, serve func(*request) response) {
	start := time.Now()
	ctx := r.Context()
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	// On a real connection (the local server) reading the body is bounded
	// by the request deadline too; in Lambda the body is already in memory.
	body := &trackedBody{ReadCloser: r.Body}
	if r.Body == nil {
		body.ReadCloser = http.NoBody
	}
	r.Body = body
	onConn := false
	if d, ok := ctx.Deadline(); ok {
		onConn = http.NewResponseController(w).SetReadDeadline(d) == nil
	}

	ctx, rec := metrics.With(ctx)
	q := &request{logger: logger, r: r, ctx: ctx, id: requestid.FromOrNew(ctx), route: "unmatched", metrics: rec}
	resp := serve(q)
	for k, vs := range resp.Header {
		w.Header()[k] = vs
	}
	w.Header().Set("X-Request-Id", q.id)
	if onConn && r.ContentLength != 0 && !body.eof {
		// We answer without the rest of the body (a 401 before reading
		// it, a body that stalled): net/http would otherwise wait to drain
		// it before sending our answer.
		w.Header().Set("Connection", "close")
	}
	w.WriteHeader(resp.Status)
	w.Write(resp.Body)
	if q.outcome == "" {
		q.outcome = successOutcome(resp)
	}
	q.log(resp.Status, time.Since(start))
}

// successOutcome names a 2xx answer for the metrics.
func successOutcome(resp response) string {
	switch {
	case resp.Status == http.StatusCreated && resp.Header.Get("Idempotent-Replayed") == "true":
		return "REPLAY"
	case resp.Status == http.StatusCreated:
		return "LINK_ISSUED"
	default:
		return "OK"
	}
}

// failureOutcome names an error answer for the metrics: the Grid code,
// with the conflict's reason, and for a 5xx the dependency behind it
// (PROVIDER, STORE, SECRETS, or OTHER for our own faults).
func failureOutcome(status int, code kyc.Code, reason string, cause error) string {
	switch {
	case code == kyc.CodeConflict && reason != "":
		return "CONFLICT_" + reason
	case status < 500:
		return string(code)
	}
	var op *smithy.OperationError
	var apiErr *sumsub.APIError
	dep := "OTHER"
	switch {
	case errors.As(cause, &apiErr) || cause != nil && strings.Contains(cause.Error(), "sumsub"):
		dep = "PROVIDER"
	case errors.As(cause, &op) && op.ServiceID == "DynamoDB":
		dep = "STORE"
	case errors.As(cause, &op) && op.ServiceID == "Secrets Manager", errors.Is(cause, secrets.ErrNotFound), errors.Is(cause, secrets.ErrFormat):
		dep = "SECRETS"
	}
	return string(code) + "_" + dep
}

// trackedBody notes whether the request body was read to its end.
type trackedBody struct {
	io.ReadCloser
	eof bool
}

func (b *trackedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF {
		b.eof = true
	}
	return n, err
}

// log writes the request's one line: INFO for answers, WARN for 503s (a
// dependency's fault), ERROR for other 5xx (ours).
func (q *request) log(status int, latency time.Duration) {
	level := slog.LevelInfo
	switch {
	case status >= 500 && status != http.StatusServiceUnavailable:
		level = slog.LevelError
	case status >= 500:
		level = slog.LevelWarn
	}
	attrs := []slog.Attr{
		slog.String("request_id", q.id),
		slog.String("method", q.r.Method),
		slog.String("route", q.route),
		slog.Int("status", status),
		slog.Float64("latency_ms", float64(latency.Microseconds())/1000),
	}
	if q.customerID != "" {
		attrs = append(attrs, slog.String("customer_id", q.customerID))
	}
	if q.platformID != "" {
		attrs = append(attrs, slog.String("platform_id", q.platformID))
	}
	attrs = append(attrs, q.attrs...)
	if q.cause != nil {
		attrs = append(attrs, slog.String("error", q.cause.Error()))
	}
	attrs = append(attrs, q.metrics.Attrs(q.outcome, time.Now())...)
	q.logger.LogAttrs(q.ctx, level, "request", attrs...)
}

// serve produces the answer; a panic anywhere below becomes a 500.
func (q *request) serve() (resp response) {
	defer func() {
		if p := recover(); p != nil {
			resp = q.fail(kyc.Internal(fmt.Errorf("panic: %v\n%s", p, debug.Stack())))
		}
	}()
	if err := checkHeaderSize(q.r.Header); err != nil {
		return q.fail(err)
	}
	rawID, err := matchRoute(q.r)
	if err != nil {
		return q.fail(err)
	}
	q.route = Route

	if q.platformID, err = q.h.Auth.Authenticate(q.ctx, q.r.Header.Get("Authorization")); err != nil {
		if !errors.Is(err, auth.ErrBadCredentials) {
			err = fault.Outage("Authentication is temporarily unavailable.", time.Second, err)
		}
		return q.fail(err)
	}

	in, err := parseInput(q.r, rawID, q.h.LocalRedirects)
	if err != nil {
		return q.fail(err)
	}
	q.customerID = in.CustomerID
	if in.IdempotencyKey == "" || q.h.Idempotency == nil {
		limited := q.limit()
		c, err := q.h.Links.Customer(q.ctx, q.platformID, in.CustomerID)
		if err != nil {
			return q.fail(err)
		}
		if err := q.limited(q.ctx, limited); err != nil {
			return q.fail(err)
		}
		return q.linkFor(q.ctx, c, in)
	}
	return q.idempotent(in)
}

// limit starts counting this link against the rate limits and returns
// where the verdict will arrive (nil without a Limiter).
func (q *request) limit() <-chan error {
	if q.h.Limiter == nil {
		return nil
	}
	verdict := make(chan error, 1)
	go func() {
		// A counter store that hangs must not hold the link: past this
		// bound the limit is skipped (fail open, logged).
		ctx, cancel := context.WithTimeout(q.ctx, limiterTimeout)
		defer cancel()
		verdict <- q.h.Limiter.Allow(ctx, q.platformID)
	}()
	return verdict
}

// limiterTimeout bounds the rate-limit check (DynamoDB answers in ms).
const limiterTimeout = 300 * time.Millisecond

// limited waits for the verdict: a refusal is 429 RATE_LIMITED.
func (q *request) limited(ctx context.Context, verdict <-chan error) error {
	if verdict == nil {
		return nil
	}
	var err error
	select {
	case err = <-verdict:
	case <-ctx.Done():
		return kyc.Unavailable("The service is temporarily unavailable.", time.Second, ctx.Err())
	}
	var lim *ratelimit.ErrLimited
	switch {
	case errors.As(err, &lim):
		return &kyc.Error{Code: codeRateLimited, RetryAfter: lim.RetryAfter,
			Message: "Too many verification links for this platform, or in all; retry after the time in Retry-After."}
	case err != nil:
		q.logger.WarnContext(ctx, "rate limit store unavailable; link allowed", "error", err.Error())
	}
	return nil
}

func (q *request) linkFor(ctx context.Context, c kyc.Customer, in linkInput) response {
	link, err := q.h.Links.LinkFor(ctx, c, in.RedirectURI)
	if err != nil {
		return q.fail(err)
	}
	resp := jsonResponse(http.StatusCreated, linkBody{
		KYCURL:    link.URL,
		ExpiresAt: link.ExpiresAt.UTC().Format(time.RFC3339),
		Provider:  link.Provider,
		Token:     link.Token,
	})
	// A replay must not hand out a dead link: the stored answer ends with it.
	resp.ExpiresAt = link.ExpiresAt
	return resp
}

// fail renders err for the caller and keeps its cause for the log line
// and its outcome for the metrics.
func (q *request) fail(err error) response {
	if e := kyc.AsError(err); e.Cause != nil && !errors.Is(err, auth.ErrBadCredentials) {
		q.cause = e.Cause
	}
	resp, shown := render(err, q.id)
	reason, _ := shown.Details["reason"].(string)
	q.outcome = failureOutcome(resp.Status, shown.Code, reason, q.cause)
	return resp
}

type linkBody struct {
	KYCURL    string `json:"kycUrl"`
	ExpiresAt string `json:"expiresAt"`
	Provider  string `json:"provider"`
	Token     string `json:"token,omitempty"`
}

// matchRoute returns the still-escaped customer id segment, or the 404/405
// for a request that is not for our route.
func matchRoute(r *http.Request) (string, error) {
	rest, ok := strings.CutPrefix(r.URL.EscapedPath(), "/customers/")
	if ok {
		rest, ok = strings.CutSuffix(rest, "/kyc-link")
	}
	if !ok || strings.Contains(rest, "/") {
		return "", kyc.Errorf(codeRouteNotFound, "No route matches %s %s.", r.Method, truncate(r.URL.EscapedPath(), 200))
	}
	if r.Method != http.MethodPost {
		return "", kyc.Errorf(codeMethodNotAllowed, "This route accepts only POST.")
	}
	return rest, nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// Routing codes: the edge's own, the domain has no routes.
const (
	codeRouteNotFound    kyc.Code = "NOT_FOUND"
	codeMethodNotAllowed kyc.Code = "METHOD_NOT_ALLOWED"
	// codeRateLimited is the edge's own too: limits are a property of
	// the API, not of verification.
	codeRateLimited kyc.Code = "RATE_LIMITED"
)

// statusOf is the one table from error codes to HTTP statuses.
var statusOf = map[kyc.Code]int{
	kyc.CodeInvalid:      http.StatusBadRequest,
	kyc.CodeUnauthorized: http.StatusUnauthorized,
	kyc.CodeNotFound:     http.StatusNotFound,
	codeRouteNotFound:    http.StatusNotFound,
	codeMethodNotAllowed: http.StatusMethodNotAllowed,
	codeRateLimited:      http.StatusTooManyRequests,
	kyc.CodeConflict:     http.StatusConflict,
	kyc.CodeUnavailable:  http.StatusServiceUnavailable,
	kyc.CodeInternal:     http.StatusInternalServerError,
}

type errorBody struct {
	Status  int            `json:"status"`
	Code    kyc.Code       `json:"code"`
	Message string         `json:"message"`
	Details map[string]any `json:"details,omitempty"`
}

// render renders err in the Grid error shape and returns the error as
// shown to the caller (credentials failures and unknown codes mapped).
// Only the code, message and details reach the caller; a 5xx carries the
// request id so support can find the logged cause.
func render(err error, rid string) (response, *kyc.Error) {
	e := kyc.AsError(err)
	if errors.Is(err, auth.ErrBadCredentials) {
		e = kyc.Errorf(kyc.CodeUnauthorized, "Missing or invalid API credentials; use HTTP Basic auth with your API token id and client secret.")
	}
	status, ok := statusOf[e.Code]
	if !ok {
		status = http.StatusInternalServerError
		e = kyc.Internal(e)
	}
	details := e.Details
	if status >= 500 {
		details = map[string]any{"requestId": rid}
		for k, v := range e.Details {
			details[k] = v
		}
	}
	resp := jsonResponse(status, errorBody{Status: status, Code: e.Code, Message: e.Message, Details: details})
	switch e.Code {
	case kyc.CodeUnauthorized:
		resp.Header.Set("WWW-Authenticate", `Basic realm="Grid"`)
	case codeMethodNotAllowed:
		resp.Header.Set("Allow", http.MethodPost)
	}
	if e.Code == kyc.CodeConflict && e.RetryAfter == 0 {
		// Grid's SDKs retry 409s; this one will not change by retrying.
		resp.Header.Set("X-Should-Retry", "false")
	}
	if e.RetryAfter > 0 {
		secs := int((e.RetryAfter + time.Second - 1) / time.Second)
		resp.Header.Set("Retry-After", fmt.Sprint(secs))
		resp.Header.Set("Retry-After-Ms", fmt.Sprint(e.RetryAfter.Milliseconds()))
	}
	return resp, e
}

func jsonResponse(status int, v any) response {
	body, err := json.Marshal(v)
	if err != nil {
		// Our bodies are plain structs of strings; this cannot fail.
		panic(err)
	}
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	// Links and tokens are single-use secrets: no cache may keep them.
	h.Set("Cache-Control", "no-store")
	return response{Status: status, Header: h, Body: body}
}
