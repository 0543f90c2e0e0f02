// Package kyc is the domain of the service: customers, verification links,
// the errors the API speaks in, and the service that issues links.
// It knows nothing about HTTP, Lambda or AWS.
package kyc

import (
	"context"
	"time"
)

// CustomerType selects between identity (KYC) and business (KYB) verification.
type CustomerType string

const (
	Individual CustomerType = "INDIVIDUAL"
	Business   CustomerType = "BUSINESS"
)

// Contact verification states (Grid's Customer.contactVerification).
const (
	ContactPending  = "PENDING"
	ContactVerified = "VERIFIED"
)

// ContactVerification holds each channel's state; "" means the channel is
// not required.
type ContactVerification struct {
	Email string
	Phone string
}

// Unverified lists the required channels not yet VERIFIED ("email",
// "phone").
func (v ContactVerification) Unverified() []string {
	var out []string
	if v.Email != "" && v.Email != ContactVerified {
		out = append(out, "email")
	}
	if v.Phone != "" && v.Phone != ContactVerified {
		out = append(out, "phone")
	}
	return out
}

// LinkRequest is what a provider needs to mint a verification link.
type LinkRequest struct {
	CustomerID  string
	Type        CustomerType
	Email       string
	PhoneNumber string
	RedirectURI string // empty: the provider's default completion page
	TTL         time.Duration
}

// Link is a freshly minted verification link.
type Link struct {
	URL       string
	Token     string // SDK token, empty when the provider has none
	ExpiresAt time.Time
	Provider  string
}

// CustomerStore finds customers by their Grid id. A missing customer is an
// *Error with code NotFound.
type CustomerStore interface {
	FindCustomer(ctx context.Context, id string) (Customer, error)
}

// Provider mints verification links. It returns the URL and the SDK token;
// a failure is an *Error (Unavailable for a provider outage, Internal for
// our own misconfiguration).
type Provider interface {
	Name() string
	CreateLink(ctx context.Context, req LinkRequest) (url, token string, err error)
}
