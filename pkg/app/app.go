// Package app wires the service from its configuration: it picks the real
// or in-memory implementations and hands back the HTTP handler and the
// Lambda adapter that serve it.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/grid-kyc/kyc-link/pkg/auth"
	"github.com/grid-kyc/kyc-link/pkg/customers"
	"github.com/grid-kyc/kyc-link/pkg/fault"
	"github.com/grid-kyc/kyc-link/pkg/httpapi"
	"github.com/grid-kyc/kyc-link/pkg/idempotency"
	"github.com/grid-kyc/kyc-link/pkg/kyc"
	"github.com/grid-kyc/kyc-link/pkg/lambdahttp"
	"github.com/grid-kyc/kyc-link/pkg/metrics"
	"github.com/grid-kyc/kyc-link/pkg/ratelimit"
	"github.com/grid-kyc/kyc-link/pkg/sandbox"
	"github.com/grid-kyc/kyc-link/pkg/secrets"
	"github.com/grid-kyc/kyc-link/pkg/sumsub"
	"github.com/grid-kyc/kyc-link/pkg/tracing"
)

// Secrets are reread in the background this often. A token added in
// Secrets Manager works sooner: an unknown token id starts a reload (at most
// one per secretsEarlyRefresh per process), and the requests after it ends
// see the new token.
const (
	secretsMaxAge       = 5 * time.Minute
	secretsEarlyRefresh = 5 * time.Second
	// lambdaReserve is kept back from the invocation deadline so a hung
	// dependency gets our 503, not a Lambda timeout.
	lambdaReserve = 500 * time.Millisecond
)

// App is the wired service.
type App struct {
	API     *httpapi.Handler
	Sandbox *sandbox.Provider // nil unless KYC_PROVIDER=sandbox
	Seed    *Seed             // nil unless KYC_BACKEND=memory

	logger *slog.Logger
	// primers are the start-up steps Prime runs side by side.
	primers map[string]func(context.Context) error

	// What the webhook side shares with the link route.
	cfg      Config
	src      secrets.Source
	memStore *customers.Memory // memory backend
	awsCfg   *aws.Config       // aws backend
	sumsub   *secrets.Cached[sumsub.Credentials]
	hooks    *Webhooks        // once Webhooks wired them
	tracing  *tracing.Tracing // nil: off
}

