package webhooks_test

import (
	"errors"
	"testing"
	"time"

	"github.com/grid-kyc/kyc-link/pkg/webhooks"
)

// TestClientRefusesIPv6FormsOfPrivateAddresses: IPv6 addresses that carry
// a private IPv4 address (NAT64, 6to4, IPv4-compatible) or cannot be
// judged (local-use NAT64, Teredo) are refused by the dial guard itself,
// not left to fail on the network: behind DNS64/NAT64 they would reach
// the metadata service or the VPC. The loopback-allowing client of local
// runs refuses them too.
func TestClientRefusesIPv6FormsOfPrivateAddresses(t *testing.T) {
	urls := []string{
		"https://[64:ff9b::a9fe:a9fe]/",     // NAT64 -> 169.254.169.254
		"https://[64:ff9b::a01:203]/",       // NAT64 -> 10.1.2.3
		"https://[64:ff9b:1::a01:203]/",     // local-use NAT64
		"https://[2002:a01:203::1]/",        // 6to4 -> 10.1.2.3
		"https://[::a9fe:a9fe]/",            // IPv4-compatible -> 169.254.169.254
		"https://[64:ff9b::7f00:1]/",        // NAT64 -> 127.0.0.1
		"https://[2001:0:4136:e378::1]/",    // Teredo
		"https://[::ffff:0:a9fe:a9fe]/",     // SIIT -> 169.254.169.254
		"https://[2002:a9fe:a9fe::1]:8443/", // 6to4 -> 169.254.169.254, other port
	}
	for _, allowLoopback := range []bool{false, true} {
		c := webhooks.NewClient(30*time.Second, allowLoopback)
		for _, u := range urls {
			if _, err := c.Get(u); !errors.Is(err, webhooks.ErrForbiddenAddress) {
				t.Errorf("allowLoopback=%v: GET %s = %v; want ErrForbiddenAddress", allowLoopback, u, err)
			}
		}
	}
}
