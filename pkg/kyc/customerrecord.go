package kyc

import (
	"context"
	"errors"
	"strings"
	"time"
)

// Customer is a Grid customer as this service keeps it: what the platform
// gives when it creates or updates it, the status reviews move, and the
// bookkeeping of both. The link route, the reviews and the platform API
// read the same one. Write-only values (the identifier, a business tax
// id) are held only as ciphertext made by a Sealer.
type Customer struct {
	ID                 string
	PlatformID         string
	PlatformCustomerID string
	Type               CustomerType
	// KYCStatus and KYBStatus are moved by reviews only (kycStatus for
	// individuals, kybStatus for businesses); "" reads as UNVERIFIED.
	KYCStatus Status
	KYBStatus Status

	UmaAddress  string
	Region      string
	Currencies  []string
	Email       string
	PhoneNumber string

	// Individuals.
	FullName    string
	BirthDate   string // YYYY-MM-DD
	Nationality string
	IDType      string
	// IdentifierSealed is the identifier's ciphertext (Sealer.Seal).
	IdentifierSealed []byte

	Address *Address

	// Businesses.
	BusinessInfo *BusinessInfo
	// TaxIDSealed is businessInfo.taxId's ciphertext.
	TaxIDSealed []byte
	// Owners are a business's beneficial owners, in creation order (at
	// most MaxOwnersPerBusiness). Their data is the platform's, written
	// with the customer's (versioned with it); their statuses are the
	// reviews'.
	Owners []BeneficialOwner

	ContactVerification ContactVerification
	// VerificationID is the customer's current verification: the last
	// one submitted for review (POST /verifications), which the
	// provider's decisions move with the status.
	VerificationID string

	IsDeleted bool
	CreatedAt time.Time
	UpdatedAt time.Time
	// DeletedAt is when the platform deleted the customer; ExpiresAt when
	// the store may forget the deleted customer altogether (zero: never).
	DeletedAt time.Time
	ExpiresAt time.Time
	// Version counts the platform API's writes: an update is written only
	// if the stored version is still the one read (0 for customers no
	// platform API call wrote yet). Reviews do not move it; they write
	// only the status attributes, which an update never writes.
	Version int64
	// LastReviewAt is the provider time of the last review applied (zero:
	// none yet); reviews write it with the status.
	LastReviewAt time.Time
	// RejectType (FINAL or RETRY) and RejectLabels are the provider's
	// reasons, kept for operators while the status is REJECTED.
	RejectType   string
	RejectLabels []string
}

// Address is Grid's Address.
type Address struct {
	Line1      string `json:"line1"`
	Line2      string `json:"line2,omitempty"`
	City       string `json:"city,omitempty"`
	State      string `json:"state,omitempty"`
	PostalCode string `json:"postalCode"`
	Country    string `json:"country"`
}

// BusinessInfo is Grid's BusinessInfo as kept and answered: every field
// but taxId, which is write-only here (Customer.TaxIDSealed).
type BusinessInfo struct {
	LegalName                        string   `json:"legalName"`
	DoingBusinessAs                  string   `json:"doingBusinessAs,omitempty"`
	Country                          string   `json:"country,omitempty"`
	RegistrationNumber               string   `json:"registrationNumber,omitempty"`
	IncorporatedOn                   string   `json:"incorporatedOn,omitempty"`
	EntityType                       string   `json:"entityType,omitempty"`
	CountriesOfOperation             []string `json:"countriesOfOperation,omitempty"`
	BusinessType                     string   `json:"businessType,omitempty"`
	PurposeOfAccount                 string   `json:"purposeOfAccount,omitempty"`
	SourceOfFunds                    string   `json:"sourceOfFunds,omitempty"`
	ExpectedMonthlyTransactionCount  string   `json:"expectedMonthlyTransactionCount,omitempty"`
	ExpectedMonthlyTransactionVolume string   `json:"expectedMonthlyTransactionVolume,omitempty"`
	ExpectedRecipientJurisdictions   []string `json:"expectedRecipientJurisdictions,omitempty"`
	NaicsCode                        string   `json:"naicsCode,omitempty"`
	SourceOfFundsCategories          []string `json:"sourceOfFundsCategories,omitempty"`
	SourceOfFundsOtherDescription    string   `json:"sourceOfFundsOtherDescription,omitempty"`
	PurposeOfAccountOtherDescription string   `json:"purposeOfAccountOtherDescription,omitempty"`
	ExpectedCounterpartyCountries    []string `json:"expectedCounterpartyCountries,omitempty"`
	PrimaryContactFirstName          string   `json:"primaryContactFirstName,omitempty"`
	PrimaryContactLastName           string   `json:"primaryContactLastName,omitempty"`
}

