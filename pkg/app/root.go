// Package app is the composition root: it builds the service's components
// from the configuration, each once, and hands each function (Entry)
// exactly what it serves. root.go: the components; entry.go: the
// functions and their one main; serve.go: the local HTTP server.
package app

import (
	"context"
	"crypto/ecdsa"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/grid-kyc/kyc-link/pkg/auth"
	"github.com/grid-kyc/kyc-link/pkg/awsstore"
	"github.com/grid-kyc/kyc-link/pkg/gridhook"
	"github.com/grid-kyc/kyc-link/pkg/httpapi"
	"github.com/grid-kyc/kyc-link/pkg/idempotency"
	"github.com/grid-kyc/kyc-link/pkg/kyc"
	"github.com/grid-kyc/kyc-link/pkg/memstore"
	"github.com/grid-kyc/kyc-link/pkg/ratelimit"
	"github.com/grid-kyc/kyc-link/pkg/sandbox"
	"github.com/grid-kyc/kyc-link/pkg/secrets"
	"github.com/grid-kyc/kyc-link/pkg/sumsub"
	"github.com/grid-kyc/kyc-link/pkg/telemetry"
	"github.com/grid-kyc/kyc-link/pkg/webhooks"
)

// Secrets are reread in the background this often. A token added in
// Secrets Manager works sooner: an unknown token id starts a reload (at most
// one per secretsEarlyRefresh per process), and the requests after it ends
// see the new token.
const (
	secretsMaxAge       = 5 * time.Minute
	secretsEarlyRefresh = 5 * time.Second
)

// root builds each component on first use, once, and keeps it: two
// components that need a third share it (one cache of a secret, one
// DynamoDB client and connection pool), and nothing is wired by changing
// what was built before. Building makes no network call (see prime).
type root struct {
	ctx    context.Context // the process's: ends background deliveries
	cfg    Config
	logger *slog.Logger

	mu      sync.Mutex
	built   map[string]any
	primers map[string]func(context.Context) error
}

func newRoot(ctx context.Context, cfg Config, logger *slog.Logger) *root {
	return &root{ctx: ctx, cfg: cfg, logger: logger, built: map[string]any{}, primers: map[string]func(context.Context) error{}}
}

// once returns the component name, building it with build the first time.
// A failed build is kept too: the same configuration fails the same way.
func once[T any](r *root, name string, build func() (T, error)) (T, error) {
	r.mu.Lock()
	if v, ok := r.built[name]; ok {
		r.mu.Unlock()
		b := v.(result[T])
		return b.v, b.err
	}
	r.mu.Unlock()
	v, err := build()
	r.mu.Lock()
	defer r.mu.Unlock()
	if prev, ok := r.built[name]; ok {
		b := prev.(result[T])
		return b.v, b.err
	}
	r.built[name] = result[T]{v, err}
	return v, err
}

type result[T any] struct {
	v   T
	err error
}

// prime registers a start-up step (loading a secret, opening a connection)
// for prime time.
func (r *root) primer(name string, step func(context.Context) error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.primers[name] = step
}

// prime does ahead of the first request what it would otherwise wait for,
// all side by side within ctx. In Lambda it runs in the init phase (full
// CPU, off the request path). A step that fails is logged and left to the
// request path, which retries it.
func (r *root) prime(ctx context.Context) {
	r.mu.Lock()
	steps := make(map[string]func(context.Context) error, len(r.primers))
	for k, v := range r.primers {
		steps[k] = v
	}
	r.mu.Unlock()
	var wg sync.WaitGroup
	for name, step := range steps {
		wg.Go(func() {
			if err := step(ctx); err != nil {
				r.logger.WarnContext(ctx, "start-up step failed; the first request retries it", "step", name, "error", err.Error())
			}
		})
	}
	wg.Wait()
}

func (r *root) memory() bool { return r.cfg.Backend == BackendMemory }

// --- Telemetry and AWS ---

func (r *root) tracing() (*telemetry.Tracing, error) {
	return once(r, "tracing", func() (*telemetry.Tracing, error) {
		return telemetry.New(r.ctx, r.cfg.TracesEndpoint, r.cfg.ServiceName)
	})
}