// New wires the service. It makes no network call (see Prime): secrets
// load on first use, so an outage at cold start fails requests (503), not
// the process.
func New(ctx context.Context, cfg Config, logger *slog.Logger) (*App, error) {
	var (
		src       secrets.Source
		store     kyc.CustomerStore
		idem      idempotency.Store
		counter   ratelimit.Counter
		overrides *ratelimit.Overrides
		a         = &App{logger: logger, primers: map[string]func(context.Context) error{}, cfg: cfg}
		err       error
	)
	if a.tracing, err = tracing.New(ctx, cfg.TracesEndpoint, cfg.ServiceName); err != nil {
		return nil, err
	}
	switch cfg.Backend {
	case BackendMemory:
		raw := defaultSeed
		if cfg.SeedFile != "" {
			var err error
			if raw, err = os.ReadFile(cfg.SeedFile); err != nil {
				return nil, fmt.Errorf("KYC_SEED_FILE: %w", err)
			}
		}
		seed, err := ParseSeed(raw)
		if err != nil {
			return nil, err
		}
		a.Seed = &seed
		mem := secrets.Memory{cfg.APITokensSecretID: string(seed.APITokens)}
		if len(seed.Sumsub) > 0 {
			mem[cfg.SumsubSecretID] = string(seed.Sumsub)
		}
		a.memStore = customers.NewMemory(seed.customers()...)
		src, store, idem = mem, a.memStore, idempotency.NewMemory()
		counter, overrides = &ratelimit.Memory{}, &ratelimit.Overrides{}
	case BackendAWS:
		awsCfg, err := config.LoadDefaultConfig(ctx)
		if err != nil {
			return nil, fmt.Errorf("AWS configuration: %w", err)
		}
		if awsCfg.Region == "" {
			// Found now, not as a 500 on every request.
			return nil, errors.New("AWS_REGION is not set: the aws backend needs a region (set AWS_REGION, or a region in the AWS profile)")
		}
		// No credentials at all is our configuration: 500, not 503.
		awsCfg.Credentials = fault.Credentials(awsCfg.Credentials)
		// The SDK's own warnings join our JSON log, not stderr as text.
		awsCfg.Logger = sdkLogger{logger: logger}
		// Every client made from it traces its calls.
		awsCfg.APIOptions = append(awsCfg.APIOptions, a.tracing.AWSCalls)
		a.awsCfg = &awsCfg
		db := dynamodb.NewFromConfig(awsCfg, timeDynamoDB)
		src = &secrets.SecretsManager{Client: secretsmanager.NewFromConfig(awsCfg)}
		custDB := &customers.DynamoDB{Client: db, Table: cfg.CustomersTable}
		store = custDB
		idem = &idempotency.DynamoDB{Client: db, Table: cfg.IdempotencyTable}
		// One client, one connection pool for every table.
		a.primers["dynamodb connection"] = custDB.Warm
		counter = &ratelimit.DynamoDB{Client: db, Table: cfg.RateLimitTable}
		overrides = &ratelimit.Overrides{Client: db, Table: cfg.PlatformsTable}
		a.primers["platform rate limits"] = overrides.Prime
	default:
		return nil, fmt.Errorf("unknown backend %q", cfg.Backend)
	}

	var provider kyc.Provider
	switch cfg.Provider {
	case ProviderSandbox:
		a.Sandbox = &sandbox.Provider{BaseURL: cfg.PublicURL, Now: time.Now}
		provider = a.Sandbox
	case ProviderSumsub:
		client := &sumsub.Client{BaseURL: cfg.SumsubBaseURL, HTTP: newHTTPClient(a.tracing), Now: time.Now}
		creds := a.sumsubSecret(src, cfg, logger)
		provider = &sumsub.Provider{
			Client:      client,
			Credentials: creds,
			Levels:      map[kyc.CustomerType]string{kyc.Individual: cfg.LevelIndividual, kyc.Business: cfg.LevelBusiness},
		}
		a.primers["sumsub secret"] = loader(creds)
		a.primers["sumsub connection"] = client.Warm
	default:
		return nil, fmt.Errorf("unknown provider %q", cfg.Provider)
	}

	a.src = src
	tokens := cachedSecret(src, cfg.APITokensSecretID, auth.ParseTokens, logger)
	a.primers["api tokens secret"] = loader(tokens)
	a.API = &httpapi.Handler{
		Auth:  &auth.Authenticator{Tokens: tokens},
		Links: &kyc.Service{Customers: store, Provider: provider, TTL: cfg.LinkTTL, Now: time.Now},
		// The guard stores only 2xx answers (this route's one is 201): an
		// error must not stick to the key.
		Idempotency: &idempotency.Guard{Store: idem, Logger: logger},
		Logger:      logger,
		// Only the local sandbox page can be reached on loopback.
		LocalRedirects: cfg.Provider == ProviderSandbox,
	}
	overrides.Default = ratelimit.Limit{Rate: cfg.PlatformRateLimit, Burst: cfg.PlatformRateBurst}
	overrides.MaxAge, overrides.Now = secretsMaxAge, time.Now
	a.API.Limiter = &ratelimit.Limiter{Counter: counter, Platform: overrides, Now: time.Now,
		Global: ratelimit.Limit{Rate: cfg.SumsubRateLimit, Burst: max(int(cfg.SumsubRateLimit), 1)}}
	if !cfg.InLambda {
		a.API.Timeout = cfg.RequestTimeout
	}
	return a, nil
}

// timeDynamoDB records each DynamoDB call's latency in the request's
// metrics.
func timeDynamoDB(o *dynamodb.Options) {
	o.APIOptions = append(o.APIOptions, metrics.TimeCalls(metrics.DynamoDBLatency))
}

// Prime does ahead of the first request what it would otherwise wait for:
// both secrets are loaded and the connections to DynamoDB and Sumsub
// opened, all side by side, within ctx. In Lambda it runs in the init
// phase (full CPU, off the request path). A step that fails is logged and
// left to the request path, which retries it as before.
func (a *App) Prime(ctx context.Context) {
	var wg sync.WaitGroup
	for name, step := range a.primers {
		wg.Go(func() {
			if err := step(ctx); err != nil {
				a.logger.WarnContext(ctx, "start-up step failed; the first request retries it", "step", name, "error", err.Error())
			}
		})
	}
	wg.Wait()
}

func loader[T any](c *secrets.Cached[T]) func(context.Context) error {
	return func(ctx context.Context) error {
		_, err := c.Load(ctx)
		return err
	}
}

// cachedSecret keeps one secret parsed in memory with the service's refresh
// policy.
func cachedSecret[T any](src secrets.Source, id string, parse func(string) (T, error), logger *slog.Logger) *secrets.Cached[T] {
	return &secrets.Cached[T]{Source: src, ID: id, Parse: parse,
		MaxAge: secretsMaxAge, MinInterval: secretsEarlyRefresh, Logger: logger}
}

// newHTTPClient keeps connections to the provider alive across requests
// (and Lambda invocations). Each call is bounded by its context, not here.
func newHTTPClient(tr *tracing.Tracing) *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = 8
	t.IdleConnTimeout = 90 * time.Second
	return &http.Client{Transport: tr.Transport("Sumsub", t)}
}

