// Package httpapi is the HTTP edge of the service: routing, input
// validation, authentication, errors in the Grid shape and the access log.
// Lambda and the local server both serve the one http.Handler that
// Server.Handler builds (routes.go: the route table, a row per route;
// pipeline.go: what every API request goes through, and what its row
// declares; a file per function's handlers).
package httpapi

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/grid-kyc/kyc-link/pkg/auth"
	"github.com/grid-kyc/kyc-link/pkg/idempotency"

	"github.com/grid-kyc/kyc-link/pkg/kyc"
	"github.com/grid-kyc/kyc-link/pkg/telemetry"
)

// response is one answer, buffered so it can be stored and replayed whole.
type response = idempotency.Response

// request is one call, from arrival to answer: what it carries and what its
// single log line reports.
type request struct {
	logger *slog.Logger
	r      *http.Request
	ctx    context.Context // carries the request deadline
	id     string          // X-Request-Id

	route, customerID, platformID string
	// What the route's row had the pipeline read (Server.apply): the
	// Idempotency-Key ("" if none sent) and the guard it goes to, the
	// body, and a multipart body's parts.
	key   string
	guard *idempotency.Guard
	body  []byte
	form  *multipart.Reader
	// formLimit is the multipart body's limit, and tooLarge the route's
	// wording of a body over it (nil: the pipeline's).
	formLimit int
	tooLarge  func(limit int) error
	// attrs are further facts for the log line (a webhook's type, outcome).
	attrs []slog.Attr
	// cause is what went wrong behind the answer, for the log only.
	cause error
	// outcome names the answer for the metrics (fail sets it for errors).
	outcome string
	metrics *telemetry.Recorder
}

// RejectEvent answers, in the Grid shape and with a log line, a request
// whose event could not be turned into an http.Request, for any route.
func RejectEvent(logger *slog.Logger) func(w http.ResponseWriter, r *http.Request, err error) {
	return func(w http.ResponseWriter, r *http.Request, err error) {
		handle(w, r, logger, 0, "unmatched", func(q *request) response {
			return q.fail(kyc.InvalidField("request", "The request could not be read: %v.", err))
		})
	}
}

// handle runs serve under the request deadline (timeout, when set, else the
// context's own), writes its answer and logs one line for it.
func handle(w http.ResponseWriter, r *http.Request, logger *slog.Logger, timeout time.Duration, route string, serve func(*request) response) {
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

	ctx, rec := telemetry.WithMetrics(ctx)
	q := &request{logger: logger, r: r, ctx: ctx, id: requestID(ctx), route: route, metrics: rec}
	resp := q.serve(serve)
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
	if len(resp.Body) > 0 {
		// A Write, even of nothing, makes the Lambda proxy's writer guess
		// a Content-Type; a 204 must have none.
		w.Write(resp.Body)
	}
	if q.outcome == "" {
		q.outcome = successOutcome(q.route, resp)
	}
	q.log(resp.Status, time.Since(start))
}

// serve runs the route's serve: the one place a panic below any route
// becomes a 500, and where the headers' size is checked for every route.
func (q *request) serve(serve func(*request) response) (resp response) {
	defer func() {
		if p := recover(); p != nil {
			resp = q.fail(kyc.Internal(fmt.Errorf("panic: %v\n%s", p, debug.Stack())))
		}
	}()
	if err := checkHeaderSize(q.r.Header); err != nil {
		return q.fail(err)
	}
	return serve(q)
}

// apply serves q by its row: authenticate, check the path, read the
// Idempotency-Key and the body, as the row says and in that order (the
// order a request's defects are reported in), then the row's serve.
func (s *Server) apply(rt route, q *request) response {
	var err error
	if rt.auth {
		if q.platformID, err = s.Auth.Authenticate(q.ctx, q.r.Header.Get("Authorization")); err != nil {
			return q.fail(kyc.Reword(err, "Authentication is temporarily unavailable."))
		}
	}
	if rt.path != nil {
		if err := rt.path(q); err != nil {
			return q.fail(err)
		}
	}
	if rt.idempotent {
		if q.key, err = idempotencyKey(q.r.Header); err != nil {
			return q.fail(err)
		}
		q.guard = s.Idempotency
	}
	switch rt.body.kind {
	case noBody, ownBody:
		// Not read here.
	case jsonBody:
		q.body, err = readBody(q.r, rt.body.limit)
	case multipartBody:
		q.form, err = readMultipart(q.r, rt.body.limit)
		q.formLimit, q.tooLarge = rt.body.limit, rt.body.tooLarge
	}
	if errors.Is(err, errBodyTooLarge) && rt.body.tooLarge != nil {
		err = rt.body.tooLarge(rt.body.limit)
	}
	if err != nil {
		return q.fail(err)
	}
	return rt.serve(q)
}

