// Package lambdahttp serves an http.Handler from API Gateway events of both
// payload versions: REST API (v1) and HTTP API (v2).
package lambdahttp

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/awslabs/aws-lambda-go-api-proxy/core"

	"github.com/grid-kyc/kyc-link/pkg/httpapi"
)

// ErrNotHTTPEvent is returned for a payload that is no API Gateway event.
var ErrNotHTTPEvent = errors.New("lambdahttp: the event is neither an API Gateway REST (v1) nor HTTP API (v2) proxy event")

// Adapter turns events into requests for Handler and its answers into
// API Gateway responses.
type Adapter struct {
	Handler http.Handler
	// BadEvent answers an event that cannot become an http.Request (a body
	// flagged base64 that is not, a path that is no URL path). The request
	// it gets carries only the method.
	BadEvent func(w http.ResponseWriter, r *http.Request, err error)
	// Reserve is kept back from the invocation deadline so the handler
	// times out and answers before Lambda kills the invocation.
	Reserve time.Duration

	v1 core.RequestAccessor
	v2 core.RequestAccessorV2
}

// probe reads just enough of an event to tell the payload versions apart.
type probe struct {
	Version    string `json:"version"`
	HTTPMethod string `json:"httpMethod"`
}

// Invoke is the Lambda handler: it takes any API Gateway proxy event and
// returns the matching response type.
func (a *Adapter) Invoke(ctx context.Context, payload json.RawMessage) (any, error) {
	var p probe
	if err := json.Unmarshal(payload, &p); err != nil {
		return nil, ErrNotHTTPEvent
	}
	if deadline, ok := ctx.Deadline(); ok && a.Reserve > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, deadline.Add(-a.Reserve))
		defer cancel()
	}
	// The body is read as it stands in the payload (rawBody), shadowing
	// the event's own field, so a base64 body becomes bytes without a
	// string of it in between.
	switch {
	case p.Version == "2.0":
		var ev struct {
			events.APIGatewayV2HTTPRequest
			Body rawBody `json:"body"`
		}
		if err := json.Unmarshal(payload, &ev); err != nil {
			return nil, ErrNotHTTPEvent
		}
		raw, err := ev.Body.into(&ev.APIGatewayV2HTTPRequest.Body, &ev.IsBase64Encoded)
		return a.serveV2(ctx, &ev.APIGatewayV2HTTPRequest, raw, err)
	case p.HTTPMethod != "":
		var ev struct {
			events.APIGatewayProxyRequest
			Body rawBody `json:"body"`
		}
		if err := json.Unmarshal(payload, &ev); err != nil {
			return nil, ErrNotHTTPEvent
		}
		raw, err := ev.Body.into(&ev.APIGatewayProxyRequest.Body, &ev.IsBase64Encoded)
		return a.serveV1(ctx, &ev.APIGatewayProxyRequest, raw, err)
	}
	return nil, ErrNotHTTPEvent
}

// rawBody is an event's body as it stands in the payload: the JSON value,
// quotes included, a slice of the payload (encoding/json hands an
// Unmarshaler the input itself). The Lambda runtime reuses the payload's
// buffer once the invocation answers: into copies what it keeps (the
// decoded bytes, or the unquoted string), and nothing may hold a rawBody
// beyond it.
type rawBody []byte

func (b *rawBody) UnmarshalJSON(data []byte) error {
	*b = data
	return nil
}

// into reads the body: a base64 one is decoded straight from the payload
// into the one copy of its bytes the request gets (withBody; the inline
// upload's peak heap, BenchmarkInlineUploadPeakHeap), the event keeping
// none of it; any other is unquoted into body, which the proxy library
// carries. A body that is no string, or bad base64, is errBadBody.
func (b rawBody) into(body *string, isBase64 *bool) ([]byte, error) {
	if len(b) == 0 || string(b) == "null" {
		*body = ""
		return nil, nil
	}
	if !*isBase64 || bytes.IndexByte(b, '\\') >= 0 || len(b) < 2 || b[0] != '"' || b[len(b)-1] != '"' {
		if err := json.Unmarshal(b, body); err != nil {
			return nil, errBadBody
		}
		if !*isBase64 {
			return nil, nil
		}
		return decodeBody(body, isBase64)
	}
	// A JSON string without escapes: its bytes are the base64 text.
	enc := b[1 : len(b)-1]
	raw := make([]byte, base64.StdEncoding.DecodedLen(len(enc)))
	n, err := base64.StdEncoding.Decode(raw, enc)
	if err != nil {
		return nil, errBadBase64
	}
	*body, *isBase64 = "", false
	return raw[:n], nil
}

