package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/grid-kyc/kyc-link/pkg/httpapi"
	"github.com/grid-kyc/kyc-link/pkg/kyc"
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
	// SubmissionFunction runs the submission queue's jobs: each complete
	// verification handed to the provider (functions/verification-submit);
	// outside Lambda it polls the queue.
	SubmissionFunction
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
	case SubmissionFunction:
		return "verification-submit"
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
	handler http.Handler // the routes it serves; nil for relay, delivery and submission
	lambda  any          // the Lambda handler of relay, delivery and submission
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

// Build builds what entry e serves from cfg, and nothing else. It makes no
// network call (see Prime): secrets load on first use, so an outage at
// cold start fails requests (503), not the process.
func Build(ctx context.Context, cfg Config, logger *slog.Logger, e Entry) (*Service, error) {
	if cfg.Backend != BackendMemory && cfg.Backend != BackendAWS {
		return nil, fmt.Errorf("unknown backend %q", cfg.Backend)
	}
	if cfg.Provider != ProviderSandbox && cfg.Provider != ProviderSumsub {
		return nil, fmt.Errorf("unknown provider %q", cfg.Provider)
	}
	if (e == RelayFunction || e == DeliveryFunction || e == SubmissionFunction) && cfg.Backend != BackendAWS {
		return nil, fmt.Errorf("KYC_BACKEND=%s: the relay, delivery and submission functions need the aws backend (with the memory backend, make run delivers and submits in process)", cfg.Backend)
	}
	r, err := newRoot(ctx, cfg, logger)
	if err != nil {
		return nil, err
	}
	if lacks := r.lacks(e); lacks != "" {
		return nil, fmt.Errorf("%s on the aws backend needs %s, which this build leaves out (a Lambda build of another function: pkg/app/clients.go)", e.Name(), lacks)
	}
	s := &Service{entry: e, root: r, Seed: r.seed, DeadLetters: r.stores.deadLetters}
	switch e {
	case RelayFunction:
		// Two event sources (template.yaml): the outbox's stream to the
		// delivery queue, the verifications' to the submission queue.
		s.Relay = r.relay()
		jobs, purges, pollJobs := r.submissionRelay()
		s.lambda = r.relayStreams(s.Relay.HandleStream, jobs, purges)
		s.loops = []func(context.Context){r.streamPoller(s.Relay).Poll}
		if r.cfg.SubmissionQueueURL != "" {
			s.loops = append(s.loops, pollJobs)
		}
		return s, nil
	case DeliveryFunction:
		s.Worker = r.worker()
		s.lambda, s.loops = s.Worker.HandleSQS, []func(context.Context){s.Worker.Poll}
		return s, nil
	case SubmissionFunction:
		var decide func(ctx context.Context, customerID, decision string) error
		if cfg.Provider == ProviderSandbox {
			decide = r.inbox().Decide // to the receiver at PublicURL (make run's, for make invoke)
		}
		handle, poll := r.submissionWorker(r.awsSubmissions(r.reviewer(decide)))
		s.lambda, s.loops = handle, []func(context.Context){poll}
		return s, nil
	}
	srv := &httpapi.Server{Logger: logger}
	if !cfg.InLambda {
		srv.Timeout = cfg.RequestTimeout
	}
	// What the routes of the entry's functions need (httpapi's table),
	// then each function's part.
	fns := e.serves(cfg.Provider)
	needsAuth, needsGuard := httpapi.Needs(fns...)
	if needsAuth {
		srv.Auth = r.authenticator()
	}
	if needsGuard {
		srv.Idempotency = r.guard()
	}
	for _, fn := range fns {
		s.add(srv, fn)
	}
	if r.memory() {
		s.runSubmissions(srv)
	}
	if e == AllInOne && !r.memory() {
		// Delivery in this process: on aws through the relay's stream
		// poller and the worker, the code Lambda runs otherwise (in
		// memory, newMemoryStores' queue delivers).
		s.Relay, s.Worker = r.relay(), r.worker()
		s.loops = []func(context.Context){r.streamPoller(s.Relay).Poll, s.Worker.Poll}
		if cfg.SubmissionQueueURL != "" {
			// The submission too (make dev): the verifications stream's
			// poller to the submission queue, its worker in process with
			// this provider's review (the sandbox's decides through the
			// inbox, as make run's does).
			var decide func(ctx context.Context, customerID, decision string) error
			if s.Inbox != nil {
				decide = s.Inbox.Decide
			} else if cfg.Provider == ProviderSandbox {
				decide = r.inbox().Decide
			}
			_, _, pollJobs := r.submissionRelay()
			_, work := r.submissionWorker(r.awsSubmissions(r.reviewer(decide)))
			s.loops = append(s.loops, pollJobs, work)
		}
	}
	s.handler = srv.Handler()
	return s, nil
}

