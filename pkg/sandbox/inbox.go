package sandbox

import (
	"cmp"
	"context"
	"crypto/ecdsa"
	"encoding/json"
	"errors"
	"html/template"
	"io"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/grid-kyc/kyc-link/pkg/gridhook"
	"github.com/grid-kyc/kyc-link/pkg/kyc"
)

// InboxPrefix is where local platforms receive their webhooks
// (InboxPrefix + platform id) and where the inbox page lists them; each
// webhook's raw body is at InboxPrefix + "raw/" + its number.
const InboxPrefix = "/sandbox/inbox/"

// WebhookKeyPath serves the PEM public key the local process signs Grid
// webhooks with: what a platform pins.
const WebhookKeyPath = "/sandbox/webhook-key"

const rawPrefix = InboxPrefix + "raw/"

// MaxEntries is how many webhooks the inbox keeps, and how many decisions
// and how many messages (the oldest go first).
const MaxEntries = 500

// Entry is one webhook the inbox received.
type Entry struct {
	Seq        int // 1, 2, …: its number in this inbox
	PlatformID string
	ID, Type   string
	Status     string // the customer's kycStatus or kybStatus in it
	CustomerID string
	// VerificationID is a VERIFICATION.* webhook's verification (its
	// Status the verificationStatus).
	VerificationID string
	Verified       bool // the X-Grid-Signature checked out against Grid's key
	// KeyFingerprint is gridhook.Fingerprint of the key the signature was
	// checked against; "" when no key could be had (KeyError says why).
	KeyFingerprint, KeyError string
	Duplicate                bool
	Answer                   int       // what the inbox answered
	At                       time.Time // when it arrived, UTC
	// Sent is the envelope's timestamp: when the change it carries was
	// made (zero when the body has none).
	Sent   time.Time
	Body   []byte // exactly as received
	Header http.Header
	Host   string
}

// Decision is one decision played on the sandbox page.
type Decision struct {
	CustomerID, Decision string
	At                   time.Time
	Err                  string // why it could not be sent
}

// Inbox is the local platform: it verifies each webhook's signature as a
// platform would (against the public key it pins), answers 409 to an id it
// has seen, and shows what arrived: each webhook's raw body and headers as
// received, the verdict and the key, a command to check it by hand, and
// each customer's status as the customer record has it now (a HOLD sends
// no webhook).
type Inbox struct {
	// Key returns the signing key whose public half the inbox pins.
	Key func(ctx context.Context) (*ecdsa.PrivateKey, error)
	// Customer, when set, reads a customer's record as it is now;
	// Verification a verification's.
	Customer     func(ctx context.Context, customerID string) (kyc.Customer, error)
	Verification func(ctx context.Context, id string) (kyc.Verification, error)
	// Decide, when set, plays a person's decision on a verification
	// PENDING_MANUAL_REVIEW (the provider's events, as the sandbox page's).
	Decide func(ctx context.Context, customerID, decision string) error
	Now    func() time.Time // time.Now when nil

	mu        sync.Mutex
	entries   []Entry
	seq       int
	seen      map[string]bool
	decisions []Decision
	messages  []Message
	version   int // changes with every webhook, decision and message
}

// Entries returns what arrived, oldest first.
func (in *Inbox) Entries() []Entry {
	in.mu.Lock()
	defer in.mu.Unlock()
	return slices.Clone(in.entries)
}

// Decisions returns the decisions played, oldest first.
func (in *Inbox) Decisions() []Decision {
	in.mu.Lock()
	defer in.mu.Unlock()
	return slices.Clone(in.decisions)
}

// Track wraps the sandbox page's Decide so that the inbox lists the
// customers decided on, webhook or not.
func (in *Inbox) Track(decide func(ctx context.Context, customerID, decision string) error) func(ctx context.Context, customerID, decision string) error {
	return func(ctx context.Context, customerID, decision string) error {
		err := decide(ctx, customerID, decision)
		d := Decision{CustomerID: customerID, Decision: decision, At: in.now()}
		if err != nil {
			d.Err = err.Error()
		}
		in.mu.Lock()
		in.decisions = append(in.decisions, d)
		if len(in.decisions) > MaxEntries {
			in.decisions = slices.Delete(in.decisions, 0, len(in.decisions)-MaxEntries)
		}
		in.version++
		in.mu.Unlock()
		return err
	}
}

