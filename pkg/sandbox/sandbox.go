// Package sandbox is a stand-in KYC provider for local runs: it mints links
// to a page served by the same process, so the whole flow can be clicked
// through without a Sumsub account. It verifies nobody.
package sandbox

import (
	"context"
	"crypto/rand"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/grid-kyc/kyc-link/pkg/kyc"
)

// PathPrefix is where the sandbox pages live.
const PathPrefix = "/sandbox/kyc/"

type session struct {
	req       kyc.LinkRequest
	expiresAt time.Time
	used      bool
}

// Provider mints sandbox links and serves their pages.
type Provider struct {
	// BaseURL is where this process is reachable, e.g. http://127.0.0.1:3000.
	BaseURL string
	Now     func() time.Time
	// Decide, when set, plays the provider's decision for a completed
	// session (the page's Approve, Reject and Hold buttons).
	Decide func(ctx context.Context, customerID, decision string) error

	mu       sync.Mutex
	sessions map[string]*session
}

var _ kyc.Provider = (*Provider)(nil)

// Name is SUMSUB although no Sumsub is involved: the contract's provider
// enum has that one value, and local clients must get answers they can
// parse exactly as production ones.
func (p *Provider) Name() string { return "SUMSUB" }

func (p *Provider) CreateLink(_ context.Context, r kyc.LinkRequest) (string, string, error) {
	id := rand.Text()
	now := p.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.sessions == nil {
		p.sessions = make(map[string]*session)
	}
	// Drop expired sessions so a long local run does not grow without end.
	for k, s := range p.sessions {
		if now.After(s.expiresAt) {
			delete(p.sessions, k)
		}
	}
	p.sessions[id] = &session{req: r, expiresAt: now.Add(r.TTL)}
	return strings.TrimRight(p.BaseURL, "/") + PathPrefix + id, "_act-sandbox-" + rand.Text(), nil
}

// page is parsed on first use, not at package initialisation: Lambda
// functions link this package but never serve its pages, and parsing
// cost a cold start about 1-3 ms (issue 28).
var page = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en"><head>` + head + `
<title>SANDBOX verification</title>
{{if .Continue}}<meta http-equiv="refresh" content="2;url={{.Continue}}">{{end}}
</head><body>
<p class="banner">SANDBOX: no identity is verified here. This page stands in for the provider's hosted flow.</p>
{{if .Problem}}<h1>{{.Problem}}</h1>
{{else if .Done}}<h1>Verification complete (sandbox)</h1>
{{if .Decided}}<p id="decided">Decision sent: {{.Decided}}. See <a href="/sandbox/inbox/">the platform inbox</a> for the Grid webhooks.</p>{{end}}
{{if .Continue}}<p id="continue">Continuing to <a href="{{.Continue}}">{{.ContinueHost}}</a>&hellip; (the link's redirectUri)</p>
{{else if .Placeholder}}<p id="placeholder" class="note">The link's redirectUri (<code>{{.Placeholder}}</code>) is a placeholder address, so the sandbox does not send you there.</p>
{{else}}<p class="note">The link has no redirectUri: you can close this page.</p>{{end}}
{{else}}<h1>Verify your identity</h1>
<dl><dt>Customer</dt><dd>{{.Req.CustomerID}}</dd><dt>Verification</dt><dd>{{.Req.Type}}</dd><dt>Link expires</dt><dd>{{.ExpiresAt}}</dd>
{{if .Req.RedirectURI}}<dt>Afterwards</dt><dd><code>{{.Req.RedirectURI}}</code></dd>{{end}}</dl>
<form method="post">{{if .CanDecide}}
<p>Play the provider's decision: the platform's inbox (<a href="/sandbox/inbox/">/sandbox/inbox/</a>) receives the Grid webhooks.</p>
<button name="decision" value="approve">Approve</button> <button name="decision" value="reject">Reject</button> <button name="decision" value="hold">Hold</button>
{{else}}<button type="submit">Complete verification (sandbox)</button>{{end}}</form>
{{end}}
</body></html>
`))
})

type view struct {
	Problem   string
	Done      bool
	Req       kyc.LinkRequest
	ExpiresAt string
	CanDecide bool
	Decided   string
	// After completion: where the page sends the user (a real
	// redirectUri), or the placeholder redirectUri it does not follow.
	Continue, ContinueHost string
	Placeholder            string
}

// Page shows a session (GET) and completes it (POST), at PathPrefix +
// {linkId} (httpapi's routing table). A session is
// single-use. After completion the page says what was sent and where it
// goes next: on to the link's redirectUri (after 2 s, with a link), or,
// without one or with a placeholder one (docs/local-runs.md), nowhere: it
// points to the inbox.
func (p *Provider) Page(w http.ResponseWriter, r *http.Request) {
	v := p.visit(r.PathValue("linkId"), r.Method == http.MethodPost)
	v.CanDecide = p.Decide != nil
	w.Header().Set("Cache-Control", "no-store")
	if decision := r.PostFormValue("decision"); v.Done && decision != "" && p.Decide != nil {
		if err := p.Decide(r.Context(), v.Req.CustomerID, decision); err != nil {
			v = view{Problem: "The decision could not be sent: " + err.Error()}
		} else {
			v.Decided = decision
		}
	}
	if v.Done && v.Req.RedirectURI != "" {
		if u, err := url.Parse(v.Req.RedirectURI); err == nil && !Placeholder(u.Hostname()) {
			v.Continue, v.ContinueHost = v.Req.RedirectURI, u.Host
		} else {
			v.Placeholder = v.Req.RedirectURI
		}
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if v.Problem != "" {
		w.WriteHeader(http.StatusNotFound)
	}
	page().Execute(w, v)
}

// Placeholder reports whether host is a name reserved so that it can never
// be a real site (RFC 2606): example.com, example.net, example.org and
// their subdomains, and names under .example or .invalid. The embedded
// seed's demo redirect (https://app.example.com/onboarding/done) is one.
func Placeholder(host string) bool {
	h := strings.TrimSuffix(strings.ToLower(host), ".")
	for _, reserved := range []string{"example.com", "example.net", "example.org", "example", "invalid"} {
		if h == reserved || strings.HasSuffix(h, "."+reserved) {
			return true
		}
	}
	return false
}

func (p *Provider) visit(id string, complete bool) view {
	p.mu.Lock()
	defer p.mu.Unlock()
	s, ok := p.sessions[id]
	switch {
	case !ok:
		return view{Problem: "This link is unknown."}
	case p.Now().After(s.expiresAt):
		return view{Problem: "This link has expired."}
	case s.used:
		return view{Problem: "This link has already been used."}
	}
	s.used = s.used || complete
	return view{Done: complete, Req: s.req, ExpiresAt: s.expiresAt.UTC().Format(time.RFC3339)}
}
