// Package publicaddr owns the one rule for "may this service send to this
// URL" (CheckURL) and to this address (Dialable): whether an address or
// host name can belong to a public endpoint, and the loopback exception
// local runs allow. Webhook delivery, the test webhook, PATCH /config and
// the link's redirectUri all apply it; none keeps a copy.
package publicaddr

import (
	"net/netip"
	"strings"
)

// notGlobal holds the blocks of the IANA IPv4 and IPv6 Special-Purpose
// Address Registries that are not globally reachable, or are never an
// HTTPS endpoint, and that the netip predicates used by IP (loopback,
// link-local, multicast, private, unspecified, broadcast) do not cover.
var notGlobal = prefixes(
	"0.0.0.0/8",       // "this network"
	"100.64.0.0/10",   // shared address space (CGNAT)
	"192.0.0.0/24",    // IETF protocol assignments (DS-Lite, NAT64 discovery, PCP/TURN anycast)
	"192.0.2.0/24",    // documentation (TEST-NET-1)
	"198.18.0.0/15",   // benchmarking
	"198.51.100.0/24", // documentation (TEST-NET-2)
	"203.0.113.0/24",  // documentation (TEST-NET-3)
	"240.0.0.0/4",     // reserved, limited broadcast among them

	// The local-use NAT64 prefix: its operator picks the prefix length, so
	// where the IPv4 address sits, hence where it leads, is unknown.
	"64:ff9b:1::/48",
	"100::/64", // discard-only
	// IETF protocol assignments: Teredo 2001::/32 (tunnels to an IPv4
	// address), benchmarking 2001:2::/48, ORCHID 2001:10::/28 and
	// ORCHIDv2 2001:20::/28 (identifiers, not routable), and a few
	// anycast service blocks (PCP, TURN, AMT, AS112) that answer no HTTPS.
	"2001::/23",
	"2001:db8::/32", // documentation
	"3fff::/20",     // documentation
	"5f00::/16",     // segment routing SIDs
	"fec0::/10",     // deprecated site-local
)

// globalUnicast6 is the only IPv6 block IANA assigns unicast addresses
// from; the rest of the space is reserved.
var globalUnicast6 = netip.MustParsePrefix("2000::/3")

// embedded lists the IPv6 forms that carry an IPv4 address, and the byte
// offset where it sits. A translator or tunnel on the way delivers such a
// packet to that IPv4 address, so it is judged by it. IPv4-mapped
// addresses (::ffff:0:0/96) are handled by Unmap.
var embedded = []struct {
	prefix netip.Prefix
	at     int
}{
	{netip.MustParsePrefix("::/96"), 12},           // IPv4-compatible (deprecated)
	{netip.MustParsePrefix("::ffff:0:0:0/96"), 12}, // SIIT IPv4-translated
	{netip.MustParsePrefix("64:ff9b::/96"), 12},    // NAT64 well-known prefix
	{netip.MustParsePrefix("2002::/16"), 2},        // 6to4
}

func prefixes(s ...string) []netip.Prefix {
	ps := make([]netip.Prefix, len(s))
	for i, p := range s {
		ps[i] = netip.MustParsePrefix(p)
	}
	return ps
}

// IP reports whether ip can be a public endpoint: a globally reachable
// unicast address. An IPv6 address that embeds an IPv4 address is judged
// by that IPv4 address; a zone never belongs to a public address.
func IP(ip netip.Addr) bool {
	if ip.Zone() != "" {
		return false
	}
	ip = ip.Unmap()
	if ip.Is6() {
		if v4, ok := embeddedIPv4(ip); ok {
			ip = v4
		} else if !globalUnicast6.Contains(ip) {
			return false
		}
	}
	if !ip.IsGlobalUnicast() || ip.IsPrivate() {
		return false
	}
	for _, p := range notGlobal {
		if p.Contains(ip) {
			return false
		}
	}
	return true
}

// embeddedIPv4 returns the IPv4 address an IPv6 address carries, if it is
// one of the embedded forms.
func embeddedIPv4(ip netip.Addr) (netip.Addr, bool) {
	for _, e := range embedded {
		if e.prefix.Contains(ip) {
			b := ip.As16()
			return netip.AddrFrom4([4]byte(b[e.at : e.at+4])), true
		}
	}
	return netip.Addr{}, false
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
