// Package publicaddr says whether an address or host name can belong to a
// public endpoint: the rule for webhook destinations and for redirect URLs
// handed to the KYC provider.
package publicaddr

import (
	"net/netip"
	"strings"
)

// cgnat is RFC 6598 shared address space, which IsPrivate does not cover.
var cgnat = netip.MustParsePrefix("100.64.0.0/10")

// IP reports whether ip is a public unicast address: not loopback, private,
// link-local (the cloud metadata service among them), CGNAT, unspecified
// or multicast.
func IP(ip netip.Addr) bool {
	ip = ip.Unmap()
	return ip.IsGlobalUnicast() && !ip.IsPrivate() && !cgnat.Contains(ip)
}

// Host reports whether a URL host (a name or an IP literal, without port
// or brackets) can be public without resolving it: IP literals must be
// public, and localhost names never are. Names are not resolved here.
func Host(h string) bool {
	if ip, err := netip.ParseAddr(h); err == nil {
		return IP(ip)
	}
	name := strings.ToLower(strings.TrimSuffix(h, "."))
	return name != "localhost" && !strings.HasSuffix(name, ".localhost")
}
