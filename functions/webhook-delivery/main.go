// Command webhook-delivery delivers queued Grid webhooks to platforms (at
// least once, with backoff and a dead-letter store): as an AWS Lambda
// function on the queue, or, outside Lambda, by polling the queue.
package main

import "github.com/grid-kyc/kyc-link/pkg/app"

func main() { app.Main(app.DeliveryFunction) }
