package publicaddr_test

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/grid-kyc/kyc-link/pkg/publicaddr"
)

// reasonOf names CheckURL's verdict: "ok", or the reason it refused.
func reasonOf(err error) string {
	for _, r := range []struct {
		err  error
		name string
	}{
		{publicaddr.ErrNotAbsolute, "not absolute"},
		{publicaddr.ErrUserInfo, "user info"},
		{publicaddr.ErrHostNotASCII, "host not ASCII"},
		{publicaddr.ErrInvalidHost, "invalid host"},
		{publicaddr.ErrInvalidPort, "invalid port"},
		{publicaddr.ErrNotHTTPS, "not https"},
		{publicaddr.ErrHTTPNotLoopback, "http not loopback"},
		{publicaddr.ErrNotPublic, "not public"},
	} {
		if errors.Is(err, r.err) {
			return r.name
		}
	}
	if err != nil {
		return "unexpected: " + err.Error()
	}
	return "ok"
}

// TestCheckURL: the one URL rule, in production and in local mode. The
// rows marked "was" are where the four former copies disagreed; the
// stricter answer is the rule now.
func TestCheckURL(t *testing.T) {
	type row struct {
		url      string
		loopback bool
	}
	want := map[row]string{
		{"https://app.example.com/done?x=%20y#f", false}: "ok",
		{"https://8.8.8.8/", false}:                      "ok",
		{"https://203.0.114.7/hook", false}:              "ok",
		{"https://[2001:4860:4860::8888]:8443/", false}:  "ok",
		{"https://xn--bcher-kva.example/", false}:        "ok",
		{"https://XN--BCHER-KVA.example./done", false}:   "ok",
		{"HTTPS://app.example.com/", false}:              "ok",
		{"https://app.example.com:65535/", false}:        "ok",
		{"https://api.example.com/hooks", true}:          "ok",

		{"not a url", false}:             "not absolute",
		{"::", false}:                    "not absolute",
		{"/done", false}:                 "not absolute",
		{"https:///path", false}:         "not absolute",
		{"https:a.example", false}:       "not absolute",
		{"javascript:alert(1)", false}:   "not absolute",
		{"https://a.example/%zz", false}: "not absolute",

		{"https://user:pw@a.example/", false}:                                             "user info",
		{"https://a.example@evil.example/", false}:                                        "user info",
		{"http://user@localhost:8080/", true}:                                             "user info",
		{"https://ｌｏｃａｌｈｏｓｔ:8443/", false}:                                                "host not ASCII",
		{"https://ｌｏｃａｌｈｏｓｔ:8443/", true}:                                                 "host not ASCII",
		{"https://127。0。0。1:8443/", false}:                                                "host not ASCII",
		{"https://%EF%BD%8Cocalhost/", false}:                                             "host not ASCII",
		{"https://bücher.example/", false}:                                                "host not ASCII",
		{"https://xn--zz.example/", false}:                                                "invalid host",
		{"https://-a.example/", false}:                                                    "invalid host",
		{"https://a..example/", false}:                                                    "invalid host",
		{"https://" + strings.Repeat("a", 64) + ".example/", false}:                       "invalid host",
		{"https://" + strings.Repeat(strings.Repeat("a", 63)+".", 4) + "example/", false}: "invalid host",
		// Was accepted by delivery and PATCH /config (any printable ASCII
		// host); no public certificate names it.
		{"https://a_b.example/", false}: "invalid host",
		// Was accepted by delivery in local mode (netip took the zone).
		{"http://[::1%25lo]:8080/", true}:    "invalid host",
		{"https://[fe80::1%25eth0]/", false}: "invalid host",
		// Were accepted by delivery and PATCH /config (url.Parse checks
		// only that a port is digits).
		{"https://a.example:0/", false}:        "invalid port",
		{"https://a.example:65536/", false}:    "invalid port",
		{"https://a.example:99999999/", false}: "invalid port",

		{"http://a.example/", false}:             "not https",
		{"ftp://a.example/", false}:              "not https",
		{"ftp://localhost/", true}:               "not https",
		{"//a.example/x", false}:                 "not https",
		{"http://127.0.0.1:8080/", false}:        "not https",
		{"http://localhost/", false}:             "not https",
		{"http://a.example/", true}:              "http not loopback",
		{"http://10.0.0.1/", true}:               "http not loopback",
		{"http://localhost.evil.example/", true}: "http not loopback",
		{"http://2130706433/", true}:             "invalid host",
		{"http://app.localhost/", true}:          "http not loopback",
		{"http://localhost./", true}:             "http not loopback",
		// Was accepted for redirectUri in local mode (compared
		// case-insensitively there, exactly in the webhook copies).
		{"http://LOCALHOST:8080/", true}: "http not loopback",
		{"https://LOCALHOST/", true}:     "not public",

		{"https://localhost/", false}:             "not public",
		{"https://LOCALHOST./", false}:            "not public",
		{"https://a.localhost/", false}:           "not public",
		{"https://app.localhost/", true}:          "not public",
		{"https://127.0.0.1/", false}:             "not public",
		{"https://[::1]/", false}:                 "not public",
		{"https://10.0.0.1/", false}:              "not public",
		{"https://169.254.169.254/latest", false}: "not public",
		{"https://[64:ff9b::a9fe:a9fe]/", false}:  "not public",
		{"https://[64:ff9b::7f00:1]/", true}:      "not public",
		{"https://[fd00:ec2::254]/", true}:        "not public",
		{"https://0.0.0.0/", true}:                "not public",
		// Was accepted by delivery (its copy left hosts to the dialer).
		{"https://10.0.0.1/hook", true}: "not public",

		{"http://127.0.0.1:8080/x", true}:     "ok",
		{"http://127.0.0.2/", true}:           "ok",
		{"http://localhost/x", true}:          "ok",
		{"https://localhost:8443/hook", true}: "ok",
		{"http://[::1]:3000/", true}:          "ok",
		{"https://127.0.0.2/done", true}:      "ok",
		{"http://[::ffff:127.0.0.1]/", true}:  "ok",
	}
	got := map[row]string{}
	for r := range want {
		u, err := publicaddr.CheckURL(r.url, r.loopback)
		got[r] = reasonOf(err)
		if (u == nil) == (err == nil) {
			t.Errorf("CheckURL(%q, %v) = %v, %v; want exactly one of them", r.url, r.loopback, u, err)
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("CheckURL verdicts (-want +got):\n%s", diff)
	}
}

// TestURLErrorNamesHostAndPortOnly: a refusal carries what a message
// needs (host, port) and nothing of the path, query or user info.
func TestURLErrorNamesHostAndPortOnly(t *testing.T) {
	for _, tc := range []struct {
		url  string
		want publicaddr.URLError
	}{
		{"https://a_b.example:8443/S3CRET?token=S3CRET", publicaddr.URLError{Reason: publicaddr.ErrInvalidHost, Host: "a_b.example", Port: "8443"}},
		{"https://u:S3CRET@a.example/", publicaddr.URLError{Reason: publicaddr.ErrUserInfo, Host: "a.example"}},
		{"https://a.example:0/S3CRET", publicaddr.URLError{Reason: publicaddr.ErrInvalidPort, Host: "a.example", Port: "0"}},
		{"https://[::1]:9/S3CRET", publicaddr.URLError{Reason: publicaddr.ErrNotPublic, Host: "::1", Port: "9"}},
		{"S3CRET", publicaddr.URLError{Reason: publicaddr.ErrNotAbsolute}},
	} {
		_, err := publicaddr.CheckURL(tc.url, false)
		var e *publicaddr.URLError
		if !errors.As(err, &e) {
			t.Fatalf("CheckURL(%q) = %v; want a *URLError", tc.url, err)
		}
		if diff := cmp.Diff(tc.want, *e, cmp.Comparer(func(a, b error) bool { return a == b })); diff != "" {
			t.Errorf("CheckURL(%q) (-want +got):\n%s", tc.url, diff)
		}
		if strings.Contains(fmt.Sprint(err), "S3CRET") {
			t.Errorf("CheckURL(%q) = %q carries the URL's secret", tc.url, err)
		}
	}
}

func TestLoopbackHost(t *testing.T) {
	want := map[string]bool{
		"localhost": true, "127.0.0.1": true, "127.1.2.3": true, "::1": true, "::ffff:127.0.0.1": true,
		"LOCALHOST": false, "Localhost": false, "localhost.": false, "a.localhost": false, "::1%lo": false,
		"10.0.0.1": false, "64:ff9b::7f00:1": false, "2130706433": false, "": false,
	}
	got := map[string]bool{}
	for h := range want {
		got[h] = publicaddr.LoopbackHost(h)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("LoopbackHost (-want +got):\n%s", diff)
	}
}

// TestDialable: at dial time, public addresses always, loopback only when
// allowed, and never an IPv6 form of loopback or a zoned address.
func TestDialable(t *testing.T) {
	type row struct {
		ip       string
		loopback bool
	}
	want := map[row]bool{
		{"8.8.8.8", false}: true, {"8.8.8.8", true}: true,
		{"127.0.0.1", false}: false, {"127.0.0.1", true}: true,
		{"::1", false}: false, {"::1", true}: true,
		{"::ffff:127.0.0.1", true}: true,
		// Was dialled in local mode (the delivery copy kept the zone).
		{"::1%lo", true}:          false,
		{"64:ff9b::7f00:1", true}: false,
		{"10.0.0.1", true}:        false,
		{"169.254.169.254", true}: false,
		{"fd00:ec2::254", true}:   false,
	}
	got := map[row]bool{}
	for r := range want {
		got[r] = publicaddr.Dialable(netip.MustParseAddr(r.ip), r.loopback)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Dialable (-want +got):\n%s", diff)
	}
}

func TestValidHost(t *testing.T) {
	label := strings.Repeat("a", 63)
	want := map[string]bool{
		"a.example": true, "A-1.example.": true, "xn--bcher-kva.example": true, "8.8.8.8": true, "::1": true,
		label + "." + label + "." + label + "." + strings.Repeat("a", 61): true,  // 253
		label + "." + label + "." + label + "." + strings.Repeat("a", 62): false, // 254
		"": false, ".": false, "a..b": false, "-a.example": false, "a-.example": false, "a_b.example": false,
		label + "a.example": false, "xn--zz.example": false, "xn--.example": false, "fe80::1%eth0": false,
		"bücher.example": false, "a%2eb": false,
		// Numbers a browser reads as IPv4 (found in review: https://2130706433/
		// passed as a public name and sent a browser to 127.0.0.1).
		"2130706433": false, "127.1": false, "0x7f.1": false, "0x7f000001": false, "a.0x": false, "example.123": false,
		"1a.example": true, "0xg.example": true, "a.0xg": true,
	}
	got := map[string]bool{}
	for h := range want {
		got[h] = publicaddr.ValidHost(h)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ValidHost (-want +got):\n%s", diff)
	}
}
