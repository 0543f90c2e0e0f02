// Command webhookkey makes the key Grid webhooks are signed with (make
// webhook-key): it prints the Secrets Manager secret to store
// (WEBHOOK_SIGNING_KEY_SECRET_ID) and the public key platforms pin.
package main

import (
	"fmt"
	"os"

	"github.com/grid-kyc/kyc-link/pkg/gridhook"
)

func main() {
	secret, public, err := gridhook.NewKey()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("Secret string for WEBHOOK_SIGNING_KEY_SECRET_ID (store it, then forget it):\n\n%s\n\n", secret)
	fmt.Printf("Public key for platforms to verify X-Grid-Signature with:\n\n%s", public)
}
