package app

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

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
			ID: c.ID, PlatformID: c.PlatformID, Type: kyc.CustomerType(c.CustomerType), KYCStatus: c.KYCStatus, KYBStatus: c.KYBStatus,
			Email: c.Email, PhoneNumber: c.PhoneNumber, PlatformCustomerID: c.PlatformCustomerID, IsDeleted: c.IsDeleted,
			CreatedAt:           c.CreatedAt,
			ContactVerification: kyc.ContactVerification{Email: c.ContactVerification.Email, Phone: c.ContactVerification.Phone},
		}
		if t, err := time.Parse(time.RFC3339, c.UpdatedAt); err == nil {
			out[i].UpdatedAt = t
		}
	}
	return out
}

// DefaultSeed is the embedded seed (pkg/app/seed.json).
func DefaultSeed() []byte { return append([]byte(nil), defaultSeed...) }

// CustomerItems are the seed's customers as items of the customers table.
func (s Seed) CustomerItems() []map[string]types.AttributeValue {
	out := make([]map[string]types.AttributeValue, 0, len(s.Customers))
	for _, c := range s.Customers {
		item := map[string]types.AttributeValue{}
		for k, v := range map[string]string{"id": c.ID, "platformId": c.PlatformID, "customerType": c.CustomerType,
			"kycStatus": c.KYCStatus, "kybStatus": c.KYBStatus, "email": c.Email, "phoneNumber": c.PhoneNumber,
			"platformCustomerId": c.PlatformCustomerID, "createdAt": c.CreatedAt, "updatedAt": c.UpdatedAt} {
			if v != "" {
				item[k] = &types.AttributeValueMemberS{Value: v}
			}
		}
		if c.IsDeleted {
			item["isDeleted"] = &types.AttributeValueMemberBOOL{Value: true}
		}
		cv := map[string]types.AttributeValue{}
		if c.ContactVerification.Email != "" {
			cv["email"] = &types.AttributeValueMemberS{Value: c.ContactVerification.Email}
		}
		if c.ContactVerification.Phone != "" {
			cv["phone"] = &types.AttributeValueMemberS{Value: c.ContactVerification.Phone}
		}
		if len(cv) > 0 {
			item["contactVerification"] = &types.AttributeValueMemberM{Value: cv}
		}
		out = append(out, item)
	}
	return out
}
