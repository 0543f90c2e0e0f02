// Command kyc-link serves POST /customers/{customerId}/kyc-link: as an AWS
// Lambda function behind API Gateway, or, started outside Lambda, as a local
// HTTP server on 127.0.0.1:$PORT.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/grid-kyc/kyc-link/pkg/app"
	"github.com/grid-kyc/kyc-link/pkg/tracing"
)

// sandboxURLInLambda is where sandbox links point when the function runs
// under Lambda (only with KYC_PROVIDER=sandbox, as make invoke does):
// make run serves the sandbox pages there, on its default port.
const sandboxURLInLambda = "http://127.0.0.1:3000"

func main() {
	if len(os.Args) > 1 && os.Args[1] == "-check" {
		os.Exit(check())
	}
	logger := slog.New(tracing.LogHandler(slog.NewJSONHandler(os.Stdout, nil)))
	// Libraries that log through the standard log package (aws-lambda-go)
	// then write JSON lines like ours, their text escaped.
	slog.SetDefault(logger)
	if err := run(logger); err != nil {
		logger.Error("kyc-link stopped", "error", err.Error())
		os.Exit(1)
	}
}

// check (kyc-link -check, make check) verifies a deployment's secrets,
// tables, queue and Sumsub credentials from the same environment the
// functions read, prints a line per item and fails if any item does.
func check() int {
	cfg, err := app.ConfigFromEnv(os.Getenv, true)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	failed := 0
	for _, r := range app.Check(context.Background(), cfg) {
		fmt.Println(r)
		if !r.OK {
			failed++
		}
	}
	if failed > 0 {
		fmt.Printf("%d check(s) failed\n", failed)
		return 1
	}
	fmt.Println("all checks passed")
	return 0
}

// primeTimeout bounds start-up work; Lambda's init phase allows 10 s.
const primeTimeout = 3 * time.Second

// prime loads secrets and opens connections before the first request.
func prime(ctx context.Context, a *app.App) {
	ctx, cancel := context.WithTimeout(ctx, primeTimeout)
	defer cancel()
	a.Prime(ctx)
}

func run(logger *slog.Logger) error {
	inLambda := os.Getenv("AWS_LAMBDA_RUNTIME_API") != ""
	cfg, err := app.ConfigFromEnv(os.Getenv, inLambda)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	if inLambda {
		cfg.PublicURL = sandboxURLInLambda
		a, err := app.New(ctx, cfg, logger)
		if err != nil {
			return err
		}
		prime(ctx, a)
		lambda.Start(a.LambdaHandler("kyc-link", a.Lambda().Invoke))
		return nil
	}

	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", cfg.Port))
	if err != nil {
		return err
	}
	cfg.PublicURL = "http://" + ln.Addr().String()
	a, err := app.New(ctx, cfg, logger)
	if err != nil {
		return err
	}
	if cfg.Backend == app.BackendMemory {
		// make run: the whole journey on one port, the Sumsub webhook
		// receiver and in-process delivery to the local inbox included.
		hooks, err := a.Webhooks(ctx)
		if err != nil {
			return err
		}
		go hooks.Run(ctx)
	}
	prime(ctx, a)
	logger.Info("listening", "url", cfg.PublicURL, "backend", cfg.Backend, "provider", cfg.Provider)
	if curl := a.CurlExample(cfg.PublicURL); curl != "" {
		fmt.Fprintf(os.Stderr, "\nkyc-link is up on %s (%s backend, %s provider). Try:\n\n  %s\n\n"+
			"Open the kycUrl it returns, choose Approve, Reject or Hold, and watch the platform's webhooks at %s/sandbox/inbox/\n\n",
			cfg.PublicURL, cfg.Backend, cfg.Provider, curl, cfg.PublicURL)
		if banner, err := a.SigningKeyBanner(ctx); err != nil {
			return err
		} else if banner != "" {
			fmt.Fprintf(os.Stderr, "%s\n", banner)
		}
	}
	return a.Serve(ctx, ln)
}
