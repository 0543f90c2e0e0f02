package httpapi

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strings"

	"github.com/grid-kyc/kyc-link/pkg/kyc"
	"github.com/grid-kyc/kyc-link/pkg/publicaddr"
	"github.com/grid-kyc/kyc-link/pkg/strictjson"
)

// Input limits; docs/input-rules.md explains each.
const (
	MaxBody           = 64 << 10
	MaxCustomerID     = kyc.MaxCustomerID
	MaxIdempotencyKey = 255
	MaxRedirectURI    = 2048
	// MaxHost is DNS's limit on a name (RFC 1035), without a trailing dot.
	MaxHost = publicaddr.MaxHost
	// MaxHeaderBytes bounds all request headers together (names, values
	// and separators); API Gateway's own limit is lower still.
	MaxHeaderBytes = 32 << 10
)

// validCustomerID is the domain's rule (kyc.CheckCustomerID), with the
// empty case worded for the path, where the caller sends it.
func validCustomerID(id string) error {
	if id == "" {
		return kyc.InvalidField("customerId", "The customer id in the path is empty.")
	}
	return kyc.CheckCustomerID(id)
}

// checkHeaderSize refuses requests whose headers together exceed
// MaxHeaderBytes, in the Grid shape (the local server lets larger ones
// through to us so that we, not net/http, answer them).
func checkHeaderSize(h http.Header) error {
	n := 0
	for k, vs := range h {
		for _, v := range vs {
			n += len(k) + len(v) + 4 // ": " and CRLF
		}
	}
	if n > MaxHeaderBytes {
		return kyc.InvalidField("headers", "The request headers are larger than %d bytes.", MaxHeaderBytes)
	}
	return nil
}

func idempotencyKey(h http.Header) (string, error) {
	vs, sent := h["Idempotency-Key"]
	if !sent {
		return "", nil
	}
	if len(vs) != 1 {
		return "", kyc.InvalidField("Idempotency-Key", "Send one Idempotency-Key header, not %d.", len(vs))
	}
	// Whitespace around a field value is not part of it (RFC 9110 5.5):
	// net/http strips it, API Gateway events keep it, so we strip it here
	// and "k" and " k " are one key on every entry.
	k := strings.Trim(vs[0], " \t")
	if k == "" {
		return "", kyc.InvalidField("Idempotency-Key", "The Idempotency-Key header is empty; send a unique value such as a UUID, or leave the header out.")
	}
	if len(k) > MaxIdempotencyKey {
		return "", kyc.InvalidField("Idempotency-Key", "The Idempotency-Key header is longer than %d characters.", MaxIdempotencyKey)
	}
	for i := 0; i < len(k); i++ {
		if k[i] < 0x20 || k[i] > 0x7e {
			return "", kyc.InvalidField("Idempotency-Key", "The Idempotency-Key header may contain only printable ASCII characters.")
		}
	}
	return k, nil
}

// customerIDInPath checks the path's customerId (as the router decoded
// it: a segment that is not validly percent-encoded stays as sent, and
// fails the id's rules).
func customerIDInPath(q *request) error { return validCustomerID(q.r.PathValue("customerId")) }

// readBody reads at most limit bytes and checks the content type.
func readBody(r *http.Request, limit int) ([]byte, error) {
	body, err := readUpTo(r, limit)
	if err != nil {
		return nil, err
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, nil
	}
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || mt != "application/json" {
			return nil, kyc.InvalidField("Content-Type", "The request body must be JSON; send Content-Type: application/json.")
		}
	}
	return body, nil
}

// readMultipart returns the parts of a multipart/form-data body of at
// most limit bytes, read as they are asked for: a document's bytes are
// held once, by the part that reads them. A body declared larger than
// limit is refused at once; one that turns out larger fails the part
// that crosses the limit with an error wrapping errBodyTooLarge.
func readMultipart(r *http.Request, limit int) (*multipart.Reader, error) {
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" || params["boundary"] == "" {
		return nil, kyc.InvalidField("Content-Type", "The request body must be multipart/form-data; send Content-Type: multipart/form-data with a boundary.")
	}
	if r.ContentLength > int64(limit) {
		return nil, tooLarge(limit)
	}
	return multipart.NewReader(&cappedBody{r: r.Body, left: int64(limit)}, params["boundary"]), nil
}

// cappedBody reads at most left bytes of r, then fails with
// errBodyTooLarge.
type cappedBody struct {
	r    io.Reader
	left int64
}

