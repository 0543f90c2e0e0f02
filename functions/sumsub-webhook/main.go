// Command sumsub-webhook receives Sumsub's applicant events on POST
// /webhooks/sumsub: as an AWS Lambda function behind API Gateway, or,
// started outside Lambda, as a local HTTP server on 127.0.0.1:$PORT that
// also runs the webhook relay and delivery worker in-process (the same
// code the relay and delivery functions run), so the whole loop works
// against an emulator with KYC_BACKEND=aws.
package main

import (
	"context"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/grid-kyc/kyc-link/pkg/app"
	"github.com/grid-kyc/kyc-link/pkg/tracing"
)

func main() {
	logger := slog.New(tracing.LogHandler(slog.NewJSONHandler(os.Stdout, nil)))
	slog.SetDefault(logger)
	if err := run(logger); err != nil {
		logger.Error("sumsub-webhook stopped", "error", err.Error())
		os.Exit(1)
	}
}

func run(logger *slog.Logger) error {
	inLambda := os.Getenv("AWS_LAMBDA_RUNTIME_API") != ""
	cfg, err := app.ConfigFromEnv(os.Getenv, inLambda)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var ln net.Listener
	if inLambda {
		// Only with the memory backend (make invoke): webhooks go to the
		// inbox make run serves on its default port.
		cfg.PublicURL = "http://127.0.0.1:3000"
	} else {
		if ln, err = net.Listen("tcp", net.JoinHostPort("127.0.0.1", cfg.Port)); err != nil {
			return err
		}
		cfg.PublicURL = "http://" + ln.Addr().String()
	}
	a, err := app.New(ctx, cfg, logger)
	if err != nil {
		return err
	}
	hooks, err := a.Webhooks(ctx)
	if err != nil {
		return err
	}
	if inLambda {
		lambda.Start(a.LambdaHandler("sumsub-webhook", a.LambdaFor(hooks.Handler()).Invoke))
		return nil
	}
	go hooks.Run(ctx)
	logger.Info("listening", "url", cfg.PublicURL+"/webhooks/sumsub", "backend", cfg.Backend)
	return a.ServeHandler(ctx, ln, hooks.Handler())
}
