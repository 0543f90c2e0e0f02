// Package gridhook makes the webhooks Grid sends to platforms: the
// CUSTOMER.KYC_* / KYB_* envelope with the customer in Grid's shape, and
// the X-Grid-Signature (ECDSA P-256 over SHA-256 of the exact body, DER,
// base64) that platforms verify with Grid's pinned public key.
package gridhook

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/grid-kyc/kyc-link/pkg/kyc"
)

// SignatureHeader carries the signature.
const SignatureHeader = "X-Grid-Signature"

// Envelope is one webhook as sent.
type Envelope struct {
	ID        string   `json:"id"`
	Type      string   `json:"type"`
	Timestamp string   `json:"timestamp"`
	Data      Customer `json:"data"`
}

// Customer is Grid's Customer shape, as GET /customers/{id} returns it.
type Customer struct {
	ID                 string `json:"id"`
	PlatformCustomerID string `json:"platformCustomerId,omitempty"`
	CustomerType       string `json:"customerType"`
	UmaAddress         string `json:"umaAddress"`
	Region             string `json:"region,omitempty"`
	KYCStatus          string `json:"kycStatus,omitempty"`
	KYBStatus          string `json:"kybStatus,omitempty"`
	Email              string `json:"email,omitempty"`
	PhoneNumber        string `json:"phoneNumber,omitempty"`
	CreatedAt          string `json:"createdAt,omitempty"`
	UpdatedAt          string `json:"updatedAt"`
	IsDeleted          bool   `json:"isDeleted"`
	// ContactVerification is present where the customer's jurisdiction
	// requires it, as on GET.
	ContactVerification *kyc.ContactVerificationView `json:"contactVerification,omitempty"`
	// BeneficialOwners are a business's owners, as on GET (Grid's
	// BusinessCustomer): always present for a business, never their
	// identifiers.
	BeneficialOwners *[]kyc.OwnerView `json:"beneficialOwners,omitempty"`
}

// Type is the webhook type for a status, or "" when Grid defines none
// (HOLD, UNVERIFIED).
func Type(t kyc.CustomerType, s kyc.Status) string {
	prefix := "CUSTOMER.KYC_"
	if t == kyc.Business {
		prefix = "CUSTOMER.KYB_"
	}
	switch s {
	case kyc.StatusApproved, kyc.StatusRejected, kyc.StatusPending:
		return prefix + string(s)
	}
	return ""
}

// Notices is the kyc.NoticeBuilder that makes Grid webhooks, with the
// default UMA domain for customers that have no UMA address.
func Notices(c kyc.Customer, s kyc.Status, at time.Time) (*kyc.Notice, error) {
	return NoticesAt(kyc.DefaultUmaDomain)(c, s, at)
}

// NoticesAt is the kyc.NoticeBuilder that makes Grid webhooks whose data
// is the customer as GET /customers/{id} shows its identity: a customer
// written before the platform API gets the UMA address GET derives, on
// umaDomain.
func NoticesAt(umaDomain string) func(c kyc.Customer, s kyc.Status, at time.Time) (*kyc.Notice, error) {
	return func(c kyc.Customer, s kyc.Status, at time.Time) (*kyc.Notice, error) {
		return notice(c, s, at, umaDomain)
	}
}

func notice(c kyc.Customer, s kyc.Status, at time.Time, umaDomain string) (*kyc.Notice, error) {
	typ := Type(c.Type, s)
	if typ == "" {
		return nil, nil
	}
	id, err := uuid.NewV7()
	if err != nil {
		return nil, err
	}
	customerType := c.Type
	if customerType == "" {
		customerType = kyc.Individual
	}
	env := Envelope{
		ID: "Webhook:" + id.String(), Type: typ, Timestamp: kyc.FormatTime(at),
		Data: Customer{
			ID: c.ID, PlatformCustomerID: c.PlatformCustomerID, CustomerType: string(customerType),
			UmaAddress: c.UmaAddress, Region: c.Region,
			Email: c.Email, PhoneNumber: c.PhoneNumber,
			UpdatedAt: kyc.FormatTime(c.UpdatedAt), IsDeleted: c.IsDeleted,
		},
	}
	if !c.CreatedAt.IsZero() {
		env.Data.CreatedAt = kyc.FormatTime(c.CreatedAt)
	}
	if cv := c.ContactVerification; cv.Email != "" || cv.Phone != "" {
		env.Data.ContactVerification = &kyc.ContactVerificationView{Email: cv.Email, Phone: cv.Phone}
	}
	if env.Data.UmaAddress == "" {
		env.Data.UmaAddress = kyc.GeneratedUmaAddress(c.ID, umaDomain)
	}
	if customerType == kyc.Business {
		env.Data.KYBStatus = string(c.KYBStatus)
		owners := kyc.OwnerViews(c)
		env.Data.BeneficialOwners = &owners
	} else {
		env.Data.KYCStatus = string(c.KYCStatus)
	}
	body, err := json.Marshal(env)
	if err != nil {
		return nil, err
	}
	return &kyc.Notice{ID: env.ID, PlatformID: c.PlatformID, Type: typ, CreatedAt: at, Body: body}, nil
}