func (in *Inbox) key(ctx context.Context) (*ecdsa.PrivateKey, error) {
	if in.Key == nil {
		return nil, errors.New("no signing key wired")
	}
	return in.Key(ctx)
}

func (in *Inbox) now() time.Time {
	if in.Now != nil {
		return in.Now().UTC()
	}
	return time.Now().UTC()
}

// The inbox's handlers; httpapi's routing table gives each its route:
// Receive POST InboxPrefix+{platformId}, Page GET InboxPrefix (and below),
// Raw GET InboxPrefix+"raw/{n}", WebhookKey GET WebhookKeyPath.

// Receive is a local platform's webhook endpoint.
func (in *Inbox) Receive(w http.ResponseWriter, r *http.Request) { in.receive(w, r) }

// Page shows what arrived.
func (in *Inbox) Page(w http.ResponseWriter, r *http.Request) { in.servePage(w, r) }

// Raw serves webhook n's body byte for byte.
func (in *Inbox) Raw(w http.ResponseWriter, r *http.Request) { in.serveRaw(w, r) }

// WebhookKey serves the public key the inbox verifies against (PEM).
func (in *Inbox) WebhookKey(w http.ResponseWriter, r *http.Request) { in.serveKey(w, r) }

func (in *Inbox) receive(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	e := Entry{PlatformID: r.PathValue("platformId"), At: in.now(),
		Body: body, Header: r.Header.Clone(), Host: r.Host}
	if k, err := in.key(r.Context()); err == nil {
		e.KeyFingerprint = gridhook.Fingerprint(&k.PublicKey)
		e.Verified = gridhook.Verify(&k.PublicKey, r.Header.Get(gridhook.SignatureHeader), body) == nil
	} else {
		e.KeyError = err.Error()
	}
	var env struct {
		ID, Type, Timestamp string
		Data                struct {
			ID, CustomerID, KYCStatus, KYBStatus, VerificationStatus string
		}
	}
	json.Unmarshal(body, &env)
	e.ID, e.Type, e.CustomerID = env.ID, env.Type, env.Data.ID
	e.Status = env.Data.KYCStatus + env.Data.KYBStatus
	if strings.HasPrefix(env.Type, "VERIFICATION.") {
		e.VerificationID, e.CustomerID, e.Status = env.Data.ID, env.Data.CustomerID, env.Data.VerificationStatus
	}
	if t, err := time.Parse(time.RFC3339Nano, env.Timestamp); err == nil {
		e.Sent = t.UTC()
	}
	in.mu.Lock()
	if in.seen == nil {
		in.seen = map[string]bool{}
	}
	e.Duplicate = in.seen[e.ID]
	in.seen[e.ID] = true
	switch {
	case !e.Verified:
		e.Answer = http.StatusUnauthorized
	case e.Duplicate:
		e.Answer = http.StatusConflict
	default:
		e.Answer = http.StatusOK
	}
	in.seq++
	e.Seq = in.seq
	in.entries = append(in.entries, e)
	if len(in.entries) > MaxEntries {
		in.entries = slices.Delete(in.entries, 0, len(in.entries)-MaxEntries)
	}
	in.version++
	in.mu.Unlock()
	w.WriteHeader(e.Answer)
}

