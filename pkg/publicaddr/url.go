package publicaddr

import (
	"errors"
	"net/netip"
	"net/url"
	"strconv"
	"strings"

	"golang.org/x/net/idna"
)

// MaxHost is DNS's limit on a name (RFC 1035), without a trailing dot.
const MaxHost = 253

// Why CheckURL refuses a URL: its error wraps one of these (errors.Is), and
// each caller words it for its own field.
var (
	ErrNotAbsolute     = errors.New("not an absolute URL with a host")
	ErrUserInfo        = errors.New("the URL carries a user name or password")
	ErrHostNotASCII    = errors.New("the host is not ASCII")
	ErrInvalidHost     = errors.New("the host is neither a DNS name nor an IP address")
	ErrInvalidPort     = errors.New("the port is not 1 to 65535")
	ErrNotHTTPS        = errors.New("the scheme is not https")
	ErrHTTPNotLoopback = errors.New("http is allowed only to loopback")
	ErrNotPublic       = errors.New("the host is not a public address")
)

// URLError is a URL CheckURL refused: the reason, and the host and port as
// parsed, for a message. It never holds the path, query or user info,
// which can carry credentials.
type URLError struct {
	Reason     error
	Host, Port string
}

func (e *URLError) Error() string { return "publicaddr: " + e.Reason.Error() }
func (e *URLError) Unwrap() error { return e.Reason }

// CheckURL is the one rule for "may this service send to this URL", or
// hand it to someone who will (a webhook endpoint, a redirect the KYC
// provider sends a browser to): an absolute https URL, no user info, a
// host that is an ASCII DNS name (IDNs in valid xn-- form) or an IP
// literal, a valid port, and a host that can be public without resolving
// it (Host). With allowLoopback (local runs and tests) a loopback host
// (LoopbackHost) is allowed too, over http or https.
//
// Names are not resolved here; whoever connects checks the address it
// dials (Dialable).
//
// It replaces four copies that disagreed; the stricter answer won each
// time: the loopback exception takes "localhost" exactly (the redirect
// copy folded case); delivery refuses localhost names and non-public IP
// literals up front (its copy left hosts to the dialer); webhook URLs get
// the redirect copy's host syntax and port range (theirs took any
// printable ASCII host, any digits as port); a zoned IP literal is never
// loopback (delivery's copy took http://[::1%25lo]/).
func CheckURL(raw string, allowLoopback bool) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Opaque != "" || u.Host == "" {
		return nil, &URLError{Reason: ErrNotAbsolute}
	}
	host, port := u.Hostname(), u.Port()
	refuse := func(reason error) (*url.URL, error) {
		return nil, &URLError{Reason: reason, Host: host, Port: port}
	}
	switch {
	case u.User != nil:
		return refuse(ErrUserInfo)
	case !printableASCII(host):
		// Go's client maps a Unicode host to ASCII (IDNA) when it dials:
		// full-width "ｌｏｃａｌｈｏｓｔ" and "127。0。0。1" would become
		// loopback after every rule here had passed them as public names.
		return refuse(ErrHostNotASCII)
	case !ValidHost(host):
		return refuse(ErrInvalidHost)
	case !validPort(port):
		return refuse(ErrInvalidPort)
	}
	loopback := allowLoopback && LoopbackHost(host)
	switch {
	case u.Scheme == "https", loopback && u.Scheme == "http":
	case allowLoopback && u.Scheme == "http":
		return refuse(ErrHTTPNotLoopback)
	default:
		return refuse(ErrNotHTTPS)
	}
	if !loopback && !Host(host) {
		return refuse(ErrNotPublic)
	}
	return u, nil
}

// LoopbackHost reports whether a URL host names loopback in the spelling
// local tools use: "localhost" exactly, or a loopback IP literal (an
// IPv4-mapped one included) without a zone. It is the exception local
// mode allows, so it is narrow: "LOCALHOST", "localhost." and
// "a.localhost" are not in it (Host still refuses them as never public).
func LoopbackHost(h string) bool {
	if h == "localhost" {
		return true
	}
	ip, err := netip.ParseAddr(h)
	return err == nil && ip.Zone() == "" && ip.IsLoopback()
}

// Dialable reports whether this service may connect to ip: a public
// address (IP), or, with allowLoopback, a loopback one. It is CheckURL's
// rule applied to the address a name resolved to, at dial time.
func Dialable(ip netip.Addr, allowLoopback bool) bool {
	if allowLoopback && ip.Zone() == "" && ip.IsLoopback() {
		return true
	}
	return IP(ip)
}

// ValidHost reports whether h (a URL host without port or brackets) is an
// IP literal without a zone, or a DNS name in ASCII of at most MaxHost
// characters (a trailing dot aside) whose labels are letters, digits and
// inner hyphens, and whose xn-- labels decode to a valid IDN: what
// browsers, the KYC provider and a public TLS certificate accept.
func ValidHost(h string) bool {
	if h == "" {
		return false
	}
	if ip, err := netip.ParseAddr(h); err == nil {
		return ip.Zone() == ""
	}
	name := strings.TrimSuffix(h, ".")
	if len(name) > MaxHost {
		return false
	}
	idn := false
	for _, label := range strings.Split(name, ".") {
		idn = idn || len(label) >= 4 && strings.EqualFold(label[:4], "xn--")
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-') {
				return false
			}
		}
	}
	if idn {
		if _, err := idna.Lookup.ToUnicode(name); err != nil {
			return false
		}
	}
	// A name whose last label is a number is no name to a browser: the
	// URL standard reads it as an IPv4 address ("2130706433", "127.1",
	// "0x7f.1" are 127.0.0.1), which no rule here would have judged.
	labels := strings.Split(name, ".")
	return !numeric(labels[len(labels)-1])
}

// numeric reports whether a label is what the URL standard's host parser
// takes for a number: decimal digits, or 0x followed by hex digits.
func numeric(label string) bool {
	digits := "0123456789"
	if len(label) >= 2 && (label[:2] == "0x" || label[:2] == "0X") {
		label, digits = label[2:], "0123456789abcdefABCDEF"
	}
	for i := 0; i < len(label); i++ {
		if !strings.ContainsRune(digits, rune(label[i])) {
			return false
		}
	}
	return true
}

func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] <= 0x20 || s[i] >= 0x7f {
			return false
		}
	}
	return true
}

// validPort accepts no port (the scheme's) or 1 to 65535; url.Parse
// checks only that a port is digits.
func validPort(p string) bool {
	if p == "" {
		return true
	}
	n, err := strconv.Atoi(p)
	return err == nil && n >= 1 && n <= 65535
}
