package app

import (
	"context"
	"crypto/ecdsa"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/grid-kyc/kyc-link/pkg/customers"
	"github.com/grid-kyc/kyc-link/pkg/gridhook"
	"github.com/grid-kyc/kyc-link/pkg/httpapi"
	"github.com/grid-kyc/kyc-link/pkg/kyc"
	"github.com/grid-kyc/kyc-link/pkg/sandbox"
	"github.com/grid-kyc/kyc-link/pkg/secrets"
	"github.com/grid-kyc/kyc-link/pkg/sumsub"
	"github.com/grid-kyc/kyc-link/pkg/tracing"
	"github.com/grid-kyc/kyc-link/pkg/webhooks"
)

// Webhooks is the other half of the journey: the Sumsub webhook receiver
// and the delivery of Grid webhooks to platforms.
type Webhooks struct {
	Receiver *httpapi.SumsubWebhook
	// AWS backend: the Lambda handlers, and their local stand-ins.
	Relay  *webhooks.Relay
	Worker *webhooks.Worker
	Poller *webhooks.StreamPoller
	// Memory backend: in-process delivery, and the page that shows what
	// the platforms received.
	Inbox       *sandbox.Inbox
	DeadLetters webhooks.DeadLetters
	Key         *secrets.Cached[*ecdsa.PrivateKey]
	run         func(ctx context.Context)
}

// Handler is the receiver's HTTP surface: the receiver, and the inbox page
// in local mode.
func (w *Webhooks) Handler() http.Handler {
	return receiverMux(http.HandlerFunc(w.Receiver.ServeHTTP), w)
}

// Run delivers webhooks in this process until ctx ends (local mode: the
// relay and the worker that Lambda runs otherwise).
func (w *Webhooks) Run(ctx context.Context) { w.run(ctx) }

// sumsubSecret is the one cache of the Sumsub secret, shared by the link
// route (app token, secret key) and the receiver (webhook secret).
func (a *App) sumsubSecret(src secrets.Source, cfg Config, logger *slog.Logger) *secrets.Cached[sumsub.Credentials] {
	if a.sumsub == nil {
		a.sumsub = cachedSecret(src, cfg.SumsubSecretID, sumsub.ParseCredentials, logger)
	}
	return a.sumsub
}

// Webhooks wires the webhook side on the app's backend.
func (a *App) Webhooks(ctx context.Context) (*Webhooks, error) {
	cfg, logger := a.cfg, a.logger
	creds := a.sumsubSecret(a.src, cfg, logger)
	w := &Webhooks{}
	policy := webhooks.Policy{Base: cfg.WebhookRetryBase, Max: 30 * time.Minute, RetryFor: cfg.WebhookRetryFor}

	var (
		store     kyc.ReviewStore
		platforms webhooks.Platforms
		lookup    kyc.CustomerStore // the inbox reads customers as they are now
	)
	switch {
	case a.memStore != nil:
		// Local: the key of KYC_SIGNING_KEY_FILE (or one made for this
		// process), unless the secrets have one; platforms without a URL
		// get the inbox page.
		mem := a.src.(secrets.Memory)
		if _, ok := mem[cfg.SigningKeySecretID]; !ok {
			secret, err := LocalSigningSecret(cfg, logger)
			if err != nil {
				return nil, err
			}
			mem[cfg.SigningKeySecretID] = secret
		}
		urls := webhooks.PlatformsMemory{}
		for _, p := range a.Seed.Platforms {
			urls[p.ID] = p.WebhookURL
			if p.WebhookURL == "" {
				urls[p.ID] = strings.TrimRight(cfg.PublicURL, "/") + sandbox.InboxPrefix + p.ID
			}
		}
		platforms, store, lookup = urls, a.memStore, a.memStore
	case a.awsCfg != nil:
		db := dynamodb.NewFromConfig(*a.awsCfg, timeDynamoDB)
		platforms = &webhooks.PlatformsDynamoDB{Client: db, Table: cfg.PlatformsTable}
		store = &customers.ReviewDynamoDB{Client: db, Table: cfg.CustomersTable, OutboxTable: cfg.OutboxTable}
		lookup = &customers.DynamoDB{Client: db, Table: cfg.CustomersTable}
		w.DeadLetters = &webhooks.DeadLettersDynamoDB{Client: db, Table: cfg.DeadLetterTable}
	default:
		return nil, fmt.Errorf("no backend wired")
	}
	w.Key = cachedSecret(a.src, cfg.SigningKeySecretID, gridhook.ParseSigningSecret, logger)
	client := webhooks.NewClient(cfg.WebhookAttemptTimeout, cfg.WebhookAllowLoopback)
	client.Transport = a.tracing.Transport("Webhook", client.Transport)
	deliverer := &webhooks.Deliverer{Platforms: platforms, Key: w.Key, AllowLoopback: cfg.WebhookAllowLoopback, Logger: logger,
		Client: client}

	w.Receiver = &httpapi.SumsubWebhook{
		Secret: func(ctx context.Context) (string, error) {
			c, err := creds.Get(ctx)
			return c.WebhookSecret, err
		},
		Reviews: &kyc.Reviews{Store: store, Notices: gridhook.Notices, Now: time.Now},
		Logger:  logger,
	}
	if !cfg.InLambda {
		w.Receiver.Timeout = cfg.RequestTimeout
	}

	a.hooks = w
	if a.Sandbox != nil {
		// Local journeys (make run, make dev): the sandbox page plays
		// Sumsub's decisions, and the inbox page plays the platforms.
		w.Inbox = &sandbox.Inbox{Key: w.Key.Get, Customer: lookup.FindCustomer}
		d := &sandbox.Decider{URL: strings.TrimRight(cfg.PublicURL, "/") + "/webhooks/sumsub",
			Secret: w.Receiver.Secret, Client: &http.Client{Timeout: 10 * time.Second}, Now: time.Now}
		a.Sandbox.Decide = w.Inbox.Track(d.Decide)
	}
	if a.memStore != nil {
		dead := &webhooks.DeadLettersMemory{}
		w.DeadLetters = dead
		q := &webhooks.MemoryQueue{Context: ctx, Deliverer: deliverer, Policy: policy, DeadLetters: dead,
			AttemptTimeout: cfg.WebhookAttemptTimeout, Now: time.Now, Logger: logger}
		a.memStore.Outbox = q.Enqueue
		w.run = func(ctx context.Context) { <-ctx.Done() }
		return w, nil
	}

	q := sqs.NewFromConfig(*a.awsCfg)
	w.Relay = &webhooks.Relay{Queue: q, QueueURL: cfg.WebhookQueueURL, Logger: logger}
	w.Worker = &webhooks.Worker{Deliverer: deliverer, Policy: policy, Queue: q, QueueURL: cfg.WebhookQueueURL,
		DeadLetters: w.DeadLetters, AttemptTimeout: cfg.WebhookAttemptTimeout, Concurrency: 10, Now: time.Now, Logger: logger}
	w.Poller = &webhooks.StreamPoller{Streams: dynamodbstreams.NewFromConfig(*a.awsCfg), Tables: dynamodb.NewFromConfig(*a.awsCfg),
		Table: cfg.OutboxTable, Relay: w.Relay, Interval: 250 * time.Millisecond, Logger: logger}
	w.run = func(ctx context.Context) {
		done := make(chan struct{})
		go func() { w.Poller.Poll(ctx); close(done) }()
		w.Worker.Poll(ctx)
		<-done
	}
	return w, nil
}