func (r *root) aws() (aws.Config, error) {
	return once(r, "aws", func() (aws.Config, error) {
		if r.cfg.Backend != BackendAWS {
			return aws.Config{}, fmt.Errorf("KYC_BACKEND=%s: this needs the aws backend", r.cfg.Backend)
		}
		tr, err := r.tracing()
		if err != nil {
			return aws.Config{}, err
		}
		// Every client made from it traces its calls.
		awsCfg, err := awsstore.LoadConfig(r.ctx, r.logger, tr.AWSCalls)
		if err != nil {
			return aws.Config{}, err
		}
		return awsCfg, nil
	})
}

// dynamo is the one DynamoDB client: one connection pool for every table.
func (r *root) dynamo() (*dynamodb.Client, error) {
	return once(r, "dynamodb", func() (*dynamodb.Client, error) {
		c, err := r.aws()
		if err != nil {
			return nil, err
		}
		return dynamodb.NewFromConfig(c, timeDynamoDB), nil
	})
}

// timeDynamoDB records each DynamoDB call's latency in the request's
// metrics.
func timeDynamoDB(o *dynamodb.Options) {
	o.APIOptions = append(o.APIOptions, telemetry.TimeCalls(telemetry.DynamoDBLatency))
}

// --- Local data ---

// seed is the memory backend's data: the embedded seed, or KYC_SEED_FILE.
func (r *root) seed() (*Seed, error) {
	return once(r, "seed", func() (*Seed, error) {
		raw := defaultSeed
		if r.cfg.SeedFile != "" {
			var err error
			if raw, err = os.ReadFile(r.cfg.SeedFile); err != nil {
				return nil, fmt.Errorf("KYC_SEED_FILE: %w", err)
			}
		}
		s, err := ParseSeed(raw)
		if err != nil {
			return nil, err
		}
		return &s, nil
	})
}

// --- Secrets ---

func (r *root) secretSource() (secrets.Source, error) {
	return once(r, "secret source", func() (secrets.Source, error) {
		if !r.memory() {
			c, err := r.aws()
			if err != nil {
				return nil, err
			}
			return &awsstore.SecretsManager{Client: secretsmanager.NewFromConfig(c)}, nil
		}
		seed, err := r.seed()
		if err != nil {
			return nil, err
		}
		mem := secrets.Memory{r.cfg.APITokensSecretID: string(seed.APITokens)}
		if len(seed.Sumsub) > 0 {
			mem[r.cfg.SumsubSecretID] = string(seed.Sumsub)
		}
		// Local: the key of KYC_SIGNING_KEY_FILE, or one made for this
		// process.
		secret, err := LocalSigningSecret(r.cfg, r.logger)
		if err != nil {
			return nil, err
		}
		mem[r.cfg.SigningKeySecretID] = secret
		return mem, nil
	})
}

// cachedSecret keeps one secret parsed in memory with the service's
// refresh policy, primed at start.
func cachedSecret[T any](r *root, name, id string, parse func(string) (T, error)) (*secrets.Cached[T], error) {
	return once(r, name, func() (*secrets.Cached[T], error) {
		src, err := r.secretSource()
		if err != nil {
			return nil, err
		}
		c := &secrets.Cached[T]{Source: src, ID: id, Parse: parse,
			MaxAge: secretsMaxAge, MinInterval: secretsEarlyRefresh, Logger: r.logger}
		r.primer(name, func(ctx context.Context) error {
			_, err := c.Load(ctx)
			return err
		})
		return c, nil
	})
}

func (r *root) tokens() (*secrets.Cached[auth.Tokens], error) {
	return cachedSecret(r, "api tokens secret", r.cfg.APITokensSecretID, auth.ParseTokens)
}

// sumsubSecret is the one cache of the Sumsub secret, shared by the link
// (app token, secret key) and the receiver (webhook secret).
func (r *root) sumsubSecret() (*secrets.Cached[sumsub.Credentials], error) {
	return cachedSecret(r, "sumsub secret", r.cfg.SumsubSecretID, sumsub.ParseCredentials)
}

func (r *root) signingKey() (*secrets.Cached[*ecdsa.PrivateKey], error) {
	return cachedSecret(r, "signing key secret", r.cfg.SigningKeySecretID, gridhook.ParseSigningSecret)
}

// --- Stores ---

// memCustomers is the memory backend's customers, whose recorded notices
// go straight to the in-process delivery queue (the outbox's stand-in).
func (r *root) memCustomers() (*memstore.Customers, error) {
	return once(r, "memory customers", func() (*memstore.Customers, error) {
		seed, err := r.seed()
		if err != nil {
			return nil, err
		}
		// One map serves the link, the reviews and the platform API, so
		// a customer created through the API gets links and decisions.
		m := memstore.NewCustomers(seed.customers()...)
		q, err := r.memoryQueue()
		if err != nil {
			return nil, err
		}
		m.Outbox = q.Enqueue
		return m, nil
	})
}

