// Package httpapi is the HTTP edge of the service: routing, input
// validation, authentication, errors in the Grid shape and the access log.
// Lambda and the local server both serve this one http.Handler.
package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/grid-kyc/kyc-link/pkg/auth"
	"github.com/grid-kyc/kyc-link/pkg/idempotency"
	"github.com/grid-kyc/kyc-link/pkg/kyc"
	"github.com/grid-kyc/kyc-link/pkg/requestid"
)

// Route is the one route this service answers.
const Route = "POST /customers/{customerId}/kyc-link"

// Authenticator maps an Authorization header to a platform id. Credential
// problems are auth.ErrBadCredentials; anything else means it could not
// check.
type Authenticator interface {
	Authenticate(ctx context.Context, header string) (platformID string, err error)
}

// LinkCreator issues verification links (kyc.Service).
type LinkCreator interface {
	CreateLink(ctx context.Context, platformID, customerID, redirectURI string) (kyc.Link, error)
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
}

// response is one answer, buffered so it can be stored and replayed whole.
type response = idempotency.Response

// accessLog collects what the request's single log line reports.
type accessLog struct {
	route, customerID, platformID string
	err                           error
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.handle(w, r, h.serve)
}

// RejectEvent answers a request whose event could not be turned into an
// http.Request (see lambdahttp.Adapter.BadEvent).
func (h *Handler) RejectEvent(w http.ResponseWriter, r *http.Request, err error) {
	h.handle(w, r, func(_ context.Context, _ *http.Request, rid string, _ *accessLog) response {
		return errorResponse(kyc.InvalidField("request", "The request could not be read: %v.", err), rid)
	})
}

type serveFunc func(ctx context.Context, r *http.Request, rid string, log *accessLog) response

// handle runs serve under the request deadline, writes its answer and logs
// one line for it.
func (h *Handler) handle(w http.ResponseWriter, r *http.Request, serve serveFunc) {
	start := time.Now()
	ctx := r.Context()
	if h.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, h.Timeout)
		defer cancel()
	}
	rid := requestid.From(ctx)
	log := &accessLog{route: "unmatched"}

	resp := serve(ctx, r, rid, log)
	for k, vs := range resp.Header {
		w.Header()[k] = vs
	}
	w.Header().Set("X-Request-Id", rid)
	w.WriteHeader(resp.Status)
	w.Write(resp.Body)

	level := slog.LevelInfo
	switch {
	case resp.Status >= 500 && resp.Status != http.StatusServiceUnavailable:
		level = slog.LevelError
	case resp.Status >= 500:
		level = slog.LevelWarn
	}
	attrs := []slog.Attr{
		slog.String("request_id", rid),
		slog.String("method", r.Method),
		slog.String("route", log.route),
		slog.Int("status", resp.Status),
		slog.Float64("latency_ms", float64(time.Since(start).Microseconds())/1000),
	}
	if log.customerID != "" {
		attrs = append(attrs, slog.String("customer_id", log.customerID))
	}
	if log.platformID != "" {
		attrs = append(attrs, slog.String("platform_id", log.platformID))
	}
	if log.err != nil {
		attrs = append(attrs, slog.String("error", log.err.Error()))
	}
	h.Logger.LogAttrs(ctx, level, "request", attrs...)
}

// serve produces the answer; a panic anywhere below becomes a 500.
func (h *Handler) serve(ctx context.Context, r *http.Request, rid string, log *accessLog) (resp response) {
	defer func() {
		if p := recover(); p != nil {
			log.err = fmt.Errorf("panic: %v\n%s", p, debug.Stack())
			resp = errorResponse(kyc.Errorf(kyc.Internal, "An internal error occurred."), rid)
		}
	}()
	rawID, err := matchRoute(r)
	if err != nil {
		return errorResponse(err, rid)
	}
	log.route = Route

	platformID, err := h.Auth.Authenticate(ctx, r.Header.Get("Authorization"))
	if err != nil {
		if !errors.Is(err, auth.ErrBadCredentials) {
			log.err = err
			err = &kyc.Error{Code: kyc.Unavailable, Message: "Authentication is temporarily unavailable.", RetryAfter: time.Second, Cause: err}
		}
		return errorResponse(err, rid)
	}
	log.platformID = platformID

	in, err := parseInput(r, rawID)
	if err != nil {
		return errorResponse(err, rid)
	}
	log.customerID = in.CustomerID

	create := func(ctx context.Context) response { return h.createLink(ctx, platformID, in, rid, log) }
	if in.IdempotencyKey == "" || h.Idempotency == nil {
		return create(ctx)
	}
	return h.idempotent(ctx, platformID, in, rid, log, create)
}

func (h *Handler) createLink(ctx context.Context, platformID string, in linkInput, rid string, log *accessLog) response {
	link, err := h.Links.CreateLink(ctx, platformID, in.CustomerID, in.RedirectURI)
	if err != nil {
		e := kyc.AsError(err)
		if e.Cause != nil {
			log.err = e.Cause
		}
		return errorResponse(e, rid)
	}
	return jsonResponse(http.StatusCreated, linkBody{
		KYCURL:    link.URL,
		ExpiresAt: link.ExpiresAt.UTC().Format(time.RFC3339),
		Provider:  link.Provider,
		Token:     link.Token,
	})
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
		return "", kyc.Errorf(kyc.RouteNotFound, "No route matches %s %s.", r.Method, truncate(r.URL.EscapedPath(), 200))
	}
	if r.Method != http.MethodPost {
		return "", kyc.Errorf(kyc.MethodNotAllowed, "This route accepts only POST.")
	}
	return rest, nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

var statusOf = map[kyc.Code]int{
	kyc.Invalid:          http.StatusBadRequest,
	kyc.Unauthorized:     http.StatusUnauthorized,
	kyc.NotFound:         http.StatusNotFound,
	kyc.RouteNotFound:    http.StatusNotFound,
	kyc.MethodNotAllowed: http.StatusMethodNotAllowed,
	kyc.Conflict:         http.StatusConflict,
	kyc.Unavailable:      http.StatusServiceUnavailable,
	kyc.Internal:         http.StatusInternalServerError,
}

type errorBody struct {
	Status  int            `json:"status"`
	Code    kyc.Code       `json:"code"`
	Message string         `json:"message"`
	Details map[string]any `json:"details,omitempty"`
}

// errorResponse renders err in the Grid error shape. Only the code, message
// and details reach the caller; a 5xx carries the request id so support can
// find the logged cause.
func errorResponse(err error, rid string) response {
	e := kyc.AsError(err)
	if errors.Is(err, auth.ErrBadCredentials) {
		e = kyc.Errorf(kyc.Unauthorized, "Missing or invalid API credentials; use HTTP Basic auth with your API token id and client secret.")
	}
	status, ok := statusOf[e.Code]
	if !ok {
		status = http.StatusInternalServerError
		e = kyc.Errorf(kyc.Internal, "An internal error occurred.")
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
	case kyc.Unauthorized:
		resp.Header.Set("WWW-Authenticate", `Basic realm="Grid"`)
	case kyc.MethodNotAllowed:
		resp.Header.Set("Allow", http.MethodPost)
	}
	if e.RetryAfter > 0 {
		secs := int((e.RetryAfter + time.Second - 1) / time.Second)
		resp.Header.Set("Retry-After", fmt.Sprint(secs))
		resp.Header.Set("Retry-After-Ms", fmt.Sprint(e.RetryAfter.Milliseconds()))
	}
	return resp
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
