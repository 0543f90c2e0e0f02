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
// platform's public endpoint never has (see publicaddr.Dialable): loopback,
// private, link-local (the cloud metadata service), CGNAT, special-purpose
// blocks, and IPv6 forms of them such as NAT64 or 6to4.
var ErrForbiddenAddress = errors.New("webhooks: the webhook URL resolves to a non-public address")

// CheckURL validates a platform's webhook URL before any delivery by the
// service's one URL rule (publicaddr.CheckURL): https to a host that can be
// public, no user info; with allowLoopback (local runs and tests), http or
// https to loopback too. Addresses are checked again where they are
// dialled (see NewClient), after DNS resolution, so a name that resolves
// to a private address is refused too.
func CheckURL(raw string, allowLoopback bool) (*url.URL, error) {
	u, err := publicaddr.CheckURL(raw, allowLoopback)
	if err != nil {
		return nil, fmt.Errorf("webhooks: %w", refusal(err))
	}
	return u, nil
}

// urlRefusal is a webhook URL the rule refused: why, worded for the
// platform (PATCH /config quotes it), with publicaddr's reason beneath.
type urlRefusal struct {
	why    string
	reason error
}

func (e *urlRefusal) Error() string { return e.why }
func (e *urlRefusal) Unwrap() error { return e.reason }

// refusal words publicaddr.CheckURL's reason for a platform: PATCH /config
// answers these texts, unchanged from before the rule moved there, plus
// one each for the host syntax and port checks webhooks now share.
func refusal(err error) error {
	why := "invalid webhook URL" // not absolute, or user info
	switch {
	case errors.Is(err, publicaddr.ErrHostNotASCII):
		why = "the webhook URL's host must be ASCII (write an internationalised name in its xn-- form)"
	case errors.Is(err, publicaddr.ErrInvalidHost):
		why = "the webhook URL's host is not a valid host name"
	case errors.Is(err, publicaddr.ErrInvalidPort):
		why = "the webhook URL's port is not valid"
	case errors.Is(err, publicaddr.ErrHTTPNotLoopback):
		why = "http is allowed only to loopback"
	case errors.Is(err, publicaddr.ErrNotHTTPS):
		why = "the webhook URL must use https"
	case errors.Is(err, publicaddr.ErrNotPublic):
		why = "the host is not a public address"
	}
	return &urlRefusal{why: why, reason: err}
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
// any address publicaddr.Dialable rejects (checked on the resolved address
// at dial time, so DNS rebinding cannot reach the metadata service), never
// follows redirects (a platform answers, it does not send us elsewhere),
// and bounds each attempt by timeout.
func NewClient(timeout time.Duration, allowLoopback bool) *http.Client {
	dialer := &net.Dialer{
		Timeout: 5 * time.Second,
		Control: func(_, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil || !publicaddr.Dialable(ap.Addr(), allowLoopback) {
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
