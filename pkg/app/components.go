package app

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/grid-kyc/kyc-link/pkg/auth"
	"github.com/grid-kyc/kyc-link/pkg/awsstore"
	"github.com/grid-kyc/kyc-link/pkg/gridhook"
	"github.com/grid-kyc/kyc-link/pkg/httpapi"
	"github.com/grid-kyc/kyc-link/pkg/idempotency"
	"github.com/grid-kyc/kyc-link/pkg/kyc"
	"github.com/grid-kyc/kyc-link/pkg/ratelimit"
	"github.com/grid-kyc/kyc-link/pkg/sandbox"
	"github.com/grid-kyc/kyc-link/pkg/sumsub"
	"github.com/grid-kyc/kyc-link/pkg/telemetry"
	"github.com/grid-kyc/kyc-link/pkg/webhooks"
)

// The components: each use case and handler built from the root's stores
// and secrets, registering the start-up steps of what it reads. Build calls
// each at most once per entry and passes what two of them share.

// authenticator checks the platforms' API tokens.
func (r *root) authenticator() *auth.Authenticator {
	r.primeSecret(r.secrets.tokens)
	return &auth.Authenticator{Tokens: r.secrets.tokens}
}

// guard makes a route safe to retry with an Idempotency-Key.
func (r *root) guard() *idempotency.Guard {
	r.primeSecret(r.secrets.idempotencyKey.cache)
	return &idempotency.Guard{Store: r.stores.idempotency, Secret: r.secrets.idempotencyKey.get, Logger: r.logger}
}

// customers is the customers store of the link and the reviews, its
// connection opened at start.
func (r *root) customers() customerStores {
	r.prime("dynamodb connection", r.stores.warm)
	return r.stores.customers
}

// limits are the link limits per platform (their own, or the default) and
// in all (Sumsub's rate).
func (r *root) limits() kyc.Limiter {
	overrides := &ratelimit.Overrides{Source: r.stores.platformLimits, MaxAge: secretsMaxAge, Now: time.Now,
		Default: ratelimit.Limit{Rate: r.cfg.PlatformRateLimit, Burst: r.cfg.PlatformRateBurst}}
	// No start-up Scan: a platform's own limit loads on its first link (which gets the default).
	return &ratelimit.Limiter{Counter: r.stores.counters, Platform: overrides, Now: time.Now,
		Global: ratelimit.Limit{Rate: r.cfg.SumsubRateLimit, Burst: max(int(r.cfg.SumsubRateLimit), 1)}}
}

// inbox is the local platforms' page: it verifies what arrives against the
// signing key's public half, as a platform pins it, and shows each
// customer's status as the record has it now.
func (r *root) inbox() *sandbox.Inbox {
	r.primeSecret(r.secrets.signing)
	in := &sandbox.Inbox{Key: r.secrets.signing.Get, Customer: r.customers().FindCustomer,
		Verification: r.stores.verifications.VerificationRecord}
	in.Decide = r.decider(in)
	return in
}

// sandboxProvider is the local stand-in provider: its page plays Sumsub's
// decisions as signed events to this process's receiver, and the inbox
// notes each decision, so one that sends no webhook (Hold) shows there too.
func (r *root) sandboxProvider(inbox *sandbox.Inbox) *sandbox.Provider {
	return &sandbox.Provider{BaseURL: r.cfg.PublicURL, Now: time.Now, Decide: r.decider(inbox)}
}

// sumsubWebhookSecret reads the webhook secret from the Sumsub secret.
func (r *root) sumsubWebhookSecret() func(context.Context) (string, error) {
	r.primeSecret(r.secrets.sumsub)
	return func(ctx context.Context) (string, error) {
		c, err := r.secrets.sumsub.Get(ctx)
		return c.WebhookSecret, err
	}
}

// sumsubProvider mints links with Sumsub, its connection opened at start.
func (r *root) sumsubProvider() *sumsub.Provider {
	r.primeSecret(r.secrets.sumsub)
	client := &sumsub.Client{BaseURL: r.cfg.SumsubBaseURL, HTTP: newHTTPClient(r.tracing), Now: time.Now}
	if strings.HasPrefix(client.BaseURL, "https://") {
		// A TLS handshake to save (not with a local fake's plain HTTP).
		r.prime("sumsub connection", client.Warm)
	}
	return &sumsub.Provider{
		Client:      client,
		Credentials: r.secrets.sumsub,
		Levels:      map[kyc.CustomerType]string{kyc.Individual: r.cfg.LevelIndividual, kyc.Business: r.cfg.LevelBusiness},
	}
}

