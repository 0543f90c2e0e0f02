// Command newtoken creates an API token: a random id and client secret. It
// prints the secret once (store it with the platform; we keep only its
// digest) and the JSON entry to add to the API tokens secret.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"

	"github.com/grid-kyc/kyc-link/pkg/auth"
)

func main() {
	platform := flag.String("platform", "", "the platform id the token acts for (required)")
	flag.Parse()
	if *platform == "" {
		fmt.Fprintln(os.Stderr, "usage: newtoken -platform <platform id>   (make token PLATFORM=<platform id>)")
		os.Exit(2)
	}
	token, secret := auth.NewToken(*platform)
	entry, _ := json.Marshal(token)
	fmt.Printf("token id:      %s\nclient secret: %s   (shown once; give it to the platform, do not store it)\n\n", token.ID, secret)
	fmt.Printf("Add this entry to the \"tokens\" array of the API tokens secret:\n%s\n", entry)
}
