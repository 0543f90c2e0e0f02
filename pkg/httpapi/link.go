package httpapi

import (
	"context"
	"net/http"
	"net/url"
	"time"

	"github.com/grid-kyc/kyc-link/pkg/idempotency"
	"github.com/grid-kyc/kyc-link/pkg/kyc"
)

// Authenticator maps an Authorization header to a platform id. Credential
// problems are auth.ErrBadCredentials; anything else means it could not
// check.
type Authenticator interface {
	Authenticate(ctx context.Context, header string) (platformID string, err error)
}

// Link serves LinkRoute: the link use case (kyc.Links) behind HTTP Basic,
// once per Idempotency-Key when one is sent.
type Link struct {
	Auth  Authenticator
	Links *kyc.Links
	// Idempotency enforces Idempotency-Key; nil ignores the (still
	// validated) header.
	Idempotency *idempotency.Guard
	// LocalRedirects allows http redirect URLs to loopback (the sandbox
	// provider). Sumsub refuses them, so with it every redirect must be a
	// public https URL.
	LocalRedirects bool
}

func (l *Link) serve(q *request) response {
	var err error
	if q.platformID, err = l.Auth.Authenticate(q.ctx, q.r.Header.Get("Authorization")); err != nil {
		return q.fail(kyc.Reword(err, "Authentication is temporarily unavailable."))
	}
	in, err := parseInput(q.r, q.r.PathValue("customerId"), l.LocalRedirects)
	if err != nil {
		return q.fail(err)
	}
	q.customerID = in.CustomerID
	// The customer lookup and the rate limit start now, alongside the
	// key's acquire: a first request pays one round trip for both, and a
	// replay waits for neither, nor is refused by the limit.
	pending := l.Links.Start(q.ctx, q.platformID, in.CustomerID)
	mint := func(ctx context.Context, _ string) response {
		link, err := pending.Mint(ctx, in.RedirectURI)
		if err != nil {
			return q.fail(err)
		}
		resp := jsonResponse(http.StatusCreated, linkBody{
			KYCURL:    link.URL,
			ExpiresAt: link.ExpiresAt.UTC().Format(time.RFC3339),
			Provider:  link.Provider,
			Token:     link.Token,
		})
		// A replay must not hand out a dead link: the stored answer ends with it.
		resp.ExpiresAt = link.ExpiresAt
		return resp
	}
	if in.IdempotencyKey == "" || l.Idempotency == nil {
		return mint(q.ctx, "")
	}
	// The guard stores only 2xx answers: an error must not stick to the key.
	resp, replayed, err := l.Idempotency.Do(q.ctx, q.platformID, in.IdempotencyKey,
		idempotency.Payload{Method: "POST", Path: "/customers/" + url.PathEscape(in.CustomerID) + "/kyc-link", Body: in.Body}, mint)
	return guarded(q, resp, replayed, err)
}

type linkBody struct {
	KYCURL    string `json:"kycUrl"`
	ExpiresAt string `json:"expiresAt"`
	Provider  string `json:"provider"`
	Token     string `json:"token,omitempty"`
}