// newHTTPClient keeps connections to the provider alive across requests
// (and Lambda invocations). Each call is bounded by its context, not here.
func newHTTPClient(tr *telemetry.Tracing) *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = 8
	t.IdleConnTimeout = 90 * time.Second
	return &http.Client{Transport: tr.Transport("Sumsub", t)}
}

// link is the link route with provider.
func (r *root) link(provider kyc.Provider) *httpapi.Link {
	return &httpapi.Link{
		Links: &kyc.Links{Customers: r.customers(), Provider: provider, Limits: r.limits(), TTL: r.cfg.LinkTTL, Now: time.Now, Logger: r.logger},
		// Only the local sandbox page can be reached on loopback.
		LocalRedirects: r.cfg.Provider == ProviderSandbox,
	}
}

// receiver is Sumsub's webhook receiver: reviews move statuses and record
// the webhooks to deliver.
func (r *root) receiver() *httpapi.SumsubReceiver {
	r.primeSecret(r.secrets.sumsub)
	return &httpapi.SumsubReceiver{
		Credentials: r.secrets.sumsub,
		Reviews: &kyc.Reviews{Store: r.customers(), Notices: gridhook.NoticesAt(r.cfg.UmaDomain), Now: time.Now,
			Verifications: r.stores.verifications, VerificationNotices: gridhook.VerificationNotice, Owners: r.stores.customers},
	}
}

// testWebhookTimeout bounds a test webhook (as Grid's does).
const testWebhookTimeout = 5 * time.Second

// platformAPI is the platform's customers, configuration, test webhook
// and contact verification; inbox, when served, shows the codes sent.
func (r *root) platformAPI(inbox *sandbox.Inbox) *httpapi.Platform {
	r.primeSecret(r.secrets.signing)
	r.primeSecret(r.secrets.cursorKey.cache)
	allow := r.cfg.WebhookAllowLoopback
	customers := &kyc.Customers{Store: r.stores.customers, Sealer: r.stores.sealer, CursorKey: r.secrets.cursorKey.get,
		UmaDomain: r.cfg.UmaDomain, Contact: r.cfg.ContactRules, Now: time.Now}
	documents := &kyc.Documents{Store: r.stores.documents, Files: r.stores.files, Holders: r.stores.customers,
		Owners: r.stores.customers, CursorKey: r.secrets.cursorKey.get, Now: time.Now, InlineLimit: httpapi.InlineFileLimit}
	return &httpapi.Platform{
		Customers: customers,
		Documents: documents,
		Verifications: &kyc.Verifications{Store: r.stores.verifications, Customers: r.stores.customers, Documents: r.stores.documents,
			CustomerNotices: gridhook.NoticesAt(r.cfg.UmaDomain), VerificationNotices: gridhook.VerificationNotice,
			CursorKey: r.secrets.cursorKey.get, Now: time.Now},
		Uploads:  &kyc.DirectUploads{Documents: documents, Store: r.stores.uploads, Files: r.stores.direct, Now: time.Now},
		Owners:   &kyc.BeneficialOwners{Customers: customers, Store: r.stores.customers},
		Contacts: r.contactVerifications(customers, inbox),
		Platforms: &kyc.Platforms{Store: r.stores.platforms,
			CheckEndpoint: func(u string) error { return webhooks.CheckEndpoint(u, allow) },
			Sender:        &webhooks.TestSender{Key: r.secrets.signing, Client: webhooks.NewClient(testWebhookTimeout, allow), Now: time.Now},
			Now:           time.Now},
	}
}

// contactVerifications sends and confirms contact codes. With the sandbox
// provider (or the memory backend) the code is always kyc.SandboxCode, as
// in Grid's sandbox; the memory backend sends nothing; a served inbox
// shows every message.
func (r *root) contactVerifications(customers *kyc.Customers, inbox *sandbox.Inbox) *kyc.ContactVerifications {
	r.primeSecret(r.secrets.contactCodeKey.cache)
	v := &kyc.ContactVerifications{Customers: customers, Codes: r.stores.contactCodes, Email: r.stores.email, Phone: r.stores.sms,
		Key: r.secrets.contactCodeKey.get, Now: time.Now}
	if r.cfg.Provider == ProviderSandbox || r.memory() {
		v.NewCode = func() (string, error) { return kyc.SandboxCode, nil }
	}
	if r.memory() {
		none := kyc.SenderFunc(func(context.Context, kyc.ContactMessage) error { return nil })
		v.Email, v.Phone = none, none
	}
	if inbox != nil {
		v.Email, v.Phone = inbox.Sender(v.Email), inbox.Sender(v.Phone)
	}
	return v
}

