package kyc

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strings"
	"time"
)

// Links is the link use case: it issues verification links for a
// platform's customers, within the platform's and the global rate limits.
// Keyed and unkeyed requests run it alike; an idempotency guard wraps it.
type Links struct {
	Customers CustomerStore
	Provider  Provider
	// Limits, when set, refuses links over a rate (CodeRateLimited).
	Limits Limiter
	TTL    time.Duration
	Now    func() time.Time
	// Logger notes a limit that could not be checked (the link is then
	// allowed); nil is slog.Default.
	Logger *slog.Logger
}

// Limiter counts one link against platformID's and the global limit. A
// refusal is retryAfter > 0; an error means it could not tell.
type Limiter interface {
	Allow(ctx context.Context, platformID string) (retryAfter time.Duration, err error)
}

// limitTimeout bounds the rate-limit check (its store answers in ms): a
// counter store that hangs must not hold the link, so past it the limit is
// skipped. Limits protect the provider's quota; an outage of their store
// must not take links down with it.
const limitTimeout = 300 * time.Millisecond

// CodeRateLimited refuses a link over a platform's rate or the global one.
const CodeRateLimited Code = "RATE_LIMITED"

// CustomerNotFound is the one answer for a customer that is missing,
// deleted or owned by another platform, so a caller cannot tell them apart.
func CustomerNotFound() *Error {
	return Errorf(CodeNotFound, "Customer not found.")
}

// PendingLink is a link request whose customer lookup and rate-limit check
// are under way side by side (Links.Start); Mint finishes it.
type PendingLink struct {
	links    *Links
	customer <-chan lookup
	verdict  <-chan limitVerdict
}

type lookup struct {
	c   Customer
	err error
}

type limitVerdict struct {
	retryAfter time.Duration
	err        error
}

// Start begins a link for platformID's customer customerID: the lookup
// and the limit check start now, so a caller can run other work (the
// idempotency key's acquire) alongside them. Both end with ctx; a caller
// that never calls Mint (a replay) does not wait for them.
func (l *Links) Start(ctx context.Context, platformID, customerID string) *PendingLink {
	// The dependencies are read before the goroutines start: they may
	// outlive the request (a replay does not wait for them).
	store, limits := l.Customers, l.Limits
	found := make(chan lookup, 1)
	go func() {
		defer func() {
			if p := recover(); p != nil {
				found <- lookup{err: Internal(fmt.Errorf("panic: %v\n%s", p, debug.Stack()))}
			}
		}()
		c, err := findCustomer(ctx, store, platformID, customerID)
		found <- lookup{c, err}
	}()
	p := &PendingLink{links: l, customer: found}
	if limits != nil {
		verdict := make(chan limitVerdict, 1)
		go func() {
			ctx, cancel := context.WithTimeout(ctx, limitTimeout)
			defer cancel()
			defer func() {
				if p := recover(); p != nil {
					verdict <- limitVerdict{err: fmt.Errorf("panic: %v\n%s", p, debug.Stack())}
				}
			}()
			after, err := limits.Allow(ctx, platformID)
			verdict <- limitVerdict{after, err}
		}()
		p.verdict = verdict
	}
	return p
}

func findCustomer(ctx context.Context, store CustomerStore, platformID, customerID string) (Customer, error) {
	c, err := store.FindCustomer(ctx, customerID)
	if err != nil {
		return Customer{}, err
	}
	if c.IsDeleted || c.PlatformID != platformID {
		return Customer{}, CustomerNotFound()
	}
	return c, nil
}

// Create is Start and Mint in one call.
func (l *Links) Create(ctx context.Context, platformID, customerID, redirectURI string) (Link, error) {
	return l.Start(ctx, platformID, customerID).Mint(ctx, redirectURI)
}

// ReasonContactVerificationRequired is the details.reason of the 409 for a
// customer whose required contact details are not verified yet.
const ReasonContactVerificationRequired = "CONTACT_VERIFICATION_REQUIRED"

// contactRequired refuses a customer whose required contact details are
// not verified yet (409, naming the channels).
func contactRequired(c Customer) error {
	channels := c.ContactVerification.Unverified()
	if len(channels) == 0 {
		return nil
	}
	e := Conflict(ReasonContactVerificationRequired,
		"The customer's contact details must be verified before identity verification: "+strings.Join(channels, " and ")+".")
	e.Details["channels"] = channels
	return e
}

// Mint waits for the lookup and the limit, then mints a fresh link. Where
// the customer's contact details must be verified first (Grid's
// contactVerification), it refuses until they are, without asking the
// provider.
func (p *PendingLink) Mint(ctx context.Context, redirectURI string) (Link, error) {
	var r lookup
	select {
	case r = <-p.customer:
	case <-ctx.Done():
		return Link{}, Unavailable(DepStore, "The customer store is temporarily unavailable.", time.Second, ctx.Err())
	}
	if r.err != nil {
		return Link{}, r.err
	}
	if err := p.limited(ctx); err != nil {
		return Link{}, err
	}
	c, l := r.c, p.links
	if err := contactRequired(c); err != nil {
		return Link{}, err
	}
	typ := c.Type
	if typ == "" {
		typ = Individual
	}
	// The expiry is taken before the provider is asked, so the link lives at
	// least as long as we say.
	expires := l.Now().Add(l.TTL).UTC().Truncate(time.Second)
	url, token, err := l.Provider.CreateLink(ctx, LinkRequest{
		CustomerID:  c.ID,
		Type:        typ,
		Email:       c.Email,
		PhoneNumber: c.PhoneNumber,
		RedirectURI: redirectURI,
		TTL:         l.TTL,
	})
	if err != nil {
		return Link{}, err
	}
	return Link{URL: url, Token: token, ExpiresAt: expires, Provider: l.Provider.Name()}, nil
}

// limited waits for the limit's verdict: a refusal is CodeRateLimited; a
// check that failed or ran out of time allows the link, logged.
func (p *PendingLink) limited(ctx context.Context) error {
	if p.verdict == nil {
		return nil
	}
	var v limitVerdict
	select {
	case v = <-p.verdict:
	case <-ctx.Done():
		return Unavailable("", "The service is temporarily unavailable.", time.Second, ctx.Err())
	}
	switch {
	case v.err == nil && v.retryAfter > 0:
		return &Error{Code: CodeRateLimited, RetryAfter: v.retryAfter,
			Message: "Too many verification links for this platform, or in all; retry after the time in Retry-After."}
	case v.err != nil:
		logger := p.links.Logger
		if logger == nil {
			logger = slog.Default()
		}
		logger.WarnContext(ctx, "rate limit store unavailable; link allowed", "error", v.err.Error())
	}
	return nil
}
