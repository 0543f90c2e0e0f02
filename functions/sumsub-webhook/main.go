// Command sumsub-webhook receives Sumsub's applicant events on POST
// /webhooks/sumsub: as an AWS Lambda function behind API Gateway, or,
// started outside Lambda, as a local HTTP server on 127.0.0.1:$PORT that
// serves every route and runs the webhook relay and delivery worker
// in-process (the code the relay and delivery functions run), so the whole
// loop works against an emulator with KYC_BACKEND=aws.
package main

import "github.com/grid-kyc/kyc-link/pkg/app"

func main() { app.Main(app.ReceiverFunction) }
