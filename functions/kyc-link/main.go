// Command kyc-link serves POST /customers/{customerId}/kyc-link: as an AWS
// Lambda function behind API Gateway, or, started outside Lambda, as a local
// HTTP server on 127.0.0.1:$PORT (on the memory backend, the whole journey:
// make run). kyc-link -check verifies a deployment (make check).
package main

import (
	"os"

	"github.com/grid-kyc/kyc-link/pkg/app"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "-check" {
		os.Exit(app.CheckMain())
	}
	app.Main(app.LinkFunction)
}