// StatusOf is the status reviews move: KYBStatus for businesses,
// KYCStatus otherwise; unset is UNVERIFIED.
func (c Customer) StatusOf() Status {
	s := c.KYCStatus
	if c.Type == Business {
		s = c.KYBStatus
	}
	if s == "" {
		return StatusUnverified
	}
	return s
}

// SetStatus sets the status StatusOf reads.
func (c *Customer) SetStatus(s Status) {
	if c.Type == Business {
		c.KYBStatus = s
	} else {
		c.KYCStatus = s
	}
}

// FormatTime is how the platform API writes and answers timestamps: RFC
// 3339 in UTC with milliseconds (the reviews' format).
func FormatTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z07:00") }

// ListPosition is r's place in a platform's list: creation time, then id,
// as one string that sorts as the list does. Stores keep it (it is the
// sort key of the by-platform index) and read ranges of it.
func (r Customer) ListPosition() string {
	return ListPosition(r.CreatedAt, r.ID)
}

// ListPosition is the list position of a customer created at t with id.
func ListPosition(t time.Time, id string) string { return FormatTime(t) + "#" + id }

// PositionID is the customer id a list position ends with.
func PositionID(position string) string {
	_, id, _ := strings.Cut(position, "#")
	return id
}

// ErrPlatformCustomerIDTaken is a store's answer to an insert whose
// platform already has an active customer with that platformCustomerId.
var ErrPlatformCustomerIDTaken = errors.New("kyc: the platform already has an active customer with this platformCustomerId")

// ErrCustomerExists is a store's answer to an insert whose customer id is
// taken: by an earlier attempt of the same create (its id comes from the
// request's intent), since ids are never drawn twice otherwise.
var ErrCustomerExists = errors.New("kyc: a customer with this id exists already")

// RangeQuery asks a store for a platform's customers in list order.
type RangeQuery struct {
	PlatformID string
	// After is the list position to start after ("" = from the start).
	After string
	// From and To bound the positions read: From <= position < To ("" =
	// unbounded).
	From, To string
	// Limit is the most records to return (at least 1).
	Limit int
}

// CustomerRecords keeps the platform API's customers.
type CustomerRecords interface {
	// InsertCustomer stores a new customer. It fails with
	// ErrCustomerExists when a customer with r.ID exists (checked first),
	// and with ErrPlatformCustomerIDTaken when r's platform already has an
	// active (not deleted) customer with r.PlatformCustomerID, decided
	// atomically with the write: of concurrent inserts with one
	// platformCustomerId, exactly one succeeds.
	InsertCustomer(ctx context.Context, r Customer) error
	// Customer reads a customer with a consistent read; a missing one
	// is CustomerNotFound().
	CustomerRecord(ctx context.Context, id string) (Customer, error)
	// ActiveCustomerID finds the active customer of platformID with
	// platformCustomerId pcid, with a consistent read.
	ActiveCustomerID(ctx context.Context, platformID, pcid string) (id string, found bool, err error)
	// CustomerRange returns up to q.Limit customers of q.PlatformID in
	// list order after q.After; more is false when none follow (true may
	// be a false positive, as DynamoDB's LastEvaluatedKey is). The read
	// may be eventually consistent (a by-platform index).
	CustomerRange(ctx context.Context, q RangeQuery) (recs []Customer, more bool, err error)
	// UpdateCustomer writes next over prev, the customer as read: only the
	// data prev and next differ in, and only if the stored version is
	// still prev.Version (else ErrChanged); next.Version is prev.Version+1.
	// Status and review data are never written by it. When next deletes
	// the customer, its platformCustomerId is released in the same write.
	UpdateCustomer(ctx context.Context, prev, next Customer) error
}

// Sealer encrypts write-only personal data for storage, bound to the
// customer and platform it belongs to (for KMS: the encryption context), so
// a ciphertext copied onto another customer cannot be opened as theirs.
type Sealer interface {
	Seal(ctx context.Context, plaintext []byte, customerID, platformID string) ([]byte, error)
}