func (c *cappedBody) Read(p []byte) (int, error) {
	if c.left < 0 {
		return 0, errBodyTooLarge
	}
	if int64(len(p)) > c.left+1 {
		p = p[:c.left+1]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	if c.left < 0 {
		return n, errBodyTooLarge
	}
	return n, err
}

// readPart reads a part whole into one buffer of about hint bytes (the
// body's declared length bounds any part), growing it only past that.
func readPart(p io.Reader, hint int64) ([]byte, error) {
	buf := make([]byte, 0, max(hint, 512))
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := p.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if errors.Is(err, io.EOF) {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

// tooLarge is the refusal of a body over limit bytes.
func tooLarge(limit int) *kyc.Error {
	e := kyc.InvalidField("body", "The request body is larger than %d bytes.", limit)
	e.Cause = errBodyTooLarge
	return e
}

// errBodyTooLarge is readUpTo's refusal of a body over its limit.
var errBodyTooLarge = errors.New("httpapi: body over the limit")

// readUpTo reads the whole body, refusing one over limit bytes.
func readUpTo(r *http.Request, limit int) ([]byte, error) {
	body, err := strictjson.Read(r.Body, limit)
	if errors.Is(err, strictjson.ErrTooLarge) {
		return nil, tooLarge(limit)
	}
	if err != nil {
		// A client that declares more than it sends runs into the
		// request deadline here.
		return nil, kyc.InvalidField("body", "The request body could not be read completely in time.")
	}
	return body, nil
}

// linkRequestBody is the link request's body: {"redirectUri": "..."}, or {}.
type linkRequestBody struct {
	RedirectURI *string `json:"redirectUri"`
}

// decodeBody reads the body strictly (strictjson: one JSON object, no
// unknown or repeated fields, nothing after it). It returns the redirect
// URI.
func decodeBody(body []byte, localRedirects bool) (string, error) {
	if len(body) == 0 {
		return "", nil
	}
	var b linkRequestBody
	if err := strictjson.Decode(body, &b, strictjson.Rules{}); err != nil {
		return "", linkBodyError(err)
	}
	if b.RedirectURI == nil {
		return "", nil
	}
	if err := validRedirect(*b.RedirectURI, localRedirects); err != nil {
		return "", err
	}
	return *b.RedirectURI, nil
}

// linkBodyError words a refusal of the link's body: any JSON that is not
// one object is "body", with an example of the one that is.
func linkBodyError(err error) error {
	var e *strictjson.Error
	if !errors.As(err, &e) {
		return kyc.Internal(fmt.Errorf("httpapi: link body: %w", err))
	}
	switch {
	case e.Kind == strictjson.NotUTF8:
		return kyc.InvalidField("body", "The request body is not valid UTF-8.")
	case e.Kind == strictjson.Unknown:
		name := strictjson.Shorten(e.Path, 64)
		return kyc.InvalidField(name, "Unknown field %q; the only accepted field is \"redirectUri\".", name)
	case e.Kind == strictjson.Repeated:
		return kyc.InvalidField("redirectUri", "The field \"redirectUri\" appears more than once.")
	case e.Path == "redirectUri" && (e.Kind == strictjson.Null || e.Kind == strictjson.WrongType):
		return kyc.InvalidField("redirectUri", "redirectUri must be a string.")
	}
	return kyc.InvalidField("body", `The request body must be a JSON object such as {"redirectUri": "https://…"}, or empty.`)
}

// validRedirect accepts what the service's one URL rule accepts
// (publicaddr.CheckURL: absolute https to a public host, no user info, an
// ASCII host name or IP literal, a valid port) and, with localRedirects
// (the sandbox provider), loopback over http or https too. The provider
// sends the user's browser there, so the whole URL must also be printable
// ASCII: nothing a browser could be tricked by (control characters,
// spaces, Unicode look-alikes).
func validRedirect(s string, localRedirects bool) error {
	bad := func(why string, args ...any) error {
		return kyc.InvalidField("redirectUri", "redirectUri "+why, args...)
	}
	if len(s) > MaxRedirectURI {
		return bad("is longer than %d characters.", MaxRedirectURI)
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= 0x20 || s[i] >= 0x7f {
			return bad("may contain only printable ASCII without spaces; percent-encode anything else.")
		}
	}
	_, err := publicaddr.CheckURL(s, localRedirects)
	if err == nil {
		return nil
	}
	var e *publicaddr.URLError
	if !errors.As(err, &e) {
		return err // CheckURL refuses only with a *URLError
	}
	switch {
	case errors.Is(e, publicaddr.ErrUserInfo):
		return bad("must not contain a user name or password.")
	case errors.Is(e, publicaddr.ErrHostNotASCII), errors.Is(e, publicaddr.ErrInvalidHost):
		return bad("has an invalid host %q.", e.Host)
	case errors.Is(e, publicaddr.ErrInvalidPort):
		return bad("has an invalid port %q.", e.Port)
	case localRedirects && (errors.Is(e, publicaddr.ErrNotHTTPS) || errors.Is(e, publicaddr.ErrHTTPNotLoopback)):
		return bad("must use https (http is allowed only for localhost).")
	case errors.Is(e, publicaddr.ErrNotHTTPS):
		return bad("must use https.")
	case errors.Is(e, publicaddr.ErrNotPublic):
		// Sumsub refuses what is not a public address (Grid found it
		// refuses localhost).
		return bad("must point to a public host, not %q.", e.Host)
	}
	return bad("must be an absolute URL such as https://app.example.com/done.")
}
