// Command webhook-delivery delivers queued Grid webhooks to platforms
// (at least once, with backoff and a dead-letter store): as an AWS Lambda
// function on the queue, or, outside Lambda, by polling the queue.
package main

import (
	"context"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/grid-kyc/kyc-link/pkg/app"
)

func main() {
	logger := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	slog.SetDefault(logger)
	inLambda := os.Getenv("AWS_LAMBDA_RUNTIME_API") != ""
	cfg, err := app.ConfigFromEnv(os.Getenv, inLambda)
	if err == nil && cfg.Backend != app.BackendAWS {
		err = errNeedsAWS
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var hooks *app.Webhooks
	if err == nil {
		var a *app.App
		if a, err = app.New(ctx, cfg, logger); err == nil {
			hooks, err = a.Webhooks(ctx)
		}
	}
	if err != nil {
		logger.Error("webhook-delivery stopped", "error", err.Error())
		os.Exit(1)
	}
	if inLambda {
		lambda.Start(hooks.Worker.HandleSQS)
		return
	}
	hooks.Worker.Poll(ctx)
}

type needsAWS struct{}

func (needsAWS) Error() string {
	return "webhook-delivery needs KYC_BACKEND=aws (with the memory backend, make run delivers in process)"
}

var errNeedsAWS error = needsAWS{}
