package httpapi

import (
	"log/slog"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/grid-kyc/kyc-link/pkg/idempotency"
	"github.com/grid-kyc/kyc-link/pkg/kyc"
	"github.com/grid-kyc/kyc-link/pkg/sandbox"
	"github.com/grid-kyc/kyc-link/pkg/sumsub"
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
	// A person's decision on a verification waiting for manual review.
	InboxDecisionRoute = "POST /sandbox/verifications/{verificationId}"
	// make run's stand-in for S3's presigned POST (direct uploads).
	LocalUploadRoute = "POST /sandbox/uploads"
)

// GridBasePath is the versioned prefix of Grid's base URL
// (https://api.lightspark.com/grid/2025-10-13), which Grid's CLI and SDKs
// put before every route. Behind a custom domain's base-path mapping
// (template parameter DomainName) API Gateway passes it on in the event's
// path, so the router, which both entries serve, strips it.
const GridBasePath = "/grid/2025-10-13"

// Function is what serves a route: one of the stack's functions
// (template.yaml), or a local-only part of the sandbox.
type Function int

const (
	// LinkFunction is functions/kyc-link.
	LinkFunction Function = iota + 1
	// PlatformFunction is functions/platform-api.
	PlatformFunction
	// ReceiverFunction is functions/sumsub-webhook.
	ReceiverFunction
	// SandboxFunction is the sandbox provider's verification pages
	// (beside the link, with the sandbox provider only).
	SandboxFunction
	// InboxFunction is the local platforms' inbox (make run, make dev).
	InboxFunction
	// LocalFilesFunction receives make run's direct uploads (the memory
	// backend's stand-in for S3).
	LocalFilesFunction
)

// Server is everything this service answers over HTTP. A nil part is not
// served (its function's routes are 404), so each function serves only
// its own: the link function the link, the receiver the receiver, the
// local server all.
type Server struct {
	Link     *Link
	Platform *Platform
	Receiver *SumsubReceiver
	// Sandbox serves the sandbox verification pages; Inbox the local
	// platforms' inbox and the key it verifies with. Both only with the
	// sandbox provider.
	Sandbox *sandbox.Provider
	Inbox   *sandbox.Inbox
	// LocalUploads receives direct uploads under make run.
	LocalUploads *sandbox.LocalUploads
	// Auth authenticates the rows that need a platform's credentials.
	Auth Authenticator
	// Idempotency makes the idempotent rows safe to retry with an
	// Idempotency-Key; nil ignores the (still validated) header.
	Idempotency *idempotency.Guard
	Logger      *slog.Logger
	// Timeout bounds each API request; 0 leaves the context's own
	// deadline (Lambda's invocation deadline) in charge.
	Timeout time.Duration
}

// route is one row of the routing table: everything about a route. The
// pipeline (Server.apply) does what the row declares, in this order:
// authenticate, check the path, read the Idempotency-Key, read the body;
// then serve runs.
type route struct {
	pattern string
	serves  Function
	// auth: the route needs a platform's credentials (HTTP Basic).
	auth bool
	// path checks the path's values before the key or the body is read.
	path func(*request) error
	// idempotent: the route takes an Idempotency-Key (serve runs its work
	// through request.once).
	idempotent bool
	body       bodyRule
	// An API route has serve (through the pipeline); a sandbox page has
	// page (plain HTTP, with X-Request-Id).
	serve func(*request) response
	page  http.HandlerFunc
}

// bodyKind is how the pipeline reads a route's body.
type bodyKind int

const (
	// noBody: the body is not read (one sent is ignored).
	noBody bodyKind = iota
	// jsonBody: read into request.body, up to the limit, as JSON
	// (readBody).
	jsonBody
	// multipartBody: a multipart/form-data body up to the limit, its
	// parts in request.form.
	multipartBody
	// ownBody: the handler reads the body itself, up to the limit (the
	// receiver: sumsub.ReadWebhook words its own refusals).
	ownBody
)

