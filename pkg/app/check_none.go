//go:build lambda_link || lambda_platform || lambda_receiver || lambda_relay || lambda_delivery || lambda_submit

package app

import (
	"fmt"
	"os"
)

// CheckMain: a Lambda build carries no deployment check (clients.go);
// make check builds the local binary, which does.
func CheckMain() int {
	fmt.Fprintln(os.Stderr, "this is a Lambda build of one function: it has no -check; run make check")
	return 2
}