// policy is when delivery retries and when it gives up.
func (r *root) policy() webhooks.Policy {
	return webhooks.Policy{Base: r.cfg.WebhookRetryBase, Max: 30 * time.Minute, RetryFor: r.cfg.WebhookRetryFor}
}

// deliverer signs and posts a webhook to the platform's URL in platforms,
// through the SSRF-safe client.
func (r *root) deliverer(platforms webhooks.Platforms) *webhooks.Deliverer {
	r.primeSecret(r.secrets.signing)
	client := webhooks.NewClient(r.cfg.WebhookAttemptTimeout, r.cfg.WebhookAllowLoopback)
	client.Transport = r.tracing.Transport("Webhook", client.Transport)
	return &webhooks.Deliverer{Platforms: platforms, Key: r.secrets.signing, AllowLoopback: r.cfg.WebhookAllowLoopback,
		Logger: r.logger, Client: client}
}

// worker delivers the queue's webhooks (AWS only).
func (r *root) worker() *webhooks.Worker {
	return &webhooks.Worker{Deliverer: r.deliverer(r.stores.platforms), Policy: r.policy(), Queue: r.stores.queue,
		DeadLetters: r.stores.deadLetters, AttemptTimeout: r.cfg.WebhookAttemptTimeout, Concurrency: 10, Now: time.Now, Logger: r.logger}
}

// relay moves the outbox's records to the queue (AWS only).
func (r *root) relay() *webhooks.Relay {
	return &webhooks.Relay{Queue: r.stores.queue, Outbox: awsstore.OutboxRecords{}, Logger: r.logger}
}

// streamPoller is the local stand-in for relay's event source mapping.
func (r *root) streamPoller(relay *webhooks.Relay) *awsstore.StreamPoller {
	return &awsstore.StreamPoller{Streams: r.stores.streams, Tables: r.stores.dynamodb,
		Table: r.cfg.OutboxTable, Relay: relay, Interval: 250 * time.Millisecond, Logger: r.logger}
}

// submissions hands complete verifications to provider (the job of each,
// at least once).
func (r *root) submissions(provider kyc.ReviewSubmitter, opener kyc.Opener, marks kyc.SubmissionMarks) *kyc.Submissions {
	return &kyc.Submissions{Verifications: r.stores.verifications, Marks: marks, Customers: r.stores.customers,
		Documents: r.stores.documents, Files: r.stores.files, Opener: opener, Provider: provider,
		Reviews: r.stores.customers, VerificationNotices: gridhook.VerificationNotice, Now: time.Now}
}

// reviewer is the provider's API-driven review: the sandbox's (decides by
// Grid's suffixes, a moment later, through decide) or Sumsub's.
func (r *root) reviewer(decide func(ctx context.Context, customerID, decision string) error) kyc.ReviewSubmitter {
	if r.cfg.Provider == ProviderSandbox {
		return &sandbox.Reviewer{Decide: decide, Delay: time.Second,
			Logf: func(format string, args ...any) { r.logger.Warn(fmt.Sprintf(format, args...)) }}
	}
	r.primeSecret(r.secrets.sumsub)
	return &sumsub.Reviewer{Client: &sumsub.Client{BaseURL: r.cfg.SumsubBaseURL, HTTP: newHTTPClient(r.tracing), Now: time.Now},
		Credentials: r.secrets.sumsub,
		Levels:      map[kyc.CustomerType]string{kyc.Individual: r.cfg.LevelIndividual, kyc.Business: r.cfg.LevelBusiness}}
}

// decider plays Sumsub's events to this process's receiver (the sandbox
// page's and the sandbox review's), each decision noted by inbox.
func (r *root) decider(inbox *sandbox.Inbox) func(ctx context.Context, customerID, decision string) error {
	d := &sandbox.Decider{URL: strings.TrimRight(r.cfg.PublicURL, "/") + "/webhooks/sumsub",
		Secret: r.sumsubWebhookSecret(), Client: &http.Client{Timeout: 10 * time.Second}, Now: time.Now}
	return inbox.Track(d.Decide)
}
