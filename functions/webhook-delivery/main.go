// Command webhook-delivery delivers queued Grid webhooks to platforms (at
// least once, with backoff and a dead-letter store): as an AWS Lambda
// function on the queue, or, outside Lambda, by polling the queue.
package main

import (
	"context"

	"github.com/grid-kyc/kyc-link/pkg/app"
)

func main() {
	app.RunWorker("webhook-delivery",
		func(w *app.Webhooks) any { return w.Worker.HandleSQS },
		func(ctx context.Context, w *app.Webhooks) { w.Worker.Poll(ctx) })
}
