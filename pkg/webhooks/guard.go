package webhooks

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"syscall"
	"time"

	"github.com/grid-kyc/kyc-link/pkg/publicaddr"
)

// ErrForbiddenAddress is a webhook URL that resolves to an address a
// platform's public endpoint never has (see publicaddr.IP): loopback,
// private, link-local (the cloud metadata service), CGNAT, special-purpose
// blocks, and IPv6 forms of them such as NAT64 or 6to4.
var ErrForbiddenAddress = errors.New("webhooks: the webhook URL resolves to a non-public address")

// allowedIP reports whether a webhook may be sent to ip.
func allowedIP(ip netip.Addr, allowLoopback bool) bool {
	if ip.Unmap().IsLoopback() {
		return allowLoopback
	}
	return publicaddr.IP(ip)
}

// CheckURL validates a platform's webhook URL before any delivery: https
// (http only to loopback when allowLoopback, for local runs and tests), no
// user info, a host. Addresses are checked where they are dialled (see
// NewClient), after DNS resolution, so a name that resolves to a private
// address later is refused too.
func CheckURL(raw string, allowLoopback bool) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.User != nil {
		return nil, fmt.Errorf("webhooks: invalid webhook URL")
	}
	if !asciiHost(u.Host) {
		// Go's client maps a Unicode host to ASCII (IDNA) when it dials:
		// full-width "ｌｏｃａｌｈｏｓｔ" and "127。0。0。1" become loopback
		// after every rule here has passed them as public names.
		return nil, errors.New("webhooks: the webhook URL's host must be ASCII (write an internationalised name in its xn-- form)")
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !allowLoopback {
			return nil, errors.New("webhooks: the webhook URL must use https")
		}
		host := u.Hostname()
		ip, err := netip.ParseAddr(host)
		if host != "localhost" && (err != nil || !ip.IsLoopback()) {
			return nil, errors.New("webhooks: http is allowed only to loopback")
		}
	default:
		return nil, errors.New("webhooks: the webhook URL must use https")
	}
	return u, nil
}

// asciiHost reports whether host (as url.Parse decodes it, percent-escapes
// undone) is printable ASCII.
func asciiHost(host string) bool {
	for i := 0; i < len(host); i++ {
		if host[i] <= 0x20 || host[i] >= 0x7f {
			return false
		}
	}
	return true
}

// SafeURL is what a log line may carry of a platform's URL: its scheme and
// host, never its user info, path or query, which can hold credentials
// (https://example.com/hook?token=…).
func SafeURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "[not a URL]"
	}
	return u.Scheme + "://" + u.Host
}

// withSafeURL cuts the URL net/http's errors carry whole (*url.Error:
// `Post "https://h/hook?token=…": dial tcp …`) to SafeURL, so the error can
// be logged, traced or dead-lettered.
func withSafeURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		ue.URL = SafeURL(ue.URL)
	}
	return err
}

// NewClient is the HTTP client deliveries use: it refuses to connect to
// any address allowedIP rejects (checked on the resolved address at dial
// time, so DNS rebinding cannot reach the metadata service), never follows
// redirects (a platform answers, it does not send us elsewhere), and
// bounds each attempt by timeout.
func NewClient(timeout time.Duration, allowLoopback bool) *http.Client {
	dialer := &net.Dialer{
		Timeout: 5 * time.Second,
		Control: func(_, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil || !allowedIP(ap.Addr(), allowLoopback) {
				return ErrForbiddenAddress
			}
			return nil
		},
	}
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.Proxy = nil // a proxy would dial for us, unchecked
	t.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		return dialer.DialContext(ctx, network, addr)
	}
	t.MaxIdleConnsPerHost = 4
	return &http.Client{
		Timeout:       timeout,
		Transport:     t,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}
