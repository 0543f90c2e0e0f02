package publicaddr_test

import (
	"net/netip"
	"testing"

	"github.com/grid-kyc/kyc-link/pkg/publicaddr"
)

func TestHost(t *testing.T) {
	for host, want := range map[string]bool{
		"app.example.com": true, "8.8.8.8": true, "2001:4860:4860::8888": true, "example.com.": true,
		"localhost": false, "LOCALHOST.": false, "a.localhost": false,
		"127.0.0.1": false, "::1": false, "10.1.2.3": false, "172.16.0.1": false, "192.168.0.1": false,
		"169.254.169.254": false, "fe80::1": false, "100.64.0.1": false, "0.0.0.0": false, "::": false,
		"224.0.0.1": false, "fd00:ec2::254": false, "::ffff:10.0.0.1": false,
		"64:ff9b::a9fe:a9fe": false, "2002:a01:203::1": false, "64:ff9b::808:808": true,
	} {
		if got := publicaddr.Host(host); got != want {
			t.Errorf("Host(%q) = %v; want %v", host, got, want)
		}
	}
}

// TestIP: every special-purpose block is refused, and the public
// addresses around and inside them (embedded public IPv4 among them) are
// not, so the rule can be neither too loose nor too strict.
func TestIP(t *testing.T) {
	for _, tc := range []struct {
		addr string
		want bool
		why  string
	}{
		// Public.
		{"8.8.8.8", true, "public IPv4"},
		{"1.1.1.1", true, "public IPv4"},
		{"2606:4700::1111", true, "public IPv6"},
		{"2001:4860:4860::8888", true, "public IPv6"},
		{"2001:200::1", true, "just past 2001::/23"},
		{"2001:db9::1", true, "just past 2001:db8::/32"},
		{"3fff:1000::1", true, "just past 3fff::/20"},
		{"3ffe:ffff::1", true, "just before 3fff::/20"},
		{"100.63.255.255", true, "just before CGNAT"},
		{"100.128.0.0", true, "just past CGNAT"},
		{"192.0.1.1", true, "just past 192.0.0.0/24"},
		{"198.17.255.255", true, "just before benchmarking"},
		{"198.20.0.0", true, "just past benchmarking"},
		{"223.255.255.255", true, "last unicast /8"},
		{"1.0.0.0", true, "just past 0.0.0.0/8"},
		{"::ffff:8.8.8.8", true, "IPv4-mapped public"},
		{"::808:808", true, "IPv4-compatible public"},
		{"::ffff:0:808:808", true, "SIIT public"},
		{"64:ff9b::808:808", true, "NAT64 well-known prefix, public IPv4"},
		{"64:ff9b::1.1.1.1", true, "NAT64 well-known prefix, public IPv4"},
		{"2002:808:808::1", true, "6to4, public IPv4"},

		// IPv4 special-purpose.
		{"0.0.0.0", false, "unspecified"},
		{"0.1.2.3", false, "this network"},
		{"10.1.2.3", false, "private"},
		{"100.64.0.1", false, "CGNAT"},
		{"100.127.255.255", false, "CGNAT"},
		{"127.0.0.1", false, "loopback"},
		{"127.255.255.254", false, "loopback"},
		{"169.254.169.254", false, "link-local, metadata"},
		{"172.16.0.1", false, "private"},
		{"172.31.255.255", false, "private"},
		{"192.0.0.1", false, "IETF protocol assignments"},
		{"192.0.0.9", false, "PCP anycast"},
		{"192.0.0.170", false, "NAT64 discovery"},
		{"192.0.2.1", false, "TEST-NET-1"},
		{"192.168.0.1", false, "private"},
		{"198.18.0.1", false, "benchmarking"},
		{"198.19.255.255", false, "benchmarking"},
		{"198.51.100.7", false, "TEST-NET-2"},
		{"203.0.113.7", false, "TEST-NET-3"},
		{"224.0.0.1", false, "multicast"},
		{"239.255.255.250", false, "multicast"},
		{"240.0.0.1", false, "reserved"},
		{"255.255.255.254", false, "reserved"},
		{"255.255.255.255", false, "limited broadcast"},

		// IPv6 special-purpose.
		{"::", false, "unspecified"},
		{"::1", false, "loopback"},
		{"fe80::1", false, "link-local"},
		{"febf::1", false, "link-local"},
		{"fec0::1", false, "site-local"},
		{"fc00::1", false, "unique local"},
		{"fd00:ec2::254", false, "unique local, metadata"},
		{"ff02::1", false, "multicast"},
		{"ff0e::1", false, "global multicast"},
		{"100::1", false, "discard-only"},
		{"100:0:0:1::1", false, "dummy prefix"},
		{"2001:0:4136:e378:8000:63bf:3fff:fdd2", false, "Teredo"},
		{"2001:1::1", false, "PCP anycast"},
		{"2001:2::1", false, "benchmarking"},
		{"2001:10::1", false, "ORCHID"},
		{"2001:20::1", false, "ORCHIDv2"},
		{"2001:db8::1", false, "documentation"},
		{"2001:db8:ffff::1", false, "documentation"},
		{"3fff::1", false, "documentation"},
		{"3fff:fff::1", false, "documentation"},
		{"5f00::1", false, "SRv6 SID"},
		{"4000::1", false, "reserved, outside 2000::/3"},
		{"2606:4700::1111%eth0", false, "zoned"},

		// IPv6 forms of non-public IPv4.
		{"::ffff:10.0.0.1", false, "IPv4-mapped private"},
		{"::ffff:169.254.169.254", false, "IPv4-mapped metadata"},
		{"::a9fe:a9fe", false, "IPv4-compatible metadata"},
		{"::a01:203", false, "IPv4-compatible private"},
		{"::7f00:1", false, "IPv4-compatible loopback"},
		{"::ffff:0:a9fe:a9fe", false, "SIIT metadata"},
		{"::ffff:0:7f00:1", false, "SIIT loopback"},
		{"64:ff9b::a9fe:a9fe", false, "NAT64 metadata"},
		{"64:ff9b::a01:203", false, "NAT64 private"},
		{"64:ff9b::7f00:1", false, "NAT64 loopback"},
		{"64:ff9b::c000:201", false, "NAT64 documentation"},
		{"64:ff9b::6440:1", false, "NAT64 CGNAT"},
		{"64:ff9b::1:808:808", false, "64:ff9b::/32 outside the /96"},
		{"64:ff9b:1::a01:203", false, "local-use NAT64"},
		{"64:ff9b:1::808:808", false, "local-use NAT64, even a public IPv4"},
		{"64:ff9b:1:ffff::1", false, "local-use NAT64"},
		{"2002:a01:203::1", false, "6to4 private"},
		{"2002:a9fe:a9fe::1", false, "6to4 metadata"},
		{"2002:7f00:1::1", false, "6to4 loopback"},
		{"2002:c0a8:101::1", false, "6to4 private"},
		{"2002:6440:1::1", false, "6to4 CGNAT"},
	} {
		ip := netip.MustParseAddr(tc.addr)
		if got := publicaddr.IP(ip); got != tc.want {
			t.Errorf("IP(%s) = %v; want %v (%s)", tc.addr, got, tc.want, tc.why)
		}
	}
	if publicaddr.IP(netip.Addr{}) {
		t.Error("IP(zero Addr) = true")
	}
}