// customerStore is what the link reads and the receiver writes.
type customerStore interface {
	kyc.CustomerStore
	kyc.ReviewStore
}

func (r *root) customers() (customerStore, error) {
	return once(r, "customers", func() (customerStore, error) {
		if r.memory() {
			return r.memCustomers()
		}
		c, err := r.awsCustomers()
		if err != nil {
			return nil, err
		}
		r.primer("dynamodb connection", c.Warm)
		return c, nil
	})
}

// awsCustomers is the one store of the customers table: the link, the
// reviews and the platform API.
func (r *root) awsCustomers() (*awsstore.Customers, error) {
	return once(r, "aws customers", func() (*awsstore.Customers, error) {
		db, err := r.dynamo()
		if err != nil {
			return nil, err
		}
		return &awsstore.Customers{Client: db, Table: r.cfg.CustomersTable, Index: r.cfg.CustomersByPlatformIndex,
			OutboxTable: r.cfg.OutboxTable}, nil
	})
}

func (r *root) idempotency() (*idempotency.Guard, error) {
	return once(r, "idempotency", func() (*idempotency.Guard, error) {
		if r.memory() {
			// Records and key live and die with this process.
			return &idempotency.Guard{Store: memstore.NewIdempotency(), Secret: memstore.RandomKey(), Logger: r.logger}, nil
		}
		db, err := r.dynamo()
		if err != nil {
			return nil, err
		}
		key, err := cachedSecret(r, "idempotency key secret", r.cfg.IdempotencyKeySecretID, parseHMACKey)
		if err != nil {
			return nil, err
		}
		return &idempotency.Guard{Store: &awsstore.Idempotency{Client: db, Table: r.cfg.IdempotencyTable},
			Secret: key.Get, Logger: r.logger}, nil
	})
}

func (r *root) limits() (kyc.Limiter, error) {
	return once(r, "rate limits", func() (kyc.Limiter, error) {
		var (
			counter   ratelimit.Counter = &memstore.RateCounters{}
			overrides                   = &ratelimit.Overrides{}
		)
		if !r.memory() {
			db, err := r.dynamo()
			if err != nil {
				return nil, err
			}
			platforms, err := r.awsPlatforms()
			if err != nil {
				return nil, err
			}
			counter = &awsstore.RateCounters{Client: db, Table: r.cfg.RateLimitTable}
			overrides = &ratelimit.Overrides{Source: platforms}
			r.primer("platform rate limits", overrides.Prime)
		}
		overrides.Default = ratelimit.Limit{Rate: r.cfg.PlatformRateLimit, Burst: r.cfg.PlatformRateBurst}
		overrides.MaxAge, overrides.Now = secretsMaxAge, time.Now
		return &ratelimit.Limiter{Counter: counter, Platform: overrides, Now: time.Now,
			Global: ratelimit.Limit{Rate: r.cfg.SumsubRateLimit, Burst: max(int(r.cfg.SumsubRateLimit), 1)}}, nil
	})
}

// --- The provider ---

// sandbox is the local stand-in provider; nil unless KYC_PROVIDER=sandbox.
func (r *root) sandbox() (*sandbox.Provider, error) {
	return once(r, "sandbox", func() (*sandbox.Provider, error) {
		if r.cfg.Provider != ProviderSandbox {
			return nil, nil
		}
		secret, err := r.sumsubWebhookSecret()
		if err != nil {
			return nil, err
		}
		// Its page plays Sumsub's decisions: signed events to this
		// process's receiver.
		d := &sandbox.Decider{URL: strings.TrimRight(r.cfg.PublicURL, "/") + "/webhooks/sumsub",
			Secret: secret, Client: &http.Client{Timeout: 10 * time.Second}, Now: time.Now}
		// The inbox notes each decision, so one that sends no webhook
		// (Hold) shows there too.
		inbox, err := r.inbox()
		if err != nil {
			return nil, err
		}
		return &sandbox.Provider{BaseURL: r.cfg.PublicURL, Now: time.Now, Decide: inbox.Track(d.Decide)}, nil
	})
}