// successOutcome names a 2xx answer for the metrics.
func successOutcome(route string, resp response) string {
	switch {
	case resp.Header.Get("Idempotent-Replayed") == "true":
		return "REPLAY"
	case resp.Status == http.StatusCreated && route == LinkRoute:
		return "LINK_ISSUED"
	case resp.Status == http.StatusCreated:
		return "CREATED"
	default:
		return "OK"
	}
}

// failureOutcome names an error answer for the metrics: the Grid code,
// with the conflict's reason, and for a 5xx the dependency the error
// names (PROVIDER, STORE, SECRETS), or OTHER for our own faults.
func failureOutcome(status int, e *kyc.Error, reason string) string {
	switch {
	case e.Code == kyc.CodeConflict && reason != "":
		return "CONFLICT_" + reason
	case status < 500:
		return string(e.Code)
	case e.Dependency == "":
		return string(e.Code) + "_OTHER"
	}
	return string(e.Code) + "_" + string(e.Dependency)
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

// fail renders err for the caller and keeps its cause for the log line
// and its outcome for the metrics.
func (q *request) fail(err error) response {
	if e := kyc.AsError(err); e.Cause != nil && !errors.Is(err, auth.ErrBadCredentials) {
		q.cause = e.Cause
	}
	resp, shown := render(err, q.id)
	reason, _ := shown.Details["reason"].(string)
	q.outcome = failureOutcome(resp.Status, shown, reason)
	if field, ok := shown.Details["field"].(string); ok && shown.Code == kyc.CodeInvalid {
		// The field's name, never its value (which may be personal data).
		q.attrs = append(q.attrs, slog.String("field", truncate(field, 100)))
	}
	return resp
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
)

// statusOf is the one table from error codes to HTTP statuses.
var statusOf = map[kyc.Code]int{
	kyc.CodeInvalid:           http.StatusBadRequest,
	kyc.CodeUnauthorized:      http.StatusUnauthorized,
	kyc.CodeNotFound:          http.StatusNotFound,
	kyc.CodeReferenceNotFound: http.StatusNotFound,
	codeRouteNotFound:         http.StatusNotFound,
	codeMethodNotAllowed:      http.StatusMethodNotAllowed,
	kyc.CodeRateLimited:       http.StatusTooManyRequests,
	kyc.CodeConflict:          http.StatusConflict,
	kyc.CodeUnavailable:       http.StatusServiceUnavailable,
	kyc.CodeInternal:          http.StatusInternalServerError,

	kyc.CodeCustomerDeleted:       http.StatusGone,
	kyc.CodeWebhookEndpointNotSet: http.StatusBadRequest,
	kyc.CodeWebhookDeliveryError:  http.StatusBadRequest,
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
	if e.Code == kyc.CodeUnauthorized {
		resp.Header.Set("WWW-Authenticate", `Basic realm="Grid"`)
	}
	if (e.Code == kyc.CodeConflict || e.Code == kyc.CodeCustomerDeleted) && e.RetryAfter == 0 {
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

// requestIDKey carries the id that ties a request's answer to its log line.
type requestIDKey struct{}

// WithRequestID returns ctx carrying id (API Gateway's request id, which
// the Lambda adapter passes on).
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

// RequestID returns the id ctx carries, "" if none.
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// requestID is the request's id: the one ctx carries or, when there is
// none (outside Lambda), a new random one.
func requestID(ctx context.Context) string {
	if id := RequestID(ctx); id != "" {
		return id
	}
	return strings.ToLower(rand.Text())
}