// runSubmissions runs the memory backend's submission jobs in this
// process, with the sandbox's review or Sumsub's; under make run, the
// sandbox's direct uploads post to this process too.
func (s *Service) runSubmissions(srv *httpapi.Server) {
	r := s.root
	inbox := s.Inbox
	if inbox == nil {
		inbox = r.inbox() // its own, not served: make invoke
	}
	opener, _ := r.stores.sealer.(kyc.Opener)
	marks, _ := r.stores.verifications.(kyc.SubmissionMarks)
	local := &localSubmissions{ctx: r.ctx, run: r.submissions(r.reviewer(inbox.Decide), opener, marks), logger: r.logger}
	r.stores.memCustomers.OnSubmit = local.enqueue
	if lu, ok := r.stores.direct.(*sandbox.LocalUploads); ok && s.entry == AllInOne {
		srv.LocalUploads = lu
	}
}

// lacks names the AWS client entry e needs that this build left out ("":
// none): the queue for the relay and delivery, the outbox's stream too
// for every route in one process (clients.go).
func (r *root) lacks(e Entry) string {
	switch {
	case r.memory():
		return ""
	case (e == RelayFunction || e == DeliveryFunction || e == SubmissionFunction || e == AllInOne) && r.stores.queue == nil:
		return "an SQS client"
	case e == AllInOne && r.stores.streams == nil:
		return "a DynamoDB Streams client"
	}
	return ""
}

// serves is what an HTTP entry serves: its function's routes and, with the
// sandbox provider, the sandbox's pages beside the link (make invoke opens
// them on make run's port); AllInOne serves every route, the inbox (which
// plays the platforms) included. In the order add builds them: the inbox
// before the sandbox, whose page notes its decisions there, the sandbox
// before the link, whose provider it is.
func (e Entry) serves(provider string) []httpapi.Function {
	var fns []httpapi.Function
	switch e {
	case LinkFunction:
		fns = []httpapi.Function{httpapi.LinkFunction}
	case PlatformFunction:
		fns = []httpapi.Function{httpapi.PlatformFunction}
	case ReceiverFunction:
		fns = []httpapi.Function{httpapi.ReceiverFunction}
	case AllInOne:
		fns = []httpapi.Function{httpapi.LinkFunction, httpapi.ReceiverFunction, httpapi.PlatformFunction}
		if provider == ProviderSandbox {
			fns = append([]httpapi.Function{httpapi.InboxFunction}, fns...)
		}
	}
	if i := slices.Index(fns, httpapi.LinkFunction); i >= 0 && provider == ProviderSandbox {
		fns = slices.Insert(fns, i, httpapi.SandboxFunction)
	}
	return fns
}

// add builds fn's part of srv.
func (s *Service) add(srv *httpapi.Server, fn httpapi.Function) {
	r := s.root
	switch fn {
	case httpapi.InboxFunction:
		s.Inbox = r.inbox()
		srv.Inbox = s.Inbox
	case httpapi.SandboxFunction:
		inbox := s.Inbox
		if inbox == nil {
			inbox = r.inbox() // its own, not served: make invoke
		}
		srv.Sandbox = r.sandboxProvider(inbox)
	case httpapi.LinkFunction:
		if srv.Sandbox != nil {
			srv.Link = r.link(srv.Sandbox)
		} else {
			srv.Link = r.link(r.sumsubProvider())
		}
	case httpapi.ReceiverFunction:
		srv.Receiver = r.receiver()
	case httpapi.PlatformFunction:
		srv.Platform = r.platformAPI(s.Inbox)
	}
}

// Handler is the HTTP surface the entry serves (routes, base path, Grid
// 404/405); nil for relay, delivery and submission.
func (s *Service) Handler() http.Handler { return s.handler }

// awsSubmissions is the submission job on the aws backend: the stores'
// records, the KMS opener, the verifications table's marks, and
// provider's review.
func (r *root) awsSubmissions(provider kyc.ReviewSubmitter) *kyc.Submissions {
	r.customers() // its connection opened at start
	marks, _ := r.stores.verifications.(kyc.SubmissionMarks)
	return r.submissions(provider, r.stores.opener, marks)
}