// Handler is the whole HTTP surface: the API, plus the sandbox pages when
// the sandbox provider is on.
func (a *App) Handler() http.Handler {
	var h http.Handler = a.API
	if a.Sandbox != nil {
		h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasPrefix(r.URL.Path, sandbox.PathPrefix) || r.URL.Path == sandbox.FaviconPath {
				a.Sandbox.ServeHTTP(w, r)
				return
			}
			a.API.ServeHTTP(w, r)
		})
	}
	if a.hooks != nil {
		h = receiverMux(h, a.hooks)
	}
	return h
}

// Lambda returns the adapter whose Invoke is the Lambda handler.
func (a *App) Lambda() *lambdahttp.Adapter { return a.LambdaFor(a.Handler()) }

// LambdaFor is Lambda for another HTTP surface (the webhook receiver).
func (a *App) LambdaFor(h http.Handler) *lambdahttp.Adapter {
	return &lambdahttp.Adapter{Handler: withGridBasePath(h), BadEvent: httpapi.RejectEvent(a.logger), Reserve: lambdaReserve}
}

// LambdaHandler is handler (any form lambda.Start takes) as the function
// named name: each invocation traced when tracing is on.
func (a *App) LambdaHandler(name string, handler any) tracing.Handler {
	return a.tracing.Lambda(name, lambda.NewHandler(handler))
}

// Local server limits. Reading the body is further bounded by each
// request's deadline (httpapi), so these are the backstops for what comes
// before the handler runs and after it answered.
const (
	readHeaderTimeout = 5 * time.Second
	idleTimeout       = 30 * time.Second
	// maxHeaderBytes is net/http's own limit, above httpapi.MaxHeaderBytes
	// so that oversized headers up to it get our Grid-shaped 400; beyond it
	// net/http answers 431 itself.
	maxHeaderBytes = 1 << 20
)

// Serve serves the HTTP surface on ln until ctx ends, then drains.
func (a *App) Serve(ctx context.Context, ln net.Listener) error {
	return a.ServeHandler(ctx, ln, a.Handler())
}

// GridBasePath is the versioned prefix of Grid's base URL
// (https://api.lightspark.com/grid/2025-10-13), which Grid's CLI and SDKs
// put before every route. Behind a custom domain's base-path mapping
// (template parameter DomainName) API Gateway passes it on in the event's
// path, so both entries, Lambda and the local server, strip it here.
const GridBasePath = "/grid/2025-10-13"

// withGridBasePath serves h at / and under GridBasePath: every entry's
// handler goes through it (LambdaFor, ServeHandler).
func withGridBasePath(h http.Handler) http.Handler {
	strip := http.StripPrefix(GridBasePath, h)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, GridBasePath+"/") {
			strip.ServeHTTP(w, r)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// ServeHandler serves h on ln with the local server's limits until ctx
// ends, then drains. Every route answers at / and under GridBasePath.
func (a *App) ServeHandler(ctx context.Context, ln net.Listener, h http.Handler) error {
	srv := a.server()
	srv.Handler = a.tracing.HTTPHandler(a.cfg.ServiceName, withGridBasePath(h))
	defer a.shutdownTracing()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return err
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// shutdownTracing sends the spans still buffered when a local server stops.
func (a *App) shutdownTracing() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := a.tracing.Shutdown(ctx); err != nil {
		a.logger.Warn("spans not exported at exit", "error", err.Error())
	}
}

// server is the local HTTP server: every phase of a connection is bounded,
// so a slow or idle client holds nothing for long.
func (a *App) server() *http.Server {
	timeout := a.API.Timeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	return &http.Server{
		Handler:           a.Handler(),
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readHeaderTimeout + timeout,
		WriteTimeout:      readHeaderTimeout + timeout + 5*time.Second,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
	}
}

// CurlExample is a ready-to-paste request against the seeded demo data.
func (a *App) CurlExample(baseURL string) string {
	if a.Seed == nil {
		return ""
	}
	return a.Seed.Curl(baseURL)
}

// Curl is a ready-to-paste request for the seed's demo customer.
func (s Seed) Curl(baseURL string) string {
	if s.Demo.TokenID == "" {
		return ""
	}
	d := s.Demo
	return fmt.Sprintf(`curl -sS -X POST -u '%s:%s' -H 'Content-Type: application/json' -H "Idempotency-Key: $(date +%%s%%N)" -d '{"redirectUri":"https://app.example.com/onboarding/done"}' '%s/customers/%s/kyc-link'`,
		d.TokenID, d.ClientSecret, baseURL, d.CustomerID)
}
