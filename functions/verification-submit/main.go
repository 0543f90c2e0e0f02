// Command verification-submit hands complete verifications to the
// provider (Sumsub's API-driven review), one submission job per queued
// message, at least once, with backoff and a dead-letter queue: as an AWS
// Lambda function on the submission queue, or, outside Lambda, by polling
// the queue.
package main

import "github.com/grid-kyc/kyc-link/pkg/app"

func main() { app.Main(app.SubmissionFunction) }