// relayStreams is the relay function's Lambda handler. It has three event
// sources, each invocation one source's batch: the outbox's stream
// (notices to the delivery queue), the verifications' stream (jobs to the
// submission queue) and the customers' (the purge job of each customer
// removed for good, to the submission queue). The table each record's eventSourceARN names
// picks its relay; a record of any other table fails the batch (an event
// source the configuration does not know: Lambda retries it, the
// function's Errors alarm fires), rather than be passed over.
func (r *root) relayStreams(notices, jobs, purges func(context.Context, events.DynamoDBEvent) error) func(context.Context, events.DynamoDBEvent) error {
	return func(ctx context.Context, ev events.DynamoDBEvent) error {
		var outbox, verifications, customers events.DynamoDBEvent
		for _, rec := range ev.Records {
			switch table := streamTable(rec.EventSourceArn); table {
			case r.cfg.OutboxTable:
				outbox.Records = append(outbox.Records, rec)
			case r.cfg.VerificationsTable:
				verifications.Records = append(verifications.Records, rec)
			case r.cfg.CustomersTable:
				customers.Records = append(customers.Records, rec)
			default:
				return fmt.Errorf("relay: a record of stream %q, of neither WEBHOOK_OUTBOX_TABLE (%s), VERIFICATIONS_TABLE (%s) nor CUSTOMERS_TABLE (%s)",
					rec.EventSourceArn, r.cfg.OutboxTable, r.cfg.VerificationsTable, r.cfg.CustomersTable)
			}
		}
		if len(customers.Records) > 0 {
			if purges == nil {
				return errors.New("relay: customers' removals, and no submission queue to queue their purge on (SUBMISSION_QUEUE_URL)")
			}
			if err := purges(ctx, customers); err != nil {
				return err
			}
		}
		if len(outbox.Records) > 0 {
			if err := notices(ctx, outbox); err != nil {
				return err
			}
		}
		if len(verifications.Records) > 0 {
			return jobs(ctx, verifications)
		}
		return nil
	}
}

// streamTable is the table a stream's ARN names
// (arn:aws:dynamodb:<region>:<account>:table/<name>/stream/<label>).
func streamTable(arn string) string {
	_, rest, ok := strings.Cut(arn, ":table/")
	if !ok {
		return ""
	}
	name, _, _ := strings.Cut(rest, "/stream/")
	return name
}

// Lambda is the API Gateway adapter of an HTTP entry.
func (s *Service) Lambda() *lambdahttp.Adapter {
	return &lambdahttp.Adapter{Handler: s.handler, BadEvent: httpapi.RejectEvent(s.root.logger), Reserve: lambdaReserve}
}

// LambdaHandler is the entry's Lambda handler, each invocation traced when
// tracing is on.
func (s *Service) LambdaHandler() telemetry.Handler {
	tr := s.root.tracing
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
	s.root.runPrimers(ctx)
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
	named := e // the function the binary is, whatever it serves
	if !inLambda {
		e = localEntry(e, cfg)
	}
	var ln net.Listener
	if inLambda {
		cfg.PublicURL = sandboxURLInLambda
	} else if e == LinkFunction || e == PlatformFunction || e == ReceiverFunction || e == AllInOne {
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
	if named == ReceiverFunction {
		url += "/webhooks/sumsub" // the route it is named for
	}
	logger.Info("listening", "url", url, "backend", cfg.Backend, "provider", cfg.Provider, "serves", s.entry.Name())
	if banner := s.Banner(cfg.PublicURL); banner != "" {
		fmt.Fprint(os.Stderr, banner)
		if key := s.SigningKeyBanner(ctx); key != "" {
			fmt.Fprintf(os.Stderr, "%s\n", key)
		}
	}
	return s.Serve(ctx, ln)
}

// localEntry is what a function's binary serves outside Lambda: with the
// memory backend the link and the platform functions serve every route
// with delivery in process (make run builds functions/kyc-link), and on
// any backend so does the receiver, whose decisions need the relay and
// delivery beside it; the rest serve themselves. Main says which in its
// start line.
func localEntry(e Entry, cfg Config) Entry {
	if (e == LinkFunction || e == PlatformFunction) && cfg.Backend == BackendMemory || e == ReceiverFunction {
		return AllInOne
	}
	return e
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