// ParseSigningSecret reads the signing key secret {"privateKeyPem": …}: a
// PKCS#8 PEM P-256 key.
func ParseSigningSecret(s string) (*ecdsa.PrivateKey, error) {
	var doc struct {
		PrivateKeyPEM string `json:"privateKeyPem"`
	}
	if err := json.Unmarshal([]byte(s), &doc); err != nil || doc.PrivateKeyPEM == "" {
		return nil, errors.New(`want JSON {"privateKeyPem": "-----BEGIN PRIVATE KEY-----…"}`)
	}
	return ParsePrivateKey(doc.PrivateKeyPEM)
}

// ParsePrivateKey reads a PKCS#8 PEM P-256 private key.
func ParsePrivateKey(pemText string) (*ecdsa.PrivateKey, error) {
	block, _ := pem.Decode([]byte(pemText))
	if block == nil {
		return nil, errors.New("no PEM block")
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("not a PKCS#8 key: %w", err)
	}
	ec, ok := k.(*ecdsa.PrivateKey)
	if !ok || ec.Curve != elliptic.P256() {
		return nil, errors.New("the key is not an ECDSA P-256 key")
	}
	return ec, nil
}

// NewKey makes a P-256 key and returns the signing secret's JSON and the
// public key PEM (PKIX) a platform pins.
func NewKey() (secretJSON, publicPEM string, err error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", "", err
	}
	secret, err := SigningSecret(k)
	if err != nil {
		return "", "", err
	}
	return secret, PublicPEM(k), nil
}

// PublicPEM is k's public key as a PKIX PEM.
func PublicPEM(k *ecdsa.PrivateKey) string {
	pub, _ := x509.MarshalPKIXPublicKey(&k.PublicKey)
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}))
}

type signature struct {
	V string `json:"v"`
	S string `json:"s"`
}

// Sign returns the X-Grid-Signature value for body.
func Sign(k *ecdsa.PrivateKey, body []byte) (string, error) {
	digest := sha256.Sum256(body)
	der, err := ecdsa.SignASN1(rand.Reader, k, digest[:])
	if err != nil {
		return "", err
	}
	h, err := json.Marshal(signature{V: "1", S: base64.StdEncoding.EncodeToString(der)})
	return string(h), err
}

// ErrBadSignature is every verification failure.
var ErrBadSignature = errors.New("gridhook: bad X-Grid-Signature")

// Verify checks an X-Grid-Signature value against body, as a platform does.
func Verify(pub *ecdsa.PublicKey, header string, body []byte) error {
	var sig signature
	if err := json.Unmarshal([]byte(header), &sig); err != nil || sig.V != "1" {
		return ErrBadSignature
	}
	der, err := base64.StdEncoding.DecodeString(sig.S)
	if err != nil {
		return ErrBadSignature
	}
	digest := sha256.Sum256(body)
	if !ecdsa.VerifyASN1(pub, digest[:], der) {
		return ErrBadSignature
	}
	return nil
}

// VerificationEnvelope is a VERIFICATION.* webhook as sent (Grid's
// VerificationWebhook: data is the verification).
type VerificationEnvelope struct {
	ID        string               `json:"id"`
	Type      string               `json:"type"`
	Timestamp string               `json:"timestamp"`
	Data      kyc.VerificationView `json:"data"`
}

// VerificationNotice is the VERIFICATION.<status> webhook of v, as at.
func VerificationNotice(v kyc.Verification, at time.Time) (*kyc.Notice, error) {
	id, err := uuid.NewV7()
	if err != nil {
		return nil, err
	}
	typ := "VERIFICATION." + string(v.Status)
	body, err := json.Marshal(VerificationEnvelope{ID: "Webhook:" + id.String(), Type: typ, Timestamp: kyc.FormatTime(at), Data: v.View()})
	if err != nil {
		return nil, err
	}
	return &kyc.Notice{ID: "Webhook:" + id.String(), PlatformID: v.PlatformID, Type: typ, CreatedAt: at, Body: body}, nil
}