// serveV1 and serveV2 take the event by pointer: the body decodeBody takes
// out of it is then nobody's (a copy of the event would keep it).
func (a *Adapter) serveV1(ctx context.Context, ev *events.APIGatewayProxyRequest, raw []byte, err error) (events.APIGatewayProxyResponse, error) {
	// An empty but present multiValueHeaders would hide every header.
	if len(ev.MultiValueHeaders) == 0 {
		ev.MultiValueHeaders = nil
	}
	w := core.NewProxyResponseWriter()
	ctx = httpapi.WithRequestID(ctx, ev.RequestContext.RequestID)
	var req *http.Request
	if err == nil {
		// v1 query parameters are re-encoded by the library; only the path
		// is taken as sent.
		err = convertible(ev.HTTPMethod, ev.RequestContext.DomainName, ev.Path)
	}
	if err == nil {
		req, err = a.v1.EventToRequestWithContext(ctx, *ev)
		withBody(req, raw)
	}
	a.serve(ctx, w, req, ev.HTTPMethod, err)
	return w.GetProxyResponse()
}

func (a *Adapter) serveV2(ctx context.Context, ev *events.APIGatewayV2HTTPRequest, raw []byte, err error) (events.APIGatewayV2HTTPResponse, error) {
	// On a named stage the stage is the first path segment; our routes
	// do not include it.
	if st := ev.RequestContext.Stage; st != "" && st != "$default" {
		for _, p := range []*string{&ev.RawPath, &ev.RequestContext.HTTP.Path} {
			if rest, ok := strings.CutPrefix(*p, "/"+st+"/"); ok {
				*p = "/" + rest
			}
		}
	}
	w := core.NewProxyResponseWriterV2()
	ctx = httpapi.WithRequestID(ctx, ev.RequestContext.RequestID)
	var req *http.Request
	if err == nil {
		target := ev.RawPath
		if target == "" {
			target = ev.RequestContext.HTTP.Path
		}
		if ev.RawQueryString != "" {
			target += "?" + ev.RawQueryString
		}
		err = convertible(ev.RequestContext.HTTP.Method, ev.RequestContext.DomainName, target)
	}
	if err == nil {
		req, err = a.v2.EventToRequestWithContext(ctx, *ev)
		withBody(req, raw)
	}
	a.serve(ctx, w, req, ev.RequestContext.HTTP.Method, err)
	return w.GetProxyResponse()
}

// decodeBody decodes a base64 body and takes it out of the event: the
// request gets it (withBody) as the one copy of a document's bytes, which
// the proxy library would otherwise copy twice more (the inline upload's
// peak heap, BenchmarkInlineUploadPeakHeap), and a bad one is reported to
// the caller instead of failing inside the library. raw is nil for a body
// not base64-encoded, which the library carries as it is.
func decodeBody(body *string, isBase64 *bool) (raw []byte, err error) {
	if !*isBase64 {
		return nil, nil
	}
	raw, err = base64.StdEncoding.DecodeString(*body)
	if err != nil {
		return nil, errBadBase64
	}
	*body, *isBase64 = "", false
	return raw, nil
}

// withBody gives req the body decodeBody took out of its event.
func withBody(req *http.Request, raw []byte) {
	if req == nil || raw == nil {
		return
	}
	req.Body = io.NopCloser(bytes.NewReader(raw))
	req.ContentLength = int64(len(raw))
	req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(raw)), nil }
}

var (
	errBadBody   = errors.New("the body is not a JSON string")
	errBadBase64 = errors.New("the body is flagged base64 but is not valid base64")
	errBadTarget = errors.New("the method or path is not valid HTTP")
)

// convertible checks an event's method, host and target (path, and query
// where it is passed raw) the way the proxy library is about to
// (http.NewRequest on "https://" + host + target),
// so that an event it would refuse never reaches it: the library prints
// the raw method and path to stdout when it refuses one, and a path with
// a newline would forge log lines. We answer such an event ourselves and
// log our own line; the error names nothing from the event.
func convertible(method, domain, target string) error {
	host := "https://" + domain
	if custom, ok := os.LookupEnv(core.CustomHostVariable); ok {
		host = custom
	}
	if !strings.HasPrefix(target, "/") {
		target = "/" + target
	}
	if _, err := http.NewRequest(strings.ToUpper(method), host+target, nil); err != nil {
		return errBadTarget
	}
	return nil
}

func (a *Adapter) serve(ctx context.Context, w http.ResponseWriter, req *http.Request, method string, err error) {
	if err != nil {
		bad, _ := http.NewRequestWithContext(ctx, http.MethodGet, "/", nil)
		bad.Method = method
		a.BadEvent(w, bad, err)
		return
	}
	a.Handler.ServeHTTP(w, req)
}
