package publicaddr_test

import (
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
	} {
		if got := publicaddr.Host(host); got != want {
			t.Errorf("Host(%q) = %v; want %v", host, got, want)
		}
	}
}