// bodyRule is a route's body: its kind and, when read, its limit in bytes.
type bodyRule struct {
	kind  bodyKind
	limit int
	// tooLarge, when set, words the refusal of a body over the limit.
	tooLarge func(limit int) error
}

// jsonUpTo is a JSON body of at most limit bytes.
func jsonUpTo(limit int) bodyRule { return bodyRule{kind: jsonBody, limit: limit} }

// multipartUpTo is a multipart/form-data body of at most limit bytes.
func multipartUpTo(limit int) bodyRule { return bodyRule{kind: multipartBody, limit: limit} }

// table is the routing table: every route this service has, once. Adding
// a route is one row (and its handler, and its use case in pkg/kyc).
func (s *Server) table() []route {
	page := func(pattern string, fn Function, h http.HandlerFunc) route {
		return route{pattern: pattern, serves: fn, page: h}
	}
	l, p, sb, in, lu := s.Link, s.Platform, s.Sandbox, s.Inbox, s.LocalUploads
	return []route{
		{pattern: LinkRoute, serves: LinkFunction, auth: true, path: customerIDInPath, idempotent: true, body: jsonUpTo(MaxBody), serve: l.serve},

		{pattern: CreateCustomerRoute, serves: PlatformFunction, auth: true, idempotent: true, body: jsonUpTo(MaxBody), serve: p.create},
		{pattern: ListCustomersRoute, serves: PlatformFunction, auth: true, serve: p.list},
		{pattern: GetCustomerRoute, serves: PlatformFunction, auth: true, path: noteCustomerID, serve: p.get},
		{pattern: UpdateCustomerRoute, serves: PlatformFunction, auth: true, path: noteCustomerID, body: jsonUpTo(MaxBody), serve: p.update},
		{pattern: DeleteCustomerRoute, serves: PlatformFunction, auth: true, path: noteCustomerID, serve: p.delete},
		{pattern: GetConfigRoute, serves: PlatformFunction, auth: true, serve: p.getConfig},
		{pattern: UpdateConfigRoute, serves: PlatformFunction, auth: true, body: jsonUpTo(MaxBody), serve: p.updateConfig},
		// Grid's route has no body; one sent is not read.
		{pattern: TestWebhookRoute, serves: PlatformFunction, auth: true, serve: p.testWebhook},
		{pattern: VerifyEmailRoute, serves: PlatformFunction, auth: true, path: noteCustomerID, serve: p.sendCode(kyc.ChannelEmail)},
		{pattern: ConfirmEmailRoute, serves: PlatformFunction, auth: true, path: noteCustomerID, body: jsonUpTo(MaxBody), serve: p.confirmCode(kyc.ChannelEmail)},
		{pattern: VerifyPhoneRoute, serves: PlatformFunction, auth: true, path: noteCustomerID, serve: p.sendCode(kyc.ChannelPhone)},
		{pattern: ConfirmPhoneRoute, serves: PlatformFunction, auth: true, path: noteCustomerID, body: jsonUpTo(MaxBody), serve: p.confirmCode(kyc.ChannelPhone)},
		{pattern: UploadDocumentRoute, serves: PlatformFunction, auth: true, idempotent: true, body: documentBody(), serve: p.uploadDocument},
		{pattern: ListDocumentsRoute, serves: PlatformFunction, auth: true, serve: p.listDocuments},
		{pattern: GetDocumentRoute, serves: PlatformFunction, auth: true, serve: p.getDocument},
		{pattern: ReplaceDocumentRoute, serves: PlatformFunction, auth: true, body: documentBody(), serve: p.replaceDocument},
		{pattern: DeleteDocumentRoute, serves: PlatformFunction, auth: true, serve: p.deleteDocument},
		{pattern: CreateVerificationRoute, serves: PlatformFunction, auth: true, idempotent: true, body: jsonUpTo(MaxBody), serve: p.createVerification},
		{pattern: ListVerificationsRoute, serves: PlatformFunction, auth: true, serve: p.listVerifications},
		{pattern: GetVerificationRoute, serves: PlatformFunction, auth: true, serve: p.getVerification},
		{pattern: CreateOwnerRoute, serves: PlatformFunction, auth: true, idempotent: true, body: jsonUpTo(MaxBody), serve: p.createOwner},
		{pattern: ListOwnersRoute, serves: PlatformFunction, auth: true, serve: p.listOwners},
		{pattern: GetOwnerRoute, serves: PlatformFunction, auth: true, serve: p.getOwner},
		{pattern: UpdateOwnerRoute, serves: PlatformFunction, auth: true, body: jsonUpTo(MaxBody), serve: p.updateOwner},
		{pattern: CreateUploadRoute, serves: PlatformFunction, auth: true, idempotent: true, body: jsonUpTo(MaxBody), serve: p.createUpload},
		{pattern: CompleteUploadRoute, serves: PlatformFunction, auth: true, body: jsonUpTo(MaxBody), serve: p.completeUpload},

		// Authenticated by the body's digest, not by a platform.
		{pattern: WebhookRoute, serves: ReceiverFunction, body: bodyRule{kind: ownBody, limit: sumsub.MaxWebhookBody}, serve: s.Receiver.serve},

		page(SandboxPageRoute, SandboxFunction, sb.Page),
		page(SandboxDecisionRoute, SandboxFunction, sb.Page),
		page(FaviconRoute, SandboxFunction, sandbox.Favicon),
		page(InboxPageRoute, InboxFunction, in.Page),
		page(InboxRawRoute, InboxFunction, in.Raw),
		page(InboxReceiveRoute, InboxFunction, in.Receive),
		page(WebhookKeyRoute, InboxFunction, in.WebhookKey),
		page(InboxDecisionRoute, InboxFunction, in.DecideVerification),
		page(LocalUploadRoute, LocalFilesFunction, lu.Receive),
	}
}

