package app

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/grid-kyc/kyc-link/pkg/awsstore"
	"github.com/grid-kyc/kyc-link/pkg/kyc"
)

// defaultSeed is the local-mode data: a demo platform, its token and a few
// customers. docs/data-model.md documents the format.
//
//go:embed seed.json
var defaultSeed []byte

// Seed is local-mode data standing in for the secrets and the customers
// table.
type Seed struct {
	// Demo is what the startup banner's curl example uses.
	Demo struct {
		TokenID      string `json:"tokenId"`
		ClientSecret string `json:"clientSecret"`
		CustomerID   string `json:"customerId"`
	} `json:"demo"`
	// APITokens has the API tokens secret's format.
	APITokens json.RawMessage `json:"apiTokens"`
	// Sumsub has the Sumsub secret's format; needed only with
	// KYC_PROVIDER=sumsub.
	Sumsub    json.RawMessage `json:"sumsub,omitempty"`
	Customers []seedCustomer  `json:"customers"`
	// Platforms has the platforms table's items; a platform without a
	// webhookUrl receives its webhooks in the local inbox page.
	Platforms []seedPlatform `json:"platforms,omitempty"`
}

type seedPlatform struct {
	ID         string `json:"id"`
	WebhookURL string `json:"webhookUrl"`
}

// seedCustomer uses the customers table's attribute names.
type seedCustomer struct {
	ID                 string `json:"id"`
	PlatformID         string `json:"platformId"`
	CustomerType       string `json:"customerType"`
	KYCStatus          string `json:"kycStatus"`
	KYBStatus          string `json:"kybStatus"`
	Email              string `json:"email"`
	PhoneNumber        string `json:"phoneNumber"`
	PlatformCustomerID string `json:"platformCustomerId"`
	IsDeleted          bool   `json:"isDeleted"`
	CreatedAt          string `json:"createdAt"`
	UpdatedAt          string `json:"updatedAt"`
	// ContactVerification: {"email"?: "PENDING"|"VERIFIED", "phone"?: …}.
	ContactVerification struct {
		Email string `json:"email"`
		Phone string `json:"phone"`
	} `json:"contactVerification"`
}

// ParseSeed reads a seed file.
func ParseSeed(b []byte) (Seed, error) {
	var s Seed
	if err := json.Unmarshal(b, &s); err != nil {
		return Seed{}, fmt.Errorf("seed: %w", err)
	}
	if len(s.APITokens) == 0 {
		return Seed{}, fmt.Errorf("seed: apiTokens is missing")
	}
	return s, nil
}

func (s Seed) customers() []kyc.Customer {
	out := make([]kyc.Customer, len(s.Customers))
	for i, c := range s.Customers {
		out[i] = kyc.Customer{
			ID: c.ID, PlatformID: c.PlatformID, Type: kyc.CustomerType(c.CustomerType),
			KYCStatus: kyc.Status(c.KYCStatus), KYBStatus: kyc.Status(c.KYBStatus),
			Email: c.Email, PhoneNumber: c.PhoneNumber, PlatformCustomerID: c.PlatformCustomerID, IsDeleted: c.IsDeleted,
			ContactVerification: kyc.ContactVerification{Email: c.ContactVerification.Email, Phone: c.ContactVerification.Phone},
		}
		if t, err := time.Parse(time.RFC3339, c.CreatedAt); err == nil {
			out[i].CreatedAt = t.UTC()
		}
		if t, err := time.Parse(time.RFC3339, c.UpdatedAt); err == nil {
			out[i].UpdatedAt = t.UTC()
		}
	}
	return out
}

// DefaultSeed is the embedded seed (pkg/app/seed.json).
func DefaultSeed() []byte { return append([]byte(nil), defaultSeed...) }

// CustomerItems are the seed's customers as items of the customers table,
// in the table's one codec (awsstore.CustomerItem).
func (s Seed) CustomerItems() []map[string]types.AttributeValue {
	var out []map[string]types.AttributeValue
	for _, c := range s.customers() {
		out = append(out, awsstore.CustomerItem(c))
	}
	return out
}
