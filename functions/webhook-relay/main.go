// Command webhook-relay moves new records of the webhook outbox table (its
// DynamoDB stream) to the delivery queue: as an AWS Lambda function on the
// stream, or, outside Lambda, by polling the stream.
package main

import (
	"context"

	"github.com/grid-kyc/kyc-link/pkg/app"
)

func main() {
	app.RunWorker("webhook-relay",
		func(w *app.Webhooks) any { return w.Relay.HandleStream },
		func(ctx context.Context, w *app.Webhooks) { w.Poller.Poll(ctx) })
}