func (r *root) provider() (kyc.Provider, error) {
	return once(r, "provider", func() (kyc.Provider, error) {
		switch r.cfg.Provider {
		case ProviderSandbox:
			return r.sandbox()
		case ProviderSumsub:
			tr, err := r.tracing()
			if err != nil {
				return nil, err
			}
			creds, err := r.sumsubSecret()
			if err != nil {
				return nil, err
			}
			client := &sumsub.Client{BaseURL: r.cfg.SumsubBaseURL, HTTP: newHTTPClient(tr), Now: time.Now}
			r.primer("sumsub connection", client.Warm)
			return &sumsub.Provider{
				Client:      client,
				Credentials: creds,
				Levels:      map[kyc.CustomerType]string{kyc.Individual: r.cfg.LevelIndividual, kyc.Business: r.cfg.LevelBusiness},
			}, nil
		}
		return nil, fmt.Errorf("unknown provider %q", r.cfg.Provider)
	})
}

// newHTTPClient keeps connections to the provider alive across requests
// (and Lambda invocations). Each call is bounded by its context, not here.
func newHTTPClient(tr *telemetry.Tracing) *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = 8
	t.IdleConnTimeout = 90 * time.Second
	return &http.Client{Transport: tr.Transport("Sumsub", t)}
}

// --- The routes ---

func (r *root) link() (*httpapi.Link, error) {
	return once(r, "link", func() (*httpapi.Link, error) {
		tokens, err := r.tokens()
		if err != nil {
			return nil, err
		}
		store, err := r.customers()
		if err != nil {
			return nil, err
		}
		provider, err := r.provider()
		if err != nil {
			return nil, err
		}
		limits, err := r.limits()
		if err != nil {
			return nil, err
		}
		guard, err := r.idempotency()
		if err != nil {
			return nil, err
		}
		return &httpapi.Link{
			Auth:        &auth.Authenticator{Tokens: tokens},
			Links:       &kyc.Links{Customers: store, Provider: provider, Limits: limits, TTL: r.cfg.LinkTTL, Now: time.Now, Logger: r.logger},
			Idempotency: guard,
			// Only the local sandbox page can be reached on loopback.
			LocalRedirects: r.cfg.Provider == ProviderSandbox,
		}, nil
	})
}

// sumsubWebhookSecret reads the webhook secret from the Sumsub secret.
func (r *root) sumsubWebhookSecret() (func(context.Context) (string, error), error) {
	creds, err := r.sumsubSecret()
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context) (string, error) {
		c, err := creds.Get(ctx)
		return c.WebhookSecret, err
	}, nil
}

func (r *root) receiver() (*httpapi.SumsubReceiver, error) {
	return once(r, "receiver", func() (*httpapi.SumsubReceiver, error) {
		creds, err := r.sumsubSecret()
		if err != nil {
			return nil, err
		}
		store, err := r.customers()
		if err != nil {
			return nil, err
		}
		return &httpapi.SumsubReceiver{
			Credentials: creds,
			Reviews:     &kyc.Reviews{Store: store, Notices: gridhook.NoticesAt(r.cfg.UmaDomain), Now: time.Now},
		}, nil
	})
}

// --- Delivery ---

func (r *root) policy() webhooks.Policy {
	return webhooks.Policy{Base: r.cfg.WebhookRetryBase, Max: 30 * time.Minute, RetryFor: r.cfg.WebhookRetryFor}
}

// platforms is where each platform's webhook URL is kept: the platforms
// table, or locally the seed (a platform without a URL gets the inbox).
func (r *root) platforms() (webhooks.Platforms, error) {
	return once(r, "platforms", func() (webhooks.Platforms, error) {
		if !r.memory() {
			return r.awsPlatforms()
		}
		return r.memPlatforms()
	})
}

// memPlatforms is the memory backend's platforms: the seed's webhook URLs
// (a platform without one gets the inbox), changed by PATCH /config.
func (r *root) memPlatforms() (*memstore.Platforms, error) {
	return once(r, "memory platforms", func() (*memstore.Platforms, error) {
		seed, err := r.seed()
		if err != nil {
			return nil, err
		}
		urls := map[string]string{}
		for _, p := range seed.Platforms {
			urls[p.ID] = p.WebhookURL
			if p.WebhookURL == "" {
				urls[p.ID] = strings.TrimRight(r.cfg.PublicURL, "/") + sandbox.InboxPrefix + p.ID
			}
		}
		return memstore.NewPlatforms(urls), nil
	})
}

