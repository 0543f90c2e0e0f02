package app

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/grid-kyc/kyc-link/pkg/httpapi"
	"github.com/grid-kyc/kyc-link/pkg/lambdahttp"
	"github.com/grid-kyc/kyc-link/pkg/sandbox"
	"github.com/grid-kyc/kyc-link/pkg/telemetry"
	"github.com/grid-kyc/kyc-link/pkg/webhooks"
)

// Entry is one of the service's functions: what a binary serves.
type Entry int

const (
	// LinkFunction serves the link route (functions/kyc-link). Outside
	// Lambda on the memory backend it is the whole journey (AllInOne):
	// make run.
	LinkFunction Entry = iota
	// PlatformFunction serves the platform API (functions/platform-api):
	// customers, the webhook endpoint and its test. Outside Lambda on the
	// memory backend it is AllInOne.
	PlatformFunction
	// ReceiverFunction serves Sumsub's webhooks (functions/sumsub-webhook).
	// Outside Lambda it is AllInOne.
	ReceiverFunction
	// RelayFunction moves the outbox stream's records to the delivery
	// queue (functions/webhook-relay); outside Lambda it polls the stream.
	RelayFunction
	// DeliveryFunction delivers the queue's webhooks to platforms
	// (functions/webhook-delivery); outside Lambda it polls the queue.
	DeliveryFunction
	// AllInOne is every route on one port with delivery in process: make
	// run (memory), make dev (moto).
	AllInOne
)

// Name is the function's name in logs and traces.
func (e Entry) Name() string {
	switch e {
	case ReceiverFunction:
		return "sumsub-webhook"
	case PlatformFunction:
		return "platform-api"
	case RelayFunction:
		return "webhook-relay"
	case DeliveryFunction:
		return "webhook-delivery"
	}
	return "kyc-link"
}

// lambdaReserve is kept back from the invocation deadline so a hung
// dependency gets our 503, not a Lambda timeout.
const lambdaReserve = 500 * time.Millisecond

// sandboxURLInLambda is where sandbox links and local webhooks point when a
// function runs under Lambda on local settings (make invoke): make run
// serves the sandbox pages and the inbox there, on its default port.
const sandboxURLInLambda = "http://127.0.0.1:3000"

// Service is what one entry serves, built by Build.
type Service struct {
	entry   Entry
	root    *root
	handler http.Handler // the routes it serves; nil for relay and delivery
	lambda  any          // the Lambda handler of relay and delivery
	loops   []func(context.Context)

	// Seed is the memory backend's data (nil on aws).
	Seed *Seed
	// The webhook pipeline's parts the entry has (nil otherwise), for
	// tools and tests: redrive goes through Relay.
	Relay       *webhooks.Relay
	Worker      *webhooks.Worker
	DeadLetters webhooks.DeadLetters
	Inbox       *sandbox.Inbox
}

// Build builds what entry e serves from cfg. It makes no network call
// (see Prime): secrets load on first use, so an outage at cold start fails
// requests (503), not the process.
func Build(ctx context.Context, cfg Config, logger *slog.Logger, e Entry) (*Service, error) {
	if cfg.Backend != BackendMemory && cfg.Backend != BackendAWS {
		return nil, fmt.Errorf("unknown backend %q", cfg.Backend)
	}
	if cfg.Provider != ProviderSandbox && cfg.Provider != ProviderSumsub {
		return nil, fmt.Errorf("unknown provider %q", cfg.Provider)
	}
	if ((e == LinkFunction || e == PlatformFunction) && cfg.Backend == BackendMemory || e == ReceiverFunction) && !cfg.InLambda {
		e = AllInOne
	}
	r := newRoot(ctx, cfg, logger)
	s := &Service{entry: e, root: r}
	if r.memory() {
		seed, err := r.seed()
		if err != nil {
			return nil, err
		}
		s.Seed = seed
	}
	srv := &httpapi.Server{Logger: logger}
	if !cfg.InLambda {
		srv.Timeout = cfg.RequestTimeout
	}
	var err error
	switch e {
	case LinkFunction:
		err = s.withLink(srv)
	case PlatformFunction:
		srv.Platform, err = r.platformAPI()
	case ReceiverFunction:
		srv.Receiver, err = r.receiver()
	case RelayFunction, DeliveryFunction:
		if cfg.Backend != BackendAWS {
			return nil, fmt.Errorf("KYC_BACKEND=%s: the relay and delivery functions need the aws backend (with the memory backend, make run delivers in process)", cfg.Backend)
		}
		if e == RelayFunction {
			p, err := r.streamPoller()
			if err != nil {
				return nil, err
			}
			s.Relay, s.lambda, s.loops = p.Relay, p.Relay.HandleStream, []func(context.Context){p.Poll}
		} else {
			if s.Worker, err = r.worker(); err != nil {
				return nil, err
			}
			s.lambda, s.loops = s.Worker.HandleSQS, []func(context.Context){s.Worker.Poll}
		}
		return s, s.withDeadLetters()
	case AllInOne:
		err = s.allInOne(srv)
	}
	if err != nil {
		return nil, err
	}
	s.handler = srv.Handler()
	return s, nil
}

// withLink adds the link route, and the sandbox's pages with the sandbox
// provider (make invoke opens them on make run's port).
func (s *Service) withLink(srv *httpapi.Server) error {
	var err error
	if srv.Link, err = s.root.link(); err != nil {
		return err
	}
	p, err := s.root.sandbox()
	if err != nil || p == nil {
		return err
	}
	srv.Sandbox = p
	return nil
}

