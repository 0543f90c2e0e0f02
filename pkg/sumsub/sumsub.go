// Package sumsub is a client for the Sumsub API calls this service makes
// (the hosted WebSDK link and the SDK access token, and in applicants.go
// and beneficiaries.go the API-driven review: applicant, documents, a
// company's beneficiaries, review request) and a kyc.Provider built on the
// first two.
package sumsub

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/grid-kyc/kyc-link/pkg/telemetry"
)

// Credentials are an app token and its secret key, and the secret Sumsub
// signs webhooks with (set per webhook in Sumsub's dashboard).
type Credentials struct {
	AppToken      string `json:"appToken"`
	SecretKey     string `json:"secretKey"`
	WebhookSecret string `json:"webhookSecret,omitempty"`
}

// ParseCredentials reads the Sumsub secret:
// {"appToken":…,"secretKey":…,"webhookSecret":…}; webhookSecret is needed
// only by the webhook receiver.
func ParseCredentials(s string) (Credentials, error) {
	var c Credentials
	if err := json.Unmarshal([]byte(s), &c); err != nil || c.AppToken == "" || c.SecretKey == "" {
		return Credentials{}, fmt.Errorf(`want JSON {"appToken","secretKey"}, both non-empty`)
	}
	return c, nil
}

// Sign returns the X-App-Access-Sig value: lowercase hex HMAC-SHA256 keyed
// with the secret key over ts + METHOD + path with query + body.
func Sign(secretKey, ts, method, pathWithQuery string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secretKey))
	m.Write([]byte(ts))
	m.Write([]byte(strings.ToUpper(method)))
	m.Write([]byte(pathWithQuery))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// APIError is an error answer from Sumsub.
type APIError struct {
	Status      int
	Code        int    `json:"code"`
	ErrorCode   int    `json:"errorCode"`
	ErrorName   string `json:"errorName"`
	Description string `json:"description"`
	// CorrelationID lets Sumsub support find the request.
	CorrelationID string `json:"correlationId"`
}

func (e *APIError) Error() string {
	return fmt.Sprintf("sumsub: HTTP %d (errorCode %d %s, correlationId %s): %s",
		e.Status, e.ErrorCode, e.ErrorName, e.CorrelationID, e.Description)
}

// Client calls the Sumsub API. One Client, and its HTTP client, is meant to
// live for the whole process so connections are reused across invocations.
type Client struct {
	BaseURL string
	HTTP    *http.Client
	Now     func() time.Time
}

// Warm opens a connection to Sumsub before the first call needs it (an
// unsigned HEAD of the site root, which is no API resource), so the first
// request does not pay for the TCP and TLS handshakes.
func (c *Client) Warm(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodHead, strings.TrimSuffix(c.BaseURL, "/")+"/", nil)
	if err != nil {
		return err
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return fmt.Errorf("sumsub: warm-up: %w", err)
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, maxResponse))
	return resp.Body.Close()
}

// maxResponse bounds what we read from Sumsub; its answers are tiny.
const maxResponse = 1 << 20

// Retries: one more attempt after a jittered pause, only for failures that
// mean Sumsub did not act on the request or asks us to come back (5xx, 429,
// a failed connection), and only when the deadline leaves room for it. The
// link and token calls only mint a link or token, so repeating one is
// harmless; applicants.go says why its calls are safe to repeat too.
const (
	maxAttempts   = 2
	retryPause    = 100 * time.Millisecond
	retryJitter   = 200 * time.Millisecond
	retryHeadroom = time.Second
)

// do posts a signed JSON request and decodes a 2xx answer into out.
func (c *Client) do(ctx context.Context, creds Credentials, path string, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return fmt.Errorf("sumsub: encode request: %w", err)
	}
	return retry(ctx, func(int) error { return c.once(ctx, creds, http.MethodPost, path, body, out) })
}

// retry runs call (given the attempt number, from 1) under the retry
// policy above.
func retry(ctx context.Context, call func(attempt int) error) error {
	for attempt := 1; ; attempt++ {
		err := call(attempt)
		if err == nil || attempt == maxAttempts || !retryable(ctx, err) {
			return err
		}
		pause := retryPause + rand.N(retryJitter)
		if d, ok := ctx.Deadline(); ok && time.Until(d) < pause+retryHeadroom {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(pause):
		}
	}
}

