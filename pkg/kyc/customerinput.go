package kyc

// CustomerInput is the body of POST /customers and of PATCH
// /customers/{customerId}: Grid's CustomerCreateRequest and
// CustomerUpdateRequest (INDIVIDUAL and BUSINESS), limited to the fields
// this KYC service keeps. A nil field was not sent. Parse it with
// ParseCustomerInput; Customers.Create and Customers.Update validate it.
type CustomerInput struct {
	CustomerType       *CustomerType `json:"customerType"`
	PlatformCustomerID *string       `json:"platformCustomerId"`
	UmaAddress         *string       `json:"umaAddress"`
	Region             *string       `json:"region"`
	Currencies         *[]string     `json:"currencies"`
	Email              *string       `json:"email"`
	PhoneNumber        *string       `json:"phoneNumber"`
	// The status fields are read-only: accepted only with the customer's
	// current value (UNVERIFIED on create), so an answer sent back is
	// accepted.
	KYCStatus *Status `json:"kycStatus"`
	KYBStatus *Status `json:"kybStatus"`

	// Individuals.
	FullName    *string  `json:"fullName"`
	BirthDate   *string  `json:"birthDate"`
	Nationality *string  `json:"nationality"`
	Address     *Address `json:"address"`
	IDType      *string  `json:"idType"`
	// Identifier is write-only: it is sealed, never answered.
	Identifier *Secret `json:"identifier"`

	// Businesses.
	BusinessInfo *BusinessInfoInput `json:"businessInfo"`
}

// notKept are fields of Grid's customer requests that this KYC service
// does not keep (they serve Grid's payments, wallets and enhanced due
// diligence), and the read-only fields of Grid's Customer: a request that
// sends one is refused naming it, with the reason.
var notKept = func() map[string]string {
	m := map[string]string{}
	for _, f := range []string{"id", "platformId", "createdAt", "updatedAt", "isDeleted", "contactVerification"} {
		m[f] = f + " is read-only: it is set by the service, not by a request."
	}
	m["beneficialOwners"] = "beneficialOwners is answered, not written: add a business's owners with POST /beneficial-owners and change them with PATCH /beneficial-owners/{beneficialOwnerId}."
	for _, f := range []string{"endUserTermsConsent", "countryOfIssuance",
		"sourceOfFundsCategories", "sourceOfFundsOtherDescription", "sourceOfWealthCategories",
		"sourceOfWealthOtherDescription", "purposeOfAccount", "purposeOfAccountOtherDescription",
		"expectedMonthlyTransactionCount", "expectedMonthlyTransactionVolume", "annualIncomeRange",
		"netWorthRange", "pepStatus"} {
		m[f] = f + " is a Grid field this KYC service does not keep; leave it out."
	}
	return m
}()

// ParseCustomerInput reads a create or update body strictly (see
// decodeStrict): unknown, read-only, repeated or null fields and values of
// the wrong JSON type are InvalidField errors naming the field.
func ParseCustomerInput(body []byte) (CustomerInput, error) {
	var in CustomerInput
	if err := decodeStrict(body, &in, notKept); err != nil {
		return CustomerInput{}, err
	}
	return in, nil
}

// Limits on the input.
const (
	MaxPlatformCustomerID = 255 // characters
	MaxName               = 250 // fullName, legalName and other names
	MaxText               = 500 // descriptions
	MaxCurrencies         = 20
	MaxCountries          = 250
)
