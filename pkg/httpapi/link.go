package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/grid-kyc/kyc-link/pkg/kyc"
)

// Authenticator maps an Authorization header to a platform id. Credential
// problems are auth.ErrBadCredentials; anything else means it could not
// check.
type Authenticator interface {
	Authenticate(ctx context.Context, header string) (platformID string, err error)
}

// Link serves LinkRoute: the link use case (kyc.Links). Its row has the
// pipeline authenticate, check the customer id, read the Idempotency-Key
// and the body.
type Link struct {
	Links *kyc.Links
	// LocalRedirects allows http redirect URLs to loopback (the sandbox
	// provider). Sumsub refuses them, so with it every redirect must be a
	// public https URL.
	LocalRedirects bool
}

func (l *Link) serve(q *request) response {
	redirect, err := decodeBody(q.body, l.LocalRedirects)
	if err != nil {
		return q.fail(err)
	}
	id := q.r.PathValue("customerId")
	q.customerID = id
	// The customer lookup and the rate limit start now, alongside the
	// key's acquire: a first request pays one round trip for both, and a
	// replay waits for neither, nor is refused by the limit.
	pending := l.Links.Start(q.ctx, q.platformID, id)
	return q.once(func(ctx context.Context, _ string) response {
		link, err := pending.Mint(ctx, redirect)
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
	})
}

type linkBody struct {
	KYCURL    string `json:"kycUrl"`
	ExpiresAt string `json:"expiresAt"`
	Provider  string `json:"provider"`
	Token     string `json:"token,omitempty"`
}