func (in *Inbox) serveKey(w http.ResponseWriter, r *http.Request) {
	k, err := in.key(r.Context())
	if err != nil {
		http.Error(w, "no signing key: "+err.Error(), http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "application/x-pem-file")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Key-Fingerprint", gridhook.Fingerprint(&k.PublicKey))
	io.WriteString(w, gridhook.PublicPEM(k))
}

func (in *Inbox) serveRaw(w http.ResponseWriter, r *http.Request) {
	n, err := strconv.Atoi(r.PathValue("n"))
	in.mu.Lock()
	i, found := slices.BinarySearchFunc(in.entries, n, func(e Entry, n int) int { return cmp.Compare(e.Seq, n) })
	var e Entry
	if found && err == nil {
		e = in.entries[i]
	}
	in.mu.Unlock()
	if e.Seq == 0 {
		http.Error(w, "no such webhook in this inbox", http.StatusNotFound)
		return
	}
	ct := e.Header.Get("Content-Type")
	if ct == "" {
		ct = "application/octet-stream"
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Length", strconv.Itoa(len(e.Body)))
	w.Write(e.Body)
}

// lookupTimeout bounds reading the customers the page shows.
const lookupTimeout = 2 * time.Second

func (in *Inbox) servePage(w http.ResponseWriter, r *http.Request) {
	in.mu.Lock()
	entries, decisions, messages, version := slices.Clone(in.entries), slices.Clone(in.decisions), slices.Clone(in.messages), in.version
	in.mu.Unlock()
	base := "http://" + r.Host
	v := inboxView{Version: version, KeyURL: base + WebhookKeyPath}
	if k, err := in.key(r.Context()); err == nil {
		v.Fingerprint = gridhook.Fingerprint(&k.PublicKey)
	} else {
		v.KeyError = err.Error()
	}
	rows := map[string]*customerRow{}
	row := func(id string, at time.Time) *customerRow {
		c := rows[id]
		if c == nil {
			c = &customerRow{ID: id}
			rows[id] = c
		}
		c.last = max(c.last, at.UnixNano())
		return c
	}
	for _, d := range decisions {
		c := row(d.CustomerID, d.At)
		c.Decision, c.DecidedAt, c.DecisionErr = d.Decision, stamp(d.At), d.Err
	}
	// Each customer's newest webhook by its timestamp, as a platform keeps
	// it: deliveries can arrive out of order, so the last to arrive may be
	// an older change. Only webhooks the inbox accepted count.
	newest := map[string]time.Time{}
	verifications := map[string]*verificationRow{}
	for _, e := range entries {
		if e.VerificationID != "" {
			vr := verifications[e.VerificationID]
			if vr == nil {
				vr = &verificationRow{ID: e.VerificationID, CustomerID: e.CustomerID}
				verifications[e.VerificationID] = vr
			}
			if e.Answer == http.StatusOK && !e.Sent.Before(vr.sent) {
				vr.sent, vr.LastWebhook = e.Sent, e.Type
			}
			vr.last = max(vr.last, e.At.UnixNano())
			continue
		}
		if e.CustomerID == "" {
			continue
		}
		c := row(e.CustomerID, e.At)
		if e.Answer != http.StatusOK {
			continue
		}
		if seen, ok := newest[e.CustomerID]; !ok || !e.Sent.Before(seen) {
			newest[e.CustomerID] = e.Sent
			c.LastWebhook, c.LastStatus = e.Type, e.Status
		}
	}
	ctx, cancel := context.WithTimeout(r.Context(), lookupTimeout)
	defer cancel()
	for _, c := range rows {
		if in.Customer == nil {
			continue
		}
		cust, err := in.Customer(ctx, c.ID)
		if err != nil {
			c.LookupErr = kyc.AsError(err).Message
			continue
		}
		c.Platform, c.Type, c.Now = cust.PlatformID, string(cust.Type), string(cust.StatusOf())
		c.Field = "kycStatus"
		if cust.Type == kyc.Business {
			c.Field = "kybStatus"
		}
		c.Deleted = cust.IsDeleted
		c.Hold = cust.StatusOf() == kyc.StatusHold
	}
	for _, c := range rows {
		v.Customers = append(v.Customers, *c)
	}
	for _, vr := range verifications {
		if in.Verification != nil {
			cur, err := in.Verification(ctx, vr.ID)
			if err != nil {
				vr.LookupErr = kyc.AsError(err).Message
			} else {
				vr.Now = string(cur.Status)
				for _, e := range cur.Errors {
					vr.Errors = append(vr.Errors, e.Type)
				}
				vr.Pending = cur.Status == kyc.VerificationPendingManualReview && in.Decide != nil
			}
		}
		if in.Customer != nil {
			// A business's owners, each with the status its own review
			// gave it (ids and roles only: no names on this page).
			if c, err := in.Customer(ctx, vr.CustomerID); err == nil {
				for _, o := range c.Owners {
					vr.Owners = append(vr.Owners, ownerRow{ID: o.ID, Roles: strings.Join(o.Roles, ", "), Status: string(o.StatusOf())})
				}
			}
		}
		v.Verifications = append(v.Verifications, *vr)
	}
	slices.SortFunc(v.Verifications, func(a, b verificationRow) int { return cmp.Or(cmp.Compare(b.last, a.last), cmp.Compare(a.ID, b.ID)) })
	slices.SortFunc(v.Customers, func(a, b customerRow) int { return cmp.Or(cmp.Compare(b.last, a.last), cmp.Compare(a.ID, b.ID)) })
	for _, m := range slices.Backward(messages) {
		v.Messages = append(v.Messages, newMessageView(m))
	}
	for _, e := range slices.Backward(entries) {
		v.Webhooks = append(v.Webhooks, newEntryView(base, e))
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Inbox-Version", strconv.Itoa(version))
	if r.Method == http.MethodHead {
		return
	}
	inboxPage().Execute(w, v)
}

// stamp is a time as the pages show it: UTC, zone named.
func stamp(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05.000") + " UTC" }

type inboxView struct {
	Version               int
	KeyURL                string
	Fingerprint, KeyError string
	Customers             []customerRow
	Verifications         []verificationRow
	Messages              []messageView // newest first
	Webhooks              []entryView
}

type customerRow struct {
	ID, Platform, Type, Field, Now string
	Deleted, Hold                  bool
	LookupErr                      string
	Decision, DecidedAt            string
	DecisionErr                    string
	LastWebhook, LastStatus        string
	last                           int64
}

// verificationRow is a verification the inbox had webhooks of.
type verificationRow struct {
	ID, CustomerID, Now, LookupErr, LastWebhook string
	Errors                                      []string
	// Pending: a person decides it here (PENDING_MANUAL_REVIEW).
	Pending bool
	// Owners are a business's beneficial owners as they are now.
	Owners []ownerRow
	sent   time.Time
	last   int64
}

// ownerRow is a beneficial owner of a verification's business.
type ownerRow struct{ ID, Roles, Status string }

// DecideVerification plays a person's decision (form field decision:
// approve or reject) on a verification waiting for manual review, then
// shows the inbox again.
func (in *Inbox) DecideVerification(w http.ResponseWriter, r *http.Request) {
	id, decision := r.PathValue("verificationId"), r.FormValue("decision")
	if in.Verification == nil || in.Decide == nil || (decision != Approve && decision != RejectFinal && decision != Reject) {
		http.Error(w, "decision must be approve, reject or reject-final", http.StatusBadRequest)
		return
	}
	v, err := in.Verification(r.Context(), id)
	if err != nil {
		http.Error(w, kyc.AsError(err).Message, http.StatusNotFound)
		return
	}
	if v.Status != kyc.VerificationPendingManualReview {
		http.Error(w, "the verification is "+string(v.Status)+", not PENDING_MANUAL_REVIEW", http.StatusConflict)
		return
	}
	if err := in.Decide(r.Context(), v.CustomerID, decision); err != nil {
		http.Error(w, "the decision was not sent: "+err.Error(), http.StatusBadGateway)
		return
	}
	http.Redirect(w, r, InboxPrefix, http.StatusSeeOther)
}

type header struct{ Name, Value string }

type entryView struct {
	Entry
	When      string
	Headers   []header
	RawURL    string
	BodyText  string
	OpenSSL   string
	NodeCheck string
}

func newEntryView(base string, e Entry) entryView {
	v := entryView{Entry: e, When: stamp(e.At), RawURL: rawPrefix + strconv.Itoa(e.Seq), BodyText: string(e.Body)}
	v.Headers = append(v.Headers, header{"Host", e.Host})
	for _, name := range slices.Sorted(maps.Keys(e.Header)) {
		for _, val := range e.Header[name] {
			v.Headers = append(v.Headers, header{name, val})
		}
	}
	v.OpenSSL, v.NodeCheck = verifyCommands(base, e)
	return v
}

// signatureOf is the base64 signature in an X-Grid-Signature value:
// {"v":"1","s":"…"}, or a bare base64 value.
func signatureOf(h string) string {
	h = strings.TrimSpace(h)
	var sig struct {
		S string `json:"s"`
	}
	if json.Unmarshal([]byte(h), &sig) == nil {
		return sig.S
	}
	if strings.HasPrefix(h, "{") {
		return ""
	}
	return h
}

// verifyCommands are copy-paste commands that check e's signature by hand
// against the key the server serves: with openssl (prints "Verified OK")
// and with Node.js's crypto.verify (prints "verified"), both over the raw
// body as downloaded from the inbox.
func verifyCommands(base string, e Entry) (openssl, node string) {
	sig := signatureOf(e.Header.Get(gridhook.SignatureHeader))
	if sig == "" {
		return "", ""
	}
	n := strconv.Itoa(e.Seq)
	key, raw := shellQuote(base+WebhookKeyPath), shellQuote(base+rawPrefix+n)
	body, sigFile := "webhook-"+n+".json", "webhook-"+n+".sig"
	openssl = "curl -fsS -o grid-webhook-key.pem " + key + " && curl -fsS -o " + body + " " + raw +
		" && printf %s " + shellQuote(sig) + " | openssl base64 -d -A > " + sigFile +
		" && openssl dgst -sha256 -verify grid-webhook-key.pem -signature " + sigFile + " " + body
	node = `node -e 'const [k,b,s]=process.argv.slice(1);Promise.all([k,b].map(u=>fetch(u).then(r=>{if(!r.ok)throw new Error(u+": "+r.status);return r.arrayBuffer()}))).then(([key,body])=>console.log(require("crypto").verify("sha256",Buffer.from(body),Buffer.from(key),Buffer.from(s,"base64"))?"verified":"NOT verified"))' ` +
		key + " " + raw + " " + shellQuote(sig)
	return openssl, node
}

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// inboxPage is parsed on first use, not at package initialisation: Lambda
// functions link this package but never serve its pages, and parsing
// cost a cold start about 1-3 ms (issue 28).
var inboxPage = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("inbox").Parse(`<!doctype html>
<html lang="en"><head>` + head + `
<title>SANDBOX platform inbox</title>
</head><body data-version="{{.Version}}">
<p class="banner">SANDBOX: the Grid webhooks your platform would receive, and the codes your customers would.</p>
<h1>Platform inbox</h1>
<p id="key">Webhooks are checked as a platform does, against the public key served at <a href="{{.KeyURL}}">{{.KeyURL}}</a>
{{if .Fingerprint}}(SHA-256 fingerprint <code id="fingerprint">{{.Fingerprint}}</code>){{else}}<span class="bad">: no key ({{.KeyError}})</span>{{end}}.
Times are UTC; this page reloads when something arrives.</p>
{{if not (or .Customers .Messages .Webhooks .Verifications)}}<p>Nothing yet. Create a link, open it, and choose Approve, Reject or Hold.</p>{{end}}
{{if .Customers}}<h2>Customers</h2>
<p class="note">Status now is what the customer record says at this moment. The newest webhook is the one whose <code>timestamp</code> is latest, as a platform should keep it: webhooks can arrive out of order. Grid defines no HOLD webhook: after Hold the platform's newest webhook says PENDING while the record says HOLD.</p>
<div class="scroll"><table id="customers"><tr><th>customer</th><th>status now</th><th>decision played</th><th>newest webhook</th></tr>
{{range .Customers}}<tr data-customer="{{.ID}}" data-status="{{.Now}}"><td>{{.ID}}{{if .Type}}<br><span class="note">{{.Type}}, {{.Platform}}</span>{{end}}</td>
<td>{{if .LookupErr}}<span class="bad">{{.LookupErr}}</span>{{else if .Now}}<code>{{.Field}}</code> <b class="status-now">{{.Now}}</b>{{if .Deleted}} (deleted){{end}}{{if .Hold}}<br><span class="note">on hold: no webhook for this</span>{{end}}{{end}}</td>
<td>{{if .Decision}}{{.Decision}}<br><span class="note">{{.DecidedAt}}</span>{{if .DecisionErr}}<br><span class="bad">not sent: {{.DecisionErr}}</span>{{end}}{{else}}&mdash;{{end}}</td>
<td>{{if .LastWebhook}}{{.LastWebhook}}<br><span class="note">status {{.LastStatus}}</span>{{else}}none{{end}}</td></tr>
{{end}}</table></div>{{end}}
{{if .Verifications}}<h2>Verifications</h2>
<p class="note">Verifications submitted with <code>POST /verifications</code>, newest first. The sandbox decides each a moment after submission by the last three characters of the customer's fullName: 001 waits for a person here (PENDING_MANUAL_REVIEW), 002 is rejected, 003 is sent back with POOR_QUALITY_DOCUMENT, anything else is approved. A business by its businessInfo.registrationNumber: 001 and 003 wait for a person here, 002 is rejected, anything else is approved; each of its beneficial owners first, by its personalInfo.lastName: 001 stays PENDING, 002 is rejected, anything else is approved.</p>
<div class="scroll"><table id="verifications"><tr><th>verification</th><th>status now</th><th>newest webhook</th></tr>
{{range .Verifications}}<tr data-verification="{{.ID}}" data-status="{{.Now}}"><td>{{.ID}}<br><span class="note">customer {{.CustomerID}}</span>{{range .Owners}}<br><span class="note owner" data-owner="{{.ID}}" data-status="{{.Status}}">owner {{.ID}} ({{.Roles}}): <b>{{.Status}}</b></span>{{end}}</td>
<td>{{if .LookupErr}}<span class="bad">{{.LookupErr}}</span>{{else}}<b class="status-now">{{.Now}}</b>{{range .Errors}}<br><code>{{.}}</code>{{end}}{{end}}
{{if .Pending}}<form method="post" action="/sandbox/verifications/{{.ID}}"><button name="decision" value="approve">Approve</button> <button name="decision" value="reject-final">Reject</button> <button name="decision" value="reject">Send back</button></form>{{end}}</td>
<td>{{if .LastWebhook}}{{.LastWebhook}}{{else}}none{{end}}</td></tr>
{{end}}</table></div>{{end}}
<h2>Messages (contact verification codes)</h2>
{{if .Messages}}<p class="note">The codes <code>POST /customers/{customerId}/verify-email</code> and <code>/verify-phone</code> sent, newest first; confirm one with <code>/confirm</code> and <code>{"code":"…"}</code>. Under make run no email or SMS service is wired: nothing is delivered, and this page is where the code shows. A code whose delivery failed does not confirm.</p>
<div class="scroll"><table id="messages"><tr><th>code</th><th>sent to</th><th>when</th></tr>
{{range .Messages}}<tr class="message" data-customer="{{.CustomerID}}" data-channel="{{.Channel}}"><td><code class="code"><b>{{.Code}}</b></code>{{if .Err}}<br><span class="bad">delivery failed: {{.Err}}</span>{{end}}</td>
<td><span class="channel">{{.Channel}}</span> <span class="to">{{.To}}</span><br><span class="note">customer {{.CustomerID}}</span></td>
<td>{{.When}}<br><span class="note">expires {{if .Expires}}{{.Expires}}{{else}}&mdash;{{end}}</span></td></tr>
{{end}}</table></div>{{else}}<p id="no-messages">No codes sent yet.</p>{{end}}
{{if .Webhooks}}<h2>Webhooks, newest first</h2>
{{range .Webhooks}}<section class="hook" id="hook-{{.Seq}}" data-seq="{{.Seq}}" data-type="{{.Type}}" data-customer="{{.CustomerID}}" data-verified="{{.Verified}}">
<h3>#{{.Seq}} {{.Type}}</h3>
<dl><dt>received</dt><dd>{{.When}} by platform {{.PlatformID}}, answered {{.Answer}}</dd>
<dt>customer</dt><dd>{{.CustomerID}}: status {{.Status}} in this webhook</dd>
<dt>X-Grid-Signature</dt><dd>{{if .Verified}}<span class="ok">verified</span>{{else}}<span class="bad">INVALID</span>{{end}}
{{if .KeyFingerprint}}against key <code>{{.KeyFingerprint}}</code>{{else}}(no key: {{.KeyError}}){{end}}{{if .Duplicate}} (duplicate id: 409){{end}}</dd>
<dt>webhook id</dt><dd>{{.ID}}</dd></dl>
<details id="body-{{.Seq}}"><summary>Raw body ({{len .Body}} bytes, exactly as received)</summary><pre class="body">{{.BodyText}}</pre>
<a href="{{.RawURL}}" download="webhook-{{.Seq}}.json">download raw body</a></details>
<details id="headers-{{.Seq}}"><summary>Request headers as received</summary><pre class="headers">{{range .Headers}}{{.Name}}: {{.Value}}
{{end}}</pre></details>
{{if .OpenSSL}}<details id="check-{{.Seq}}"><summary>Check it by hand</summary>
<p>With openssl (prints <code>Verified OK</code>):</p><pre class="cmd-openssl">{{.OpenSSL}}</pre>
<p>With Node.js 18+ (prints verified, or NOT verified):</p><pre class="cmd-node">{{.NodeCheck}}</pre></details>{{end}}
</section>
{{end}}{{end}}
<script>
(function () {
  var version = document.body.dataset.version;
  document.querySelectorAll("details[id]").forEach(function (d) {
    if (sessionStorage.getItem("open:" + d.id)) d.open = true;
    d.addEventListener("toggle", function () {
      if (d.open) sessionStorage.setItem("open:" + d.id, "1"); else sessionStorage.removeItem("open:" + d.id);
    });
  });
  setInterval(function () {
    fetch(location.pathname, {method: "HEAD", cache: "no-store"}).then(function (r) {
      var v = r.headers.get("X-Inbox-Version");
      if (v && v !== version && window.getSelection().isCollapsed) location.reload();
    }).catch(function () {});
  }, 2000);
})();
</script>
</body></html>
`))
})
