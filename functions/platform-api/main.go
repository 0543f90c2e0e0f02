// Command platform-api serves the platform API Grid's clients call around
// the link: POST/GET /customers, GET/PATCH/DELETE /customers/{customerId},
// GET/PATCH /config and POST /sandbox/webhooks/test; as an AWS Lambda
// function behind API Gateway, or, started outside Lambda, as a local HTTP
// server on 127.0.0.1:$PORT.
package main

import "github.com/grid-kyc/kyc-link/pkg/app"

func main() { app.Main(app.PlatformFunction) }
