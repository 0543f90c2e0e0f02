package kyc

import (
	"context"
	"strings"
	"time"
)

// Service issues verification links for a platform's customers.
type Service struct {
	Customers CustomerStore
	Provider  Provider
	TTL       time.Duration
	Now       func() time.Time
}

// CustomerNotFound is the one answer for a customer that is missing,
// deleted or owned by another platform, so a caller cannot tell them apart.
func CustomerNotFound() *Error {
	return Errorf(CodeNotFound, "Customer not found.")
}

// CreateLink returns a fresh link for customerID, which must belong to
// platformID. It never changes the customer.
func (s *Service) CreateLink(ctx context.Context, platformID, customerID, redirectURI string) (Link, error) {
	c, err := s.Customer(ctx, platformID, customerID)
	if err != nil {
		return Link{}, err
	}
	return s.LinkFor(ctx, c, redirectURI)
}

// Customer finds platformID's customer customerID: the first half of
// CreateLink, so a caller can run it alongside other work.
func (s *Service) Customer(ctx context.Context, platformID, customerID string) (Customer, error) {
	c, err := s.Customers.FindCustomer(ctx, customerID)
	if err != nil {
		return Customer{}, err
	}
	if c.IsDeleted || c.PlatformID != platformID {
		return Customer{}, CustomerNotFound()
	}
	return c, nil
}

// ReasonContactVerificationRequired is the details.reason of the 409 for a
// customer whose required contact details are not verified yet.
const ReasonContactVerificationRequired = "CONTACT_VERIFICATION_REQUIRED"

// LinkFor mints a fresh link for c, a customer Customer returned: the
// second half of CreateLink. Where the customer's contact details must be
// verified first (Grid's contactVerification), it refuses until they are,
// without asking the provider.
func (s *Service) LinkFor(ctx context.Context, c Customer, redirectURI string) (Link, error) {
	if channels := c.ContactVerification.Unverified(); len(channels) > 0 {
		e := Conflict(ReasonContactVerificationRequired,
			"The customer's contact details must be verified before identity verification: "+strings.Join(channels, " and ")+".")
		e.Details["channels"] = channels
		return Link{}, e
	}
	typ := c.Type
	if typ == "" {
		typ = Individual
	}
	// The expiry is taken before the provider is asked, so the link lives at
	// least as long as we say.
	expires := s.Now().Add(s.TTL).UTC().Truncate(time.Second)
	url, token, err := s.Provider.CreateLink(ctx, LinkRequest{
		CustomerID:  c.ID,
		Type:        typ,
		Email:       c.Email,
		PhoneNumber: c.PhoneNumber,
		RedirectURI: redirectURI,
		TTL:         s.TTL,
	})
	if err != nil {
		return Link{}, err
	}
	return Link{URL: url, Token: token, ExpiresAt: expires, Provider: s.Provider.Name()}, nil
}