func retryable(ctx context.Context, err error) bool {
	if ctx.Err() != nil {
		return false
	}
	var apiErr *APIError
	if errors.As(err, &apiErr) {
		return apiErr.Status >= 500 || apiErr.Status == http.StatusTooManyRequests
	}
	var netErr net.Error
	return errors.As(err, &netErr) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNREFUSED)
}

// CheckCredentials makes one signed, harmless request (reading an
// applicant that cannot exist): Sumsub answering 404 or 2xx accepted the
// app token and the signature; 401 or 403 refused them.
func (c *Client) CheckCredentials(ctx context.Context, creds Credentials) error {
	err := c.once(ctx, creds, http.MethodGet, "/resources/applicants/-;externalUserId=kyc-link-check/one", nil, &struct{}{})
	var apiErr *APIError
	if errors.As(err, &apiErr) && apiErr.Status == http.StatusNotFound {
		return nil
	}
	return err
}

// once sends one signed request and decodes a 2xx answer into out (nil:
// the answer is not read). Headers in extra are set after the defaults,
// so they may replace Content-Type.
func (c *Client) once(ctx context.Context, creds Credentials, method, path string, body []byte, out any, extra ...http.Header) error {
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(c.BaseURL, "/")+path, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("sumsub: %w", err)
	}
	ts := strconv.FormatInt(c.Now().Unix(), 10)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("X-App-Token", creds.AppToken)
	req.Header.Set("X-App-Access-Ts", ts)
	req.Header.Set("X-App-Access-Sig", Sign(creds.SecretKey, ts, method, req.URL.RequestURI(), body))
	for _, h := range extra {
		maps.Copy(req.Header, h)
	}
	start := time.Now()
	defer func() { telemetry.Observe(ctx, telemetry.SumsubLatency, time.Since(start)) }()
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return fmt.Errorf("sumsub: %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return fmt.Errorf("sumsub: read answer to %s %s: %w", method, path, err)
	}
	if resp.StatusCode/100 != 2 {
		apiErr := &APIError{Status: resp.StatusCode}
		if json.Unmarshal(raw, apiErr) != nil || apiErr.Description == "" {
			apiErr.Description = http.StatusText(resp.StatusCode)
		}
		return apiErr
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("sumsub: decode answer to %s %s: %w", method, path, err)
	}
	return nil
}

// Identifiers prefill the applicant's contact details.
type Identifiers struct {
	Email string `json:"email,omitempty"`
	Phone string `json:"phone,omitempty"`
}

// Redirect sends the applicant back after the hosted flow.
type Redirect struct {
	SuccessURL string `json:"successUrl"`
	RejectURL  string `json:"rejectUrl"`
}

// LinkParams are the fields both calls share.
type LinkParams struct {
	LevelName   string
	UserID      string
	TTL         time.Duration
	Identifiers Identifiers
	Redirect    *Redirect // only for the hosted link
}

type requestBody struct {
	LevelName   string       `json:"levelName"`
	UserID      string       `json:"userId"`
	TTLInSecs   int64        `json:"ttlInSecs"`
	Identifiers *Identifiers `json:"applicantIdentifiers,omitempty"`
	Redirect    *Redirect    `json:"redirect,omitempty"`
}

func (p LinkParams) body(withRedirect bool) requestBody {
	b := requestBody{LevelName: p.LevelName, UserID: p.UserID, TTLInSecs: int64(p.TTL / time.Second)}
	if p.Identifiers != (Identifiers{}) {
		ids := p.Identifiers
		b.Identifiers = &ids
	}
	if withRedirect {
		b.Redirect = p.Redirect
	}
	return b
}

// WebSDKLink asks for a hosted, single-use verification link.
func (c *Client) WebSDKLink(ctx context.Context, creds Credentials, p LinkParams) (string, error) {
	var out struct {
		URL string `json:"url"`
	}
	if err := c.do(ctx, creds, "/resources/sdkIntegrations/levels/-/websdkLink", p.body(true), &out); err != nil {
		return "", err
	}
	if out.URL == "" {
		return "", fmt.Errorf("sumsub: websdkLink answer has no url")
	}
	return out.URL, nil
}

// AccessToken asks for an SDK access token to embed the WebSDK.
func (c *Client) AccessToken(ctx context.Context, creds Credentials, p LinkParams) (string, error) {
	var out struct {
		Token string `json:"token"`
	}
	if err := c.do(ctx, creds, "/resources/accessTokens/sdk", p.body(false), &out); err != nil {
		return "", err
	}
	if out.Token == "" {
		return "", fmt.Errorf("sumsub: accessTokens/sdk answer has no token")
	}
	return out.Token, nil
}
