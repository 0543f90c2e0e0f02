package httpapi

import (
	"log/slog"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/grid-kyc/kyc-link/pkg/kyc"
	"github.com/grid-kyc/kyc-link/pkg/sandbox"
)

// The routes, as http.ServeMux patterns. Route names in logs and metrics
// are these patterns.
const (
	LinkRoute    = "POST /customers/{customerId}/kyc-link"
	WebhookRoute = "POST /webhooks/sumsub"
	// The local sandbox's pages (make run, make dev): the hosted
	// verification page a link points to and the inbox that plays the
	// platforms. Paths as pkg/sandbox builds them.
	SandboxPageRoute     = "GET /sandbox/kyc/{linkId}"
	SandboxDecisionRoute = "POST /sandbox/kyc/{linkId}"
	FaviconRoute         = "GET /favicon.ico"
	InboxPageRoute       = "GET /sandbox/inbox/"
	InboxRawRoute        = "GET /sandbox/inbox/raw/{n...}"
	InboxReceiveRoute    = "POST /sandbox/inbox/{platformId}"
	WebhookKeyRoute      = "GET /sandbox/webhook-key"
)

// GridBasePath is the versioned prefix of Grid's base URL
// (https://api.lightspark.com/grid/2025-10-13), which Grid's CLI and SDKs
// put before every route. Behind a custom domain's base-path mapping
// (template parameter DomainName) API Gateway passes it on in the event's
// path, so the router, which both entries serve, strips it.
const GridBasePath = "/grid/2025-10-13"

// Server is everything this service answers over HTTP. A nil part is not
// served (its routes are 404), so each function serves only its own: the
// link function the link, the receiver the receiver, the local server all.
type Server struct {
	Link     *Link
	Platform *Platform
	Receiver *SumsubReceiver
	// Sandbox serves the sandbox verification pages; Inbox the local
	// platforms' inbox and the key it verifies with. Both only with the
	// sandbox provider.
	Sandbox *sandbox.Provider
	Inbox   *sandbox.Inbox
	Logger  *slog.Logger
	// Timeout bounds each API request; 0 leaves the context's own
	// deadline (Lambda's invocation deadline) in charge.
	Timeout time.Duration
}

// route is one entry of the routing table.
type route struct {
	pattern string
	handler http.Handler
}

// routes is the routing table: every route this service has, once.
func (s *Server) routes() []route {
	var rs []route
	if s.Link != nil {
		rs = append(rs, route{LinkRoute, s.api(LinkRoute, s.Link.serve)})
	}
	if s.Platform != nil {
		rs = append(rs, s.Platform.routes(s)...)
	}
	if s.Receiver != nil {
		rs = append(rs, route{WebhookRoute, s.api(WebhookRoute, s.Receiver.serve)})
	}
	if s.Sandbox != nil {
		page := withRequestID(s.Sandbox.Page)
		rs = append(rs, route{SandboxPageRoute, page}, route{SandboxDecisionRoute, page},
			route{FaviconRoute, withRequestID(sandbox.Favicon)})
	}
	if s.Inbox != nil {
		rs = append(rs, route{InboxPageRoute, withRequestID(s.Inbox.Page)},
			route{InboxRawRoute, withRequestID(s.Inbox.Raw)},
			route{InboxReceiveRoute, withRequestID(s.Inbox.Receive)},
			route{WebhookKeyRoute, withRequestID(s.Inbox.WebhookKey)})
	}
	return rs
}

// withRequestID serves a sandbox page with the X-Request-Id every answer
// of the service carries (the API's get it from the pipeline).
func withRequestID(serve http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Request-Id", requestID(r.Context()))
		serve(w, r)
	})
}

// api serves an API route through the request pipeline (pipeline.go).
func (s *Server) api(name string, serve func(*request) response) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		handle(w, r, s.Logger, s.Timeout, name, serve)
	})
}

// Handler is the router: the routing table on an http.ServeMux, at / and
// under GridBasePath. What the mux cannot route (no such path, another
// method, a path not in canonical form) is answered in the Grid shape: 404
// NOT_FOUND, or 405 METHOD_NOT_ALLOWED with the mux's Allow.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	for _, rt := range s.routes() {
		mux.Handle(rt.pattern, rt.handler)
	}
	dispatch := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h, pattern := mux.Handler(r)
		if pattern == "" || !canonical(r.URL.EscapedPath()) {
			s.unmatched(w, r, h)
			return
		}
		mux.ServeHTTP(w, r)
	})
	strip := http.StripPrefix(GridBasePath, dispatch)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, GridBasePath+"/") {
			strip.ServeHTTP(w, r)
			return
		}
		dispatch.ServeHTTP(w, r)
	})
}

// canonical reports whether the escaped path p is in the form the mux
// routes without a redirect (no empty, "." or ".." segment; "%2E%2E" is a
// segment like any other, as the mux sees it). An API client gets 404 for another form, not a 301 it would
// follow with its body dropped.
func canonical(p string) bool {
	if !strings.HasPrefix(p, "/") {
		return false // the mux would redirect it to "/"+p
	}
	c := path.Clean(p)
	if strings.HasSuffix(p, "/") && c != "/" {
		c += "/"
	}
	return c == p
}

// unmatched answers a request no route takes. The mux's own answer h
// (its 404, or its 405 with Allow) is run against a probe to learn which.
func (s *Server) unmatched(w http.ResponseWriter, r *http.Request, h http.Handler) {
	probe := &probe{header: http.Header{}}
	if canonical(r.URL.EscapedPath()) {
		h.ServeHTTP(probe, r)
	}
	handle(w, r, s.Logger, s.Timeout, "unmatched", func(q *request) response {
		if probe.status != http.StatusMethodNotAllowed {
			return q.fail(kyc.Errorf(codeRouteNotFound, "No route matches %s %s.", r.Method, truncate(r.URL.EscapedPath(), 200)))
		}
		allow := probe.header.Get("Allow")
		resp := q.fail(kyc.Errorf(codeMethodNotAllowed, "This route accepts only %s.", allow))
		resp.Header.Set("Allow", allow)
		return resp
	})
}

// probe is a ResponseWriter that keeps only the status and headers.
type probe struct {
	header http.Header
	status int
}

func (p *probe) Header() http.Header { return p.header }
func (p *probe) Write(b []byte) (int, error) {
	if p.status == 0 {
		p.status = http.StatusOK
	}
	return len(b), nil
}
func (p *probe) WriteHeader(status int) {
	if p.status == 0 {
		p.status = status
	}
}