// receiverMux serves the receiver next to another handler.
func receiverMux(api http.Handler, w *Webhooks) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/webhooks/sumsub":
			w.Receiver.ServeHTTP(rw, r)
		case strings.HasPrefix(r.URL.Path, sandbox.InboxPrefix) || r.URL.Path == strings.TrimSuffix(sandbox.InboxPrefix, "/") || r.URL.Path == sandbox.WebhookKeyPath:
			if w.Inbox != nil {
				w.Inbox.ServeHTTP(rw, r)
				return
			}
			api.ServeHTTP(rw, r)
		default:
			api.ServeHTTP(rw, r)
		}
	})
}

// RunWorker is the whole main of a function that works the webhook
// pipeline without serving HTTP (webhook-relay, webhook-delivery): under
// Lambda it starts the handler handler returns; outside Lambda it runs
// poll until interrupted. Both need KYC_BACKEND=aws.
func RunWorker(name string, handler func(*Webhooks) any, poll func(context.Context, *Webhooks)) {
	logger := slog.New(tracing.LogHandler(slog.NewJSONHandler(os.Stdout, nil)))
	slog.SetDefault(logger)
	inLambda := os.Getenv("AWS_LAMBDA_RUNTIME_API") != ""
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	a, hooks, err := workerHooks(ctx, inLambda, logger)
	if err != nil {
		logger.Error(name+" stopped", "error", err.Error())
		os.Exit(1)
	}
	if inLambda {
		lambda.Start(a.LambdaHandler(name, handler(hooks)))
		return
	}
	defer a.shutdownTracing()
	poll(ctx, hooks)
}

func workerHooks(ctx context.Context, inLambda bool, logger *slog.Logger) (*App, *Webhooks, error) {
	cfg, err := ConfigFromEnv(os.Getenv, inLambda)
	if err != nil {
		return nil, nil, err
	}
	if cfg.Backend != BackendAWS {
		return nil, nil, fmt.Errorf("KYC_BACKEND=%s: the relay and delivery functions need the aws backend (with the memory backend, make run delivers in process)", cfg.Backend)
	}
	a, err := New(ctx, cfg, logger)
	if err != nil {
		return nil, nil, err
	}
	hooks, err := a.Webhooks(ctx)
	return a, hooks, err
}
