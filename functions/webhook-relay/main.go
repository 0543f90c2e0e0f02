// Command webhook-relay moves new records of the webhook outbox table (its
// DynamoDB stream) to the delivery queue: as an AWS Lambda function on the
// stream, or, outside Lambda, by polling the stream.
package main

import "github.com/grid-kyc/kyc-link/pkg/app"

func main() { app.Main(app.RelayFunction) }
