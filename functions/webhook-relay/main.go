// Command webhook-relay moves new records of the webhook outbox table
// (its DynamoDB stream) to the delivery queue: as an AWS Lambda function
// on the stream, or, outside Lambda, by polling the stream.
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
		logger.Error("webhook-relay stopped", "error", err.Error())
		os.Exit(1)
	}
	if inLambda {
		lambda.Start(hooks.Relay.HandleStream)
		return
	}
	hooks.Poller.Poll(ctx)
}

type needsAWS struct{}

func (needsAWS) Error() string {
	return "webhook-relay needs KYC_BACKEND=aws (with the memory backend, make run delivers in process)"
}

var errNeedsAWS error = needsAWS{}
