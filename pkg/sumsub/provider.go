package sumsub

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/grid-kyc/kyc-link/pkg/kyc"
)

// CredentialSource supplies the current app token and secret key.
type CredentialSource interface {
	Get(ctx context.Context) (Credentials, error)
}

// Provider issues Sumsub links: the hosted link and the SDK token, asked for
// at the same time.
type Provider struct {
	Client      *Client
	Credentials CredentialSource
	// Levels maps a customer type to a Sumsub level name.
	Levels map[kyc.CustomerType]string
}

var _ kyc.Provider = (*Provider)(nil)

func (p *Provider) Name() string { return "SUMSUB" }

// What we tell callers when Sumsub is not answering.
const (
	retryAfter         = 2 * time.Second
	unavailableMessage = "The verification provider is temporarily unavailable."
)

func (p *Provider) CreateLink(ctx context.Context, r kyc.LinkRequest) (string, string, error) {
	creds, err := p.Credentials.Get(ctx)
	if err != nil {
		return "", "", kyc.Reword(err, unavailableMessage)
	}
	params := LinkParams{
		LevelName:   p.Levels[r.Type],
		UserID:      r.CustomerID,
		TTL:         r.TTL,
		Identifiers: Identifiers{Email: r.Email, Phone: r.PhoneNumber},
	}
	if params.LevelName == "" {
		params.LevelName = p.Levels[kyc.Individual]
	}
	if r.RedirectURI != "" {
		params.Redirect = &Redirect{SuccessURL: r.RedirectURI, RejectURL: r.RedirectURI}
	}

	// If one call fails the other is cancelled: we never answer with half a link.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type result struct {
		token string
		err   error
	}
	tokenc := make(chan result, 1)
	go func() {
		t, err := p.Client.AccessToken(ctx, creds, params)
		if err != nil {
			cancel()
		}
		tokenc <- result{t, err}
	}()
	url, linkErr := p.Client.WebSDKLink(ctx, creds, params)
	if linkErr != nil {
		cancel()
	}
	tok := <-tokenc
	if err := errors.Join(linkErr, tok.err); err != nil {
		return "", "", classify(err, r.RedirectURI != "")
	}
	return url, tok.token, nil
}

// classify turns a Sumsub failure into the answer our caller gets.
//
// What Sumsub's documentation gives to go on (docs.sumsub.com, "Error
// codes", read 2026-11-26): every error is {description, code (the HTTP
// status), correlationId, errorCode?, errorName?}; errorCode is documented
// for document uploads (1000-1011) and authentication (4003 app token or
// signature, 4002 clock), and "may be absent" elsewhere. The link and token
// calls carry only one value the caller chose: the redirect URL. So:
//   - 400 or 422 when the caller sent a redirectUri: the redirect was
//     refused (Grid found live Sumsub refuses http:// and localhost):
//     400 INVALID_INPUT naming redirectUri;
//   - 401 and 403 (our app token, our signature, our clock), 404 (our level
//     name) and any other 4xx: our misconfiguration, 500, logged with
//     Sumsub's errorCode, errorName and correlationId;
//   - 408, 429 and 5xx, and failures to reach Sumsub: an outage, 503.
func classify(err error, sentRedirect bool) error {
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.Status < 400 || apiErr.Status >= 500 ||
		apiErr.Status == http.StatusTooManyRequests || apiErr.Status == http.StatusRequestTimeout {
		return kyc.Unavailable(kyc.DepProvider, unavailableMessage, retryAfter, err)
	}
	if sentRedirect && (apiErr.Status == http.StatusBadRequest || apiErr.Status == http.StatusUnprocessableEntity) {
		e := kyc.InvalidField("redirectUri", "The verification provider refused the redirectUri; send a public https URL.")
		e.Cause = err
		return e
	}
	return kyc.Misconfigured(kyc.DepProvider, err)
}