func (r *root) deliverer() (*webhooks.Deliverer, error) {
	return once(r, "deliverer", func() (*webhooks.Deliverer, error) {
		platforms, err := r.platforms()
		if err != nil {
			return nil, err
		}
		key, err := r.signingKey()
		if err != nil {
			return nil, err
		}
		tr, err := r.tracing()
		if err != nil {
			return nil, err
		}
		client := webhooks.NewClient(r.cfg.WebhookAttemptTimeout, r.cfg.WebhookAllowLoopback)
		client.Transport = tr.Transport("Webhook", client.Transport)
		return &webhooks.Deliverer{Platforms: platforms, Key: key, AllowLoopback: r.cfg.WebhookAllowLoopback,
			Logger: r.logger, Client: client}, nil
	})
}

func (r *root) deadLetters() (webhooks.DeadLetters, error) {
	return once(r, "dead letters", func() (webhooks.DeadLetters, error) {
		if r.memory() {
			return &memstore.DeadLetters{}, nil
		}
		db, err := r.dynamo()
		if err != nil {
			return nil, err
		}
		return &awsstore.DeadLetters{Client: db, Table: r.cfg.DeadLetterTable}, nil
	})
}

// memoryQueue delivers in process what the memory backend records.
func (r *root) memoryQueue() (*webhooks.MemoryQueue, error) {
	return once(r, "memory queue", func() (*webhooks.MemoryQueue, error) {
		d, err := r.deliverer()
		if err != nil {
			return nil, err
		}
		dead, err := r.deadLetters()
		if err != nil {
			return nil, err
		}
		return &webhooks.MemoryQueue{Context: r.ctx, Deliverer: d, Policy: r.policy(), DeadLetters: dead,
			AttemptTimeout: r.cfg.WebhookAttemptTimeout, Now: time.Now, Logger: r.logger}, nil
	})
}

func (r *root) queue() (*awsstore.Queue, error) {
	return once(r, "queue", func() (*awsstore.Queue, error) {
		c, err := r.aws()
		if err != nil {
			return nil, err
		}
		return &awsstore.Queue{Client: sqs.NewFromConfig(c), URL: r.cfg.WebhookQueueURL}, nil
	})
}

func (r *root) relay() (*webhooks.Relay, error) {
	return once(r, "relay", func() (*webhooks.Relay, error) {
		q, err := r.queue()
		if err != nil {
			return nil, err
		}
		return &webhooks.Relay{Queue: q, Outbox: awsstore.OutboxRecords{}, Logger: r.logger}, nil
	})
}

func (r *root) worker() (*webhooks.Worker, error) {
	return once(r, "worker", func() (*webhooks.Worker, error) {
		q, err := r.queue()
		if err != nil {
			return nil, err
		}
		d, err := r.deliverer()
		if err != nil {
			return nil, err
		}
		dead, err := r.deadLetters()
		if err != nil {
			return nil, err
		}
		return &webhooks.Worker{Deliverer: d, Policy: r.policy(), Queue: q,
			DeadLetters: dead, AttemptTimeout: r.cfg.WebhookAttemptTimeout, Concurrency: 10, Now: time.Now, Logger: r.logger}, nil
	})
}

// streamPoller is the local stand-in for the relay's event source mapping.
func (r *root) streamPoller() (*awsstore.StreamPoller, error) {
	return once(r, "stream poller", func() (*awsstore.StreamPoller, error) {
		c, err := r.aws()
		if err != nil {
			return nil, err
		}
		db, err := r.dynamo()
		if err != nil {
			return nil, err
		}
		relay, err := r.relay()
		if err != nil {
			return nil, err
		}
		return &awsstore.StreamPoller{Streams: dynamodbstreams.NewFromConfig(c), Tables: db,
			Table: r.cfg.OutboxTable, Relay: relay, Interval: 250 * time.Millisecond, Logger: r.logger}, nil
	})
}

// inbox is the local platforms' page: it verifies what arrives against the
// signing key's public half, as a platform pins it.
func (r *root) inbox() (*sandbox.Inbox, error) {
	return once(r, "inbox", func() (*sandbox.Inbox, error) {
		key, err := r.signingKey()
		if err != nil {
			return nil, err
		}
		store, err := r.customers()
		if err != nil {
			return nil, err
		}
		// It shows each customer's status as the record has it now.
		return &sandbox.Inbox{Key: key.Get, Customer: store.FindCustomer}, nil
	})
}

