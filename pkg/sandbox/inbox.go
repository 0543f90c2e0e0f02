package sandbox

import (
	"context"
	"crypto/ecdsa"
	"encoding/json"
	"html/template"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/grid-kyc/kyc-link/pkg/gridhook"
)

// InboxPrefix is where local platforms receive their webhooks
// (InboxPrefix + platform id) and where the inbox page lists them.
const InboxPrefix = "/sandbox/inbox/"

// Entry is one webhook the inbox received.
type Entry struct {
	PlatformID string
	ID, Type   string
	Status     string // the customer's kycStatus or kybStatus in it
	CustomerID string
	Verified   bool // the X-Grid-Signature checked out against Grid's key
	Duplicate  bool
	At         time.Time
}

// Inbox is the local platform: it verifies each webhook's signature as a
// platform would (against the public key it pins), answers 409 to an id it
// has seen, and shows what arrived.
type Inbox struct {
	// Key returns the signing key whose public half the inbox pins.
	Key func(ctx context.Context) (*ecdsa.PrivateKey, error)

	mu      sync.Mutex
	entries []Entry
	seen    map[string]bool
}

// Entries returns what arrived, oldest first.
func (in *Inbox) Entries() []Entry {
	in.mu.Lock()
	defer in.mu.Unlock()
	return append([]Entry(nil), in.entries...)
}

func (in *Inbox) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		inboxPage.Execute(w, in.Entries())
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	e := Entry{PlatformID: strings.TrimPrefix(r.URL.Path, InboxPrefix), At: time.Now()}
	if k, err := in.Key(r.Context()); err == nil {
		e.Verified = gridhook.Verify(&k.PublicKey, r.Header.Get(gridhook.SignatureHeader), body) == nil
	}
	var env gridhook.Envelope
	json.Unmarshal(body, &env)
	e.ID, e.Type, e.CustomerID = env.ID, env.Type, env.Data.ID
	e.Status = env.Data.KYCStatus + env.Data.KYBStatus
	in.mu.Lock()
	if in.seen == nil {
		in.seen = map[string]bool{}
	}
	e.Duplicate = in.seen[e.ID]
	in.seen[e.ID] = true
	in.entries = append(in.entries, e)
	in.mu.Unlock()
	switch {
	case !e.Verified:
		w.WriteHeader(http.StatusUnauthorized)
	case e.Duplicate:
		w.WriteHeader(http.StatusConflict)
	default:
		w.WriteHeader(http.StatusOK)
	}
}

var inboxPage = template.Must(template.New("inbox").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>SANDBOX platform inbox</title>
<meta http-equiv="refresh" content="2">
<style>body{font-family:sans-serif;max-width:60em;margin:3em auto}.banner{background:#b00;color:#fff;padding:.5em 1em;font-weight:bold}td,th{padding:.2em .6em;text-align:left}.bad{color:#b00}</style>
</head><body>
<p class="banner">SANDBOX: the Grid webhooks your platform would receive.</p>
<h1>Platform inbox</h1>
{{if not .}}<p>Nothing yet. Create a link, open it, and choose Approve, Reject or Hold.</p>{{else}}
<table><tr><th>received</th><th>platform</th><th>type</th><th>customer</th><th>status</th><th>signature</th><th>webhook id</th></tr>
{{range .}}<tr><td>{{.At.Format "15:04:05"}}</td><td>{{.PlatformID}}</td><td>{{.Type}}</td><td>{{.CustomerID}}</td><td>{{.Status}}</td>
<td>{{if .Verified}}verified{{else}}<span class="bad">INVALID</span>{{end}}{{if .Duplicate}} (duplicate: 409){{end}}</td><td>{{.ID}}</td></tr>
{{end}}</table>{{end}}
</body></html>
`))