// noteCustomerID notes the path's customerId for the log line, before the
// body is read (the use case checks it).
func noteCustomerID(q *request) error {
	q.customerID = q.r.PathValue("customerId")
	return nil
}

// serves reports whether s serves fn's routes: whether it has fn's part.
func (s *Server) serves(fn Function) bool {
	switch fn {
	case LinkFunction:
		return s.Link != nil
	case PlatformFunction:
		return s.Platform != nil
	case ReceiverFunction:
		return s.Receiver != nil
	case SandboxFunction:
		return s.Sandbox != nil
	case InboxFunction:
		return s.Inbox != nil
	case LocalFilesFunction:
		return s.LocalUploads != nil
	}
	return false
}

// Needs reports what the routes of fns need beside their parts: an
// Authenticator (auth) and an idempotency guard (idempotent).
func Needs(fns ...Function) (auth, idempotent bool) {
	for _, rt := range (&Server{}).table() {
		for _, fn := range fns {
			if rt.serves == fn {
				auth = auth || rt.auth
				idempotent = idempotent || rt.idempotent
			}
		}
	}
	return auth, idempotent
}

// Patterns are the route patterns fn serves, in the table's order.
func Patterns(fn Function) []string {
	var ps []string
	for _, rt := range (&Server{}).table() {
		if rt.serves == fn {
			ps = append(ps, rt.pattern)
		}
	}
	return ps
}

// handler is the row's http.Handler: an API route through the request
// pipeline (pipeline.go), a page with the X-Request-Id every answer of
// the service carries.
func (s *Server) handler(rt route) http.Handler {
	if rt.page != nil {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Request-Id", requestID(r.Context()))
			rt.page(w, r)
		})
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		handle(w, r, s.Logger, s.Timeout, rt.pattern, func(q *request) response { return s.apply(rt, q) })
	})
}

// Handler is the router: the routing table's rows s serves on an
// http.ServeMux, at / and under GridBasePath. What the mux cannot route
// (no such path, another method, a path not in canonical form) is answered
// in the Grid shape: 404 NOT_FOUND, or 405 METHOD_NOT_ALLOWED with the
// mux's Allow.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	for _, rt := range s.table() {
		if s.serves(rt.serves) {
			mux.Handle(rt.pattern, s.handler(rt))
		}
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