// --- The platform API ---

// platformAPI is the platform's customers, configuration and test
// webhook, behind the same authentication as the link.
func (r *root) platformAPI() (*httpapi.Platform, error) {
	return once(r, "platform api", func() (*httpapi.Platform, error) {
		tokens, err := r.tokens()
		if err != nil {
			return nil, err
		}
		records, err := r.customerRecords()
		if err != nil {
			return nil, err
		}
		sealer, err := r.sealer()
		if err != nil {
			return nil, err
		}
		cursorKey, err := r.cursorKey()
		if err != nil {
			return nil, err
		}
		configs, err := r.platformConfigs()
		if err != nil {
			return nil, err
		}
		key, err := r.signingKey()
		if err != nil {
			return nil, err
		}
		guard, err := r.idempotency()
		if err != nil {
			return nil, err
		}
		allow := r.cfg.WebhookAllowLoopback
		return &httpapi.Platform{
			Auth: &auth.Authenticator{Tokens: tokens},
			Customers: &kyc.Customers{Store: records, Sealer: sealer, CursorKey: cursorKey,
				UmaDomain: r.cfg.UmaDomain, Now: time.Now},
			Platforms: &kyc.Platforms{Store: configs,
				CheckEndpoint: func(u string) error { return webhooks.CheckEndpoint(u, allow) },
				Sender:        &webhooks.TestSender{Key: key, Client: webhooks.NewClient(testWebhookTimeout, allow), Now: time.Now},
				Now:           time.Now},
			Idempotency: guard,
		}, nil
	})
}

// testWebhookTimeout bounds a test webhook (as Grid's does).
const testWebhookTimeout = 5 * time.Second

// customerRecords is the platform API's view of the customers table.
func (r *root) customerRecords() (kyc.CustomerRecords, error) {
	return once(r, "customer records", func() (kyc.CustomerRecords, error) {
		if r.memory() {
			return r.memCustomers()
		}
		return r.awsCustomers()
	})
}

// sealer seals identifiers and tax ids: KMS in AWS, an in-process key
// locally (never plaintext either way).
func (r *root) sealer() (kyc.Sealer, error) {
	return once(r, "sealer", func() (kyc.Sealer, error) {
		if r.memory() {
			return memstore.NewSealer(), nil
		}
		c, err := r.aws()
		if err != nil {
			return nil, err
		}
		return &awsstore.KMSSealer{Client: kms.NewFromConfig(c), KeyID: r.cfg.CustomerDataKeyID}, nil
	})
}

// cursorKey signs list cursors: a secret every instance shares in AWS
// (CURSOR_KEY_SECRET_ID), a key of this process locally.
func (r *root) cursorKey() (func(context.Context) ([]byte, error), error) {
	return once(r, "cursor key", func() (func(context.Context) ([]byte, error), error) {
		if r.memory() {
			return memstore.RandomKey(), nil
		}
		c, err := cachedSecret(r, "cursor key secret", r.cfg.CursorKeySecretID, parseHMACKey)
		if err != nil {
			return nil, err
		}
		return c.Get, nil
	})
}

// parseHMACKey reads an HMAC key secret (the cursor key, the idempotency
// key): {"key": "<at least 32 characters>"}, as the template's generated
// secrets hold it.
func parseHMACKey(s string) ([]byte, error) {
	var v struct {
		Key string `json:"key"`
	}
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		return nil, errors.New(`want {"key": "<at least 32 characters>"}`)
	}
	if len(v.Key) < 32 {
		return nil, fmt.Errorf("the key has %d characters; want at least 32", len(v.Key))
	}
	return []byte(v.Key), nil
}

// platformConfigs is where each platform's webhook endpoint is kept: the
// platforms table delivery reads, or locally the memory platforms.
func (r *root) platformConfigs() (kyc.PlatformStore, error) {
	return once(r, "platform configs", func() (kyc.PlatformStore, error) {
		if r.memory() {
			return r.memPlatforms()
		}
		return r.awsPlatforms()
	})
}

// awsPlatforms is the one store of the platforms table: /config, delivery
// and the link limits.
func (r *root) awsPlatforms() (*awsstore.Platforms, error) {
	return once(r, "aws platforms", func() (*awsstore.Platforms, error) {
		db, err := r.dynamo()
		if err != nil {
			return nil, err
		}
		return &awsstore.Platforms{Client: db, Table: r.cfg.PlatformsTable}, nil
	})
}