// allInOne is every route, and delivery in this process: in memory
// through the memory queue, on aws through the relay's stream poller and
// the worker, the code Lambda runs otherwise.
func (s *Service) allInOne(srv *httpapi.Server) error {
	if err := s.withLink(srv); err != nil {
		return err
	}
	var err error
	if srv.Receiver, err = s.root.receiver(); err != nil {
		return err
	}
	if srv.Platform, err = s.root.platformAPI(); err != nil {
		return err
	}
	if srv.Sandbox != nil {
		// Sumsub's decisions come from the sandbox page; the inbox
		// plays the platforms.
		if s.Inbox, err = s.root.inbox(); err != nil {
			return err
		}
		srv.Inbox = s.Inbox
	}
	if !s.root.memory() {
		p, err := s.root.streamPoller()
		if err != nil {
			return err
		}
		if s.Worker, err = s.root.worker(); err != nil {
			return err
		}
		s.Relay = p.Relay
		s.loops = []func(context.Context){p.Poll, s.Worker.Poll}
	}
	return s.withDeadLetters()
}

func (s *Service) withDeadLetters() error {
	var err error
	s.DeadLetters, err = s.root.deadLetters()
	return err
}

// Handler is the HTTP surface the entry serves (routes, base path, Grid
// 404/405); nil for relay and delivery.
func (s *Service) Handler() http.Handler { return s.handler }

// Lambda is the API Gateway adapter of an HTTP entry.
func (s *Service) Lambda() *lambdahttp.Adapter {
	return &lambdahttp.Adapter{Handler: s.handler, BadEvent: httpapi.RejectEvent(s.root.logger), Reserve: lambdaReserve}
}

// LambdaHandler is the entry's Lambda handler, each invocation traced when
// tracing is on.
func (s *Service) LambdaHandler() telemetry.Handler {
	tr, _ := s.root.tracing() // built by Build already
	h := s.lambda
	if s.handler != nil {
		h = s.Lambda().Invoke
	}
	return tr.Lambda(s.entry.Name(), lambda.NewHandler(h))
}

// primeTimeout bounds start-up work; Lambda's init phase allows 10 s.
const primeTimeout = 3 * time.Second

// Prime does ahead of the first request what it would otherwise wait for:
// the entry's secrets loaded, its connections opened, side by side.
func (s *Service) Prime(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, primeTimeout)
	defer cancel()
	s.root.prime(ctx)
}

// Run runs the entry's background loops (outside Lambda: the relay's and
// the worker's polling) until ctx ends.
func (s *Service) Run(ctx context.Context) {
	done := make(chan struct{}, len(s.loops))
	for _, loop := range s.loops {
		go func() { loop(ctx); done <- struct{}{} }()
	}
	for range s.loops {
		<-done
	}
}

// Main is the whole main of every function: JSON logs, the configuration,
// a context that ends on SIGINT/SIGTERM, Build, Prime, then Lambda's loop
// under Lambda, else the local server (on 127.0.0.1:$PORT) and the
// background loops.
func Main(e Entry) {
	logger := slog.New(telemetry.LogHandler(slog.NewJSONHandler(os.Stdout, nil)))
	// Libraries that log through the standard log package (aws-lambda-go)
	// then write JSON lines like ours, their text escaped.
	slog.SetDefault(logger)
	if err := run(e, logger); err != nil {
		logger.Error(e.Name()+" stopped", "error", err.Error())
		os.Exit(1)
	}
}

func run(e Entry, logger *slog.Logger) error {
	inLambda := os.Getenv("AWS_LAMBDA_RUNTIME_API") != ""
	cfg, err := ConfigFromEnv(os.Getenv, inLambda)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var ln net.Listener
	if inLambda {
		cfg.PublicURL = sandboxURLInLambda
	} else if e == LinkFunction || e == PlatformFunction || e == ReceiverFunction {
		if ln, err = net.Listen("tcp", net.JoinHostPort("127.0.0.1", cfg.Port)); err != nil {
			return err
		}
		cfg.PublicURL = LocalURL(ln)
	}
	s, err := Build(ctx, cfg, logger, e)
	if err != nil {
		return err
	}
	s.Prime(ctx)
	if inLambda {
		lambda.Start(s.LambdaHandler())
		return nil
	}
	if ln == nil {
		defer s.root.shutdownTracing()
		s.Run(ctx)
		return nil
	}
	url := cfg.PublicURL
	if e == ReceiverFunction {
		url += "/webhooks/sumsub" // the route it is named for
	}
	logger.Info("listening", "url", url, "backend", cfg.Backend, "provider", cfg.Provider)
	if banner := s.Banner(cfg.PublicURL); banner != "" {
		fmt.Fprint(os.Stderr, banner)
		if key := s.SigningKeyBanner(ctx); key != "" {
			fmt.Fprintf(os.Stderr, "%s\n", key)
		}
	}
	return s.Serve(ctx, ln)
}

// LocalURL is the URL a local server on ln is reached at.
func LocalURL(ln net.Listener) string { return "http://" + ln.Addr().String() }

// Banner is what a local run prints at start: a request to try on the
// seeded data, and where the platforms' webhooks show.
func (s *Service) Banner(baseURL string) string {
	if s.Seed == nil || s.Seed.Demo.TokenID == "" {
		return ""
	}
	return fmt.Sprintf("\nkyc-link is up on %s (%s backend, %s provider). Try:\n\n  %s\n\n"+
		"Open the kycUrl it returns, choose Approve, Reject or Hold, and watch the platform's webhooks at %s%s\n\n",
		baseURL, s.root.cfg.Backend, s.root.cfg.Provider, s.Seed.Curl(baseURL), baseURL, sandbox.InboxPrefix)
}
