package kyc

import (
	"fmt"
	"net/mail"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

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

// BusinessInfoInput is Grid's BusinessInfo (create) and BusinessInfoUpdate
// (patch: the fields sent replace those kept, the others stay).
type BusinessInfoInput struct {
	LegalName                        *string   `json:"legalName"`
	DoingBusinessAs                  *string   `json:"doingBusinessAs"`
	Country                          *string   `json:"country"`
	RegistrationNumber               *string   `json:"registrationNumber"`
	IncorporatedOn                   *string   `json:"incorporatedOn"`
	EntityType                       *string   `json:"entityType"`
	TaxID                            *Secret   `json:"taxId"` // write-only
	CountriesOfOperation             *[]string `json:"countriesOfOperation"`
	BusinessType                     *string   `json:"businessType"`
	PurposeOfAccount                 *string   `json:"purposeOfAccount"`
	SourceOfFunds                    *string   `json:"sourceOfFunds"`
	ExpectedMonthlyTransactionCount  *string   `json:"expectedMonthlyTransactionCount"`
	ExpectedMonthlyTransactionVolume *string   `json:"expectedMonthlyTransactionVolume"`
	ExpectedRecipientJurisdictions   *[]string `json:"expectedRecipientJurisdictions"`
	NaicsCode                        *string   `json:"naicsCode"`
	SourceOfFundsCategories          *[]string `json:"sourceOfFundsCategories"`
	SourceOfFundsOtherDescription    *string   `json:"sourceOfFundsOtherDescription"`
	PurposeOfAccountOtherDescription *string   `json:"purposeOfAccountOtherDescription"`
	ExpectedCounterpartyCountries    *[]string `json:"expectedCounterpartyCountries"`
	PrimaryContactFirstName          *string   `json:"primaryContactFirstName"`
	PrimaryContactLastName           *string   `json:"primaryContactLastName"`
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
	for _, f := range []string{"endUserTermsConsent", "countryOfIssuance", "beneficialOwners",
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

// Enums of Grid's schemas.
var (
	identificationTypes = []string{"SSN", "ITIN", "EIN", "NON_US_TAX_ID"}
	// individualIDTypes are the idTypes Grid accepts for an individual.
	individualIDTypes = []string{"SSN", "ITIN"}
	entityTypes       = []string{"SOLE_PROPRIETORSHIP", "PARTNERSHIP", "LLC", "CORPORATION", "S_CORPORATION",
		"NON_PROFIT", "PUBLICLY_LISTED_COMPANY", "TRUST", "PRIVATE_FOUNDATION", "CHARITY", "OTHER"}
	businessTypes = []string{"AGRICULTURE_FORESTRY_FISHING_AND_HUNTING", "MINING_QUARRYING_AND_OIL_AND_GAS_EXTRACTION",
		"UTILITIES", "CONSTRUCTION", "MANUFACTURING", "WHOLESALE_TRADE", "RETAIL_TRADE", "TRANSPORTATION_AND_WAREHOUSING",
		"INFORMATION", "FINANCE_AND_INSURANCE", "REAL_ESTATE_AND_RENTAL_AND_LEASING",
		"PROFESSIONAL_SCIENTIFIC_AND_TECHNICAL_SERVICES", "MANAGEMENT_OF_COMPANIES_AND_ENTERPRISES",
		"ADMINISTRATIVE_AND_SUPPORT_AND_WASTE_MANAGEMENT_AND_REMEDIATION_SERVICES", "EDUCATIONAL_SERVICES",
		"HEALTH_CARE_AND_SOCIAL_ASSISTANCE", "ARTS_ENTERTAINMENT_AND_RECREATION", "ACCOMMODATION_AND_FOOD_SERVICES",
		"OTHER_SERVICES", "PUBLIC_ADMINISTRATION"}
	purposesOfAccount = []string{"CONTRACTOR_PAYOUTS", "CREATOR_PAYOUTS", "EMPLOYEE_PAYOUTS", "MARKETPLACE_SELLER_PAYOUTS",
		"SUPPLIER_PAYMENTS", "CROSS_BORDER_B2B", "AR_AUTOMATION", "AP_AUTOMATION", "EMBEDDED_PAYMENTS",
		"PLATFORM_FEE_COLLECTION", "P2P_TRANSFERS", "CHARITABLE_DONATIONS", "OTHER"}
	transactionCounts  = []string{"COUNT_UNDER_10", "COUNT_10_TO_100", "COUNT_100_TO_500", "COUNT_500_TO_1000", "COUNT_OVER_1000"}
	transactionVolumes = []string{"VOLUME_UNDER_10K", "VOLUME_10K_TO_100K", "VOLUME_100K_TO_1M", "VOLUME_1M_TO_10M", "VOLUME_OVER_10M"}
	sourceOfFunds      = []string{"OPERATING_REVENUE", "INVESTMENT_INCOME", "LOANS", "VENTURE_CAPITAL", "PERSONAL_SAVINGS", "DONATIONS", "OTHER"}
	customerTypes      = []string{string(Individual), string(Business)}
	statuses           = []string{string(StatusUnverified), string(StatusPending), string(StatusApproved), string(StatusRejected), string(StatusHold)}
)

var (
	e164Pattern     = regexp.MustCompile(`^\+[1-9]\d{1,14}$`)
	currencyPattern = regexp.MustCompile(`^[A-Z][A-Z0-9]{1,9}$`)
	naicsPattern    = regexp.MustCompile(`^\d{2,6}$`)
	taxIDPattern    = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9 ./-]{0,63}$`)
	umaUserPattern  = regexp.MustCompile(`^[a-z0-9._+-]{1,63}$`)
	dnsLabel        = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)
	identifierForm  = regexp.MustCompile(`^(\d{3})-?(\d{2})-?(\d{4})$`)
)

var countryConstraint = &FieldConstraint{Format: "iso3166-1-alpha-2", Pattern: "^[A-Z]{2}$"}

// check validates every field in sends and puts each value in its
// canonical form (umaAddress lower case, identifier as ###-##-####). It
// does not apply the rules that depend on the customer type or on the
// customer kept: create and update add those.
func (in *CustomerInput) check(now time.Time, errs *fieldErrors) {
	if in.CustomerType != nil && !slices.Contains(customerTypes, string(*in.CustomerType)) {
		errs.addc("customerType", &FieldConstraint{Enum: customerTypes}, "customerType must be INDIVIDUAL or BUSINESS.")
	}
	if in.PlatformCustomerID != nil {
		checkText(errs, "platformCustomerId", *in.PlatformCustomerID, MaxPlatformCustomerID)
	}
	if in.UmaAddress != nil {
		if u, ok := normalizeUmaAddress(*in.UmaAddress); ok {
			*in.UmaAddress = u
		} else {
			errs.addc("umaAddress", &FieldConstraint{Pattern: `^\$[a-z0-9._+-]{1,63}@[a-z0-9.-]+$`},
				"umaAddress must look like $username@domain.example: a $, then up to 63 of a-z 0-9 . _ + -, an @ and a domain name.")
		}
	}
	if in.Region != nil {
		checkCountry(errs, "region", *in.Region)
	}
	if in.Currencies != nil {
		checkCurrencies(errs, "currencies", *in.Currencies)
	}
	if in.Email != nil && !validEmail(*in.Email) {
		errs.addc("email", &FieldConstraint{Format: "email", MaxLength: 254}, "email must be an email address such as name@example.com.")
	}
	if in.PhoneNumber != nil && !e164Pattern.MatchString(*in.PhoneNumber) {
		errs.addc("phoneNumber", &FieldConstraint{Format: "e.164", Pattern: e164Pattern.String()},
			"phoneNumber must be in E.164 format: + then up to 15 digits, such as +14155551234.")
	}
	for _, s := range []struct {
		name string
		v    *Status
	}{{"kycStatus", in.KYCStatus}, {"kybStatus", in.KYBStatus}} {
		if s.v != nil && !slices.Contains(statuses, string(*s.v)) {
			errs.addc(s.name, &FieldConstraint{Enum: statuses}, "%s must be one of %s.", s.name, strings.Join(statuses, ", "))
		}
	}
	if in.FullName != nil {
		checkText(errs, "fullName", *in.FullName, MaxName)
	}
	if in.BirthDate != nil {
		checkDate(errs, "birthDate", *in.BirthDate, time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC), now)
	}
	if in.Nationality != nil {
		checkCountry(errs, "nationality", *in.Nationality)
	}
	if in.Address != nil {
		checkAddress(errs, "address", *in.Address)
	}
	if in.IDType != nil {
		switch {
		case slices.Contains(individualIDTypes, *in.IDType):
		case slices.Contains(identificationTypes, *in.IDType):
			errs.addc("idType", &FieldConstraint{Enum: individualIDTypes}, "idType %s is not accepted for an individual; use SSN or ITIN.", *in.IDType)
		default:
			errs.addc("idType", &FieldConstraint{Enum: individualIDTypes}, "idType must be SSN or ITIN.")
		}
	}
	if in.Identifier != nil && in.IDType != nil && slices.Contains(individualIDTypes, *in.IDType) {
		if id, ok := normalizeIdentifier(*in.IDType, in.Identifier.Reveal()); ok {
			*in.Identifier = Secret(id)
		} else {
			errs.addc("identifier", &FieldConstraint{Format: "us-" + strings.ToLower(*in.IDType), Pattern: `^\d{3}-\d{2}-\d{4}$`},
				"identifier is not a valid %s: send ###-##-#### (or 9 digits).", *in.IDType)
		}
	}
	if in.BusinessInfo != nil {
		in.BusinessInfo.check(errs, now)
	}
}

func (b *BusinessInfoInput) check(errs *fieldErrors, now time.Time) {
	const p = "businessInfo."
	for _, f := range []struct {
		name string
		v    *string
		max  int
	}{
		{"legalName", b.LegalName, MaxName}, {"doingBusinessAs", b.DoingBusinessAs, MaxName},
		{"registrationNumber", b.RegistrationNumber, 64}, {"sourceOfFunds", b.SourceOfFunds, MaxText},
		{"sourceOfFundsOtherDescription", b.SourceOfFundsOtherDescription, MaxText},
		{"purposeOfAccountOtherDescription", b.PurposeOfAccountOtherDescription, MaxText},
		{"primaryContactFirstName", b.PrimaryContactFirstName, MaxName},
		{"primaryContactLastName", b.PrimaryContactLastName, MaxName},
	} {
		if f.v != nil {
			checkText(errs, p+f.name, *f.v, f.max)
		}
	}
	if b.Country != nil {
		checkCountry(errs, p+"country", *b.Country)
	}
	if b.IncorporatedOn != nil {
		checkDate(errs, p+"incorporatedOn", *b.IncorporatedOn, time.Date(1600, 1, 1, 0, 0, 0, 0, time.UTC), now)
	}
	if b.TaxID != nil && !taxIDPattern.MatchString(b.TaxID.Reveal()) {
		errs.addc(p+"taxId", &FieldConstraint{Pattern: taxIDPattern.String(), MaxLength: 64},
			"businessInfo.taxId must be 1 to 64 letters, digits, spaces, '.', '/' or '-', starting with a letter or digit.")
	}
	for _, f := range []struct {
		name string
		v    *string
		enum []string
	}{
		{"entityType", b.EntityType, entityTypes}, {"businessType", b.BusinessType, businessTypes},
		{"purposeOfAccount", b.PurposeOfAccount, purposesOfAccount},
		{"expectedMonthlyTransactionCount", b.ExpectedMonthlyTransactionCount, transactionCounts},
		{"expectedMonthlyTransactionVolume", b.ExpectedMonthlyTransactionVolume, transactionVolumes},
	} {
		if f.v != nil && !slices.Contains(f.enum, *f.v) {
			errs.addc(p+f.name, &FieldConstraint{Enum: f.enum}, "businessInfo.%s must be one of %s.", f.name, strings.Join(f.enum, ", "))
		}
	}
	if b.NaicsCode != nil && !naicsPattern.MatchString(*b.NaicsCode) {
		errs.addc(p+"naicsCode", &FieldConstraint{Pattern: naicsPattern.String()}, "businessInfo.naicsCode must be 2 to 6 digits.")
	}
	for _, f := range []struct {
		name string
		v    *[]string
	}{
		{"countriesOfOperation", b.CountriesOfOperation}, {"expectedRecipientJurisdictions", b.ExpectedRecipientJurisdictions},
		{"expectedCounterpartyCountries", b.ExpectedCounterpartyCountries},
	} {
		if f.v == nil {
			continue
		}
		if len(*f.v) > MaxCountries {
			errs.add(p+f.name, "businessInfo.%s holds at most %d countries.", f.name, MaxCountries)
			continue
		}
		for i, c := range *f.v {
			checkCountry(errs, fmt.Sprintf("%s%s[%d]", p, f.name, i), c)
		}
	}
	if b.SourceOfFundsCategories != nil {
		for i, c := range *b.SourceOfFundsCategories {
			if !slices.Contains(sourceOfFunds, c) {
				errs.addc(fmt.Sprintf("%ssourceOfFundsCategories[%d]", p, i), &FieldConstraint{Enum: sourceOfFunds},
					"businessInfo.sourceOfFundsCategories holds only %s.", strings.Join(sourceOfFunds, ", "))
			}
		}
	}
}

// checkText accepts 1 to max characters, not all blank, without control
// characters or blanks at either end.
func checkText(errs *fieldErrors, field, v string, max int) {
	switch {
	case strings.TrimSpace(v) == "":
		errs.addc(field, &FieldConstraint{MinLength: 1, MaxLength: max}, "%s must not be empty.", field)
	case utf8.RuneCountInString(v) > max:
		errs.addc(field, &FieldConstraint{MinLength: 1, MaxLength: max}, "%s must be at most %d characters.", field, max)
	case strings.TrimSpace(v) != v:
		errs.add(field, "%s must not start or end with blanks.", field)
	case strings.IndexFunc(v, unicode.IsControl) >= 0:
		errs.add(field, "%s must not contain control characters.", field)
	}
}

func checkCountry(errs *fieldErrors, field, v string) {
	if !IsCountry(v) {
		errs.addc(field, countryConstraint, "%s must be an ISO 3166-1 alpha-2 country code in upper case, such as US.", field)
	}
}

func checkCurrencies(errs *fieldErrors, field string, cs []string) {
	if len(cs) > MaxCurrencies {
		errs.add(field, "%s holds at most %d currencies.", field, MaxCurrencies)
		return
	}
	for i, c := range cs {
		f := fmt.Sprintf("%s[%d]", field, i)
		switch {
		case !currencyPattern.MatchString(c):
			errs.addc(f, &FieldConstraint{Pattern: currencyPattern.String()},
				"%s must be a currency code in upper case: ISO 4217 (USD) or a ticker (USDC).", f)
		case slices.Contains(cs[:i], c):
			errs.add(f, "%s repeats a currency already listed.", f)
		}
	}
}

// checkDate accepts a calendar date YYYY-MM-DD from notBefore to now.
func checkDate(errs *fieldErrors, field, v string, notBefore, now time.Time) {
	d, err := time.Parse(time.DateOnly, v)
	c := &FieldConstraint{Format: "date", Pattern: `^\d{4}-\d{2}-\d{2}$`}
	switch {
	case err != nil || d.Format(time.DateOnly) != v:
		errs.addc(field, c, "%s must be a date YYYY-MM-DD.", field)
	case d.After(now):
		errs.addc(field, c, "%s must not be in the future.", field)
	case d.Before(notBefore):
		errs.addc(field, c, "%s must not be before %s.", field, notBefore.Format(time.DateOnly))
	}
}

func checkAddress(errs *fieldErrors, field string, a Address) {
	for _, f := range []struct {
		name, v  string
		max      int
		required bool
	}{
		{"line1", a.Line1, MaxName, true}, {"line2", a.Line2, MaxName, false}, {"city", a.City, 100, false},
		{"state", a.State, 100, false}, {"postalCode", a.PostalCode, 20, true},
	} {
		if f.required || f.v != "" {
			checkText(errs, field+"."+f.name, f.v, f.max)
		}
	}
	checkCountry(errs, field+".country", a.Country)
}

// validEmail accepts a bare address (no display name), at most 254
// characters, whose domain has a dot.
func validEmail(s string) bool {
	if len(s) > 254 {
		return false
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" || a.Address != s {
		return false
	}
	at := strings.LastIndexByte(s, '@')
	domain := s[at+1:]
	return strings.Contains(domain, ".") && !strings.HasSuffix(domain, ".") && !strings.HasPrefix(domain, ".")
}

// normalizeUmaAddress checks a UMA address, $username@domain (Grid's rule:
// username of a-z 0-9 . _ + -, at most 64 characters with the $; case does
// not matter), and returns it in lower case.
func normalizeUmaAddress(s string) (string, bool) {
	s = strings.ToLower(s)
	user, domain, ok := strings.Cut(strings.TrimPrefix(s, "$"), "@")
	if !ok || !strings.HasPrefix(s, "$") || !umaUserPattern.MatchString(user) || !validDomain(domain) {
		return "", false
	}
	return s, true
}

// validDomain accepts a lower-case DNS name of at least two labels.
func validDomain(d string) bool {
	labels := strings.Split(d, ".")
	if len(d) > 253 || len(labels) < 2 {
		return false
	}
	for _, l := range labels {
		if !dnsLabel.MatchString(l) {
			return false
		}
	}
	return true
}

// normalizeIdentifier checks an SSN or ITIN (###-##-#### or 9 digits) and
// returns it as ###-##-####. An SSN never starts with 000, 666 or 9, nor
// has group 00 or serial 0000; an ITIN starts with 9 and its group is
// 50–65, 70–88, 90–92 or 94–99.
func normalizeIdentifier(idType, s string) (string, bool) {
	m := identifierForm.FindStringSubmatch(s)
	if m == nil || (strings.Count(s, "-") != 0 && strings.Count(s, "-") != 2) {
		return "", false
	}
	area, group, serial := m[1], m[2], m[3]
	g := int(group[0]-'0')*10 + int(group[1]-'0')
	switch idType {
	case "SSN":
		if area == "000" || area == "666" || area[0] == '9' || group == "00" || serial == "0000" {
			return "", false
		}
	case "ITIN":
		if area[0] != '9' || !(50 <= g && g <= 65 || 70 <= g && g <= 88 || 90 <= g && g <= 92 || 94 <= g && g <= 99) {
			return "", false
		}
	default:
		return "", false
	}
	return area + "-" + group + "-" + serial, true
}

// onlyFor refuses the fields of in that a customer of type t cannot have.
func (in *CustomerInput) onlyFor(t CustomerType, errs *fieldErrors) {
	if t == Business {
		for _, f := range []struct {
			name string
			sent bool
		}{{"kycStatus", in.KYCStatus != nil}, {"fullName", in.FullName != nil}, {"birthDate", in.BirthDate != nil},
			{"nationality", in.Nationality != nil}, {"idType", in.IDType != nil}, {"identifier", in.Identifier != nil}} {
			if f.sent {
				errs.add(f.name, "%s is only for INDIVIDUAL customers.", f.name)
			}
		}
		return
	}
	if in.KYBStatus != nil {
		errs.add("kybStatus", "kybStatus is only for BUSINESS customers.")
	}
	if in.BusinessInfo != nil {
		errs.add("businessInfo", "businessInfo is only for BUSINESS customers.")
	}
}

// statusUnchanged refuses a status field that is not the customer's
// current status: statuses move only through verification.
func (in *CustomerInput) statusUnchanged(current Status, errs *fieldErrors) {
	for _, s := range []struct {
		name string
		v    *Status
	}{{"kycStatus", in.KYCStatus}, {"kybStatus", in.KYBStatus}} {
		if s.v != nil && *s.v != current && slices.Contains(statuses, string(*s.v)) {
			errs.add(s.name, "%s is set by verification, not by a request (it is %s).", s.name, current)
		}
	}
}

// checkCreate validates in as a create request.
func (in *CustomerInput) checkCreate(now time.Time) error {
	var errs fieldErrors
	in.check(now, &errs)
	if in.CustomerType == nil {
		errs.addc("customerType", &FieldConstraint{Enum: customerTypes}, "customerType is required: INDIVIDUAL or BUSINESS.")
		return errs.err()
	}
	t := *in.CustomerType
	if !slices.Contains(customerTypes, string(t)) {
		return errs.err()
	}
	in.onlyFor(t, &errs)
	in.statusUnchanged(StatusUnverified, &errs)
	if t == Individual && (in.IDType == nil) != (in.Identifier == nil) {
		if in.IDType == nil {
			errs.add("idType", "idType is required with identifier.")
		} else {
			errs.add("identifier", "identifier is required with idType.")
		}
	}
	if t == Business {
		b := in.BusinessInfo
		if b == nil {
			errs.add("businessInfo", "businessInfo is required for a BUSINESS customer, with legalName, country, taxId and incorporatedOn.")
		} else {
			for _, f := range []struct {
				name string
				sent bool
			}{{"legalName", b.LegalName != nil}, {"country", b.Country != nil}, {"taxId", b.TaxID != nil}, {"incorporatedOn", b.IncorporatedOn != nil}} {
				if !f.sent {
					errs.add("businessInfo."+f.name, "businessInfo.%s is required for a BUSINESS customer.", f.name)
				}
			}
		}
	}
	return errs.err()
}

// checkPatch validates what an update request can be checked for before the
// customer is read.
func (in *CustomerInput) checkPatch(now time.Time) error {
	var errs fieldErrors
	in.check(now, &errs)
	if in.Email != nil && in.PhoneNumber != nil {
		// Grid's rule (contact changes go one at a time).
		errs.add("phoneNumber", "Update email and phoneNumber in separate requests.")
	}
	return errs.err()
}

// checkAgainst validates an update request (checked by checkPatch)
// against the customer kept, prev. It refuses changes to what cannot
// change (customerType, platformCustomerId, region, the statuses) and
// fields of the other customer type, and checks an identifier sent
// without idType against the idType kept.
func (in *CustomerInput) checkAgainst(prev Customer) error {
	var errs fieldErrors
	t := prev.Type
	if t == "" {
		t = Individual
	}
	if in.CustomerType != nil && *in.CustomerType != t {
		errs.add("customerType", "customerType cannot be changed (it is %s).", t)
	}
	if in.PlatformCustomerID != nil && *in.PlatformCustomerID != prev.PlatformCustomerID {
		errs.add("platformCustomerId", "platformCustomerId cannot be changed.")
	}
	if in.Region != nil && *in.Region != prev.Region {
		errs.add("region", "region cannot be changed after the customer is created.")
	}
	in.onlyFor(t, &errs)
	in.statusUnchanged(prev.StatusOf(), &errs)
	if t == Individual {
		switch {
		case in.IDType != nil && in.Identifier == nil:
			errs.add("identifier", "identifier is required with idType.")
		case in.Identifier != nil && in.IDType == nil && prev.IDType == "":
			errs.add("idType", "idType is required with identifier.")
		case in.Identifier != nil && in.IDType == nil:
			// Checked against the idType kept.
			if id, ok := normalizeIdentifier(prev.IDType, in.Identifier.Reveal()); ok {
				*in.Identifier = Secret(id)
			} else {
				errs.add("identifier", "identifier is not a valid %s: send ###-##-#### (or 9 digits).", prev.IDType)
			}
		}
	}
	return errs.err()
}

// applyPatch returns prev changed by in (checked by checkPatch and
// checkAgainst); the sealed values are given (nil: not sent).
func (in *CustomerInput) applyPatch(prev Customer, identifier, taxID []byte) Customer {
	next := prev
	set(&next.UmaAddress, in.UmaAddress)
	if in.Currencies != nil {
		next.Currencies = slices.Clone(*in.Currencies)
	}
	set(&next.Email, in.Email)
	set(&next.PhoneNumber, in.PhoneNumber)
	set(&next.FullName, in.FullName)
	set(&next.BirthDate, in.BirthDate)
	set(&next.Nationality, in.Nationality)
	if in.Address != nil {
		a := *in.Address
		next.Address = &a
	}
	set(&next.IDType, in.IDType)
	if identifier != nil {
		next.IdentifierSealed = identifier
	}
	if in.BusinessInfo != nil {
		var b BusinessInfo
		if prev.BusinessInfo != nil {
			b = prev.BusinessInfo.clone()
		}
		in.BusinessInfo.mergeInto(&b)
		if prev.BusinessInfo != nil || !reflect.DeepEqual(b, BusinessInfo{}) {
			next.BusinessInfo = &b
		}
	}
	if taxID != nil {
		next.TaxIDSealed = taxID
	}
	return next
}

func set[T any](dst *T, src *T) {
	if src != nil {
		*dst = *src
	}
}

func setSlice(dst *[]string, src *[]string) {
	if src != nil {
		*dst = slices.Clone(*src)
	}
}

// mergeInto sets the fields b sends on dst (taxId aside: it is sealed).
func (b *BusinessInfoInput) mergeInto(dst *BusinessInfo) {
	set(&dst.LegalName, b.LegalName)
	set(&dst.DoingBusinessAs, b.DoingBusinessAs)
	set(&dst.Country, b.Country)
	set(&dst.RegistrationNumber, b.RegistrationNumber)
	set(&dst.IncorporatedOn, b.IncorporatedOn)
	set(&dst.EntityType, b.EntityType)
	setSlice(&dst.CountriesOfOperation, b.CountriesOfOperation)
	set(&dst.BusinessType, b.BusinessType)
	set(&dst.PurposeOfAccount, b.PurposeOfAccount)
	set(&dst.SourceOfFunds, b.SourceOfFunds)
	set(&dst.ExpectedMonthlyTransactionCount, b.ExpectedMonthlyTransactionCount)
	set(&dst.ExpectedMonthlyTransactionVolume, b.ExpectedMonthlyTransactionVolume)
	setSlice(&dst.ExpectedRecipientJurisdictions, b.ExpectedRecipientJurisdictions)
	set(&dst.NaicsCode, b.NaicsCode)
	setSlice(&dst.SourceOfFundsCategories, b.SourceOfFundsCategories)
	set(&dst.SourceOfFundsOtherDescription, b.SourceOfFundsOtherDescription)
	set(&dst.PurposeOfAccountOtherDescription, b.PurposeOfAccountOtherDescription)
	setSlice(&dst.ExpectedCounterpartyCountries, b.ExpectedCounterpartyCountries)
	set(&dst.PrimaryContactFirstName, b.PrimaryContactFirstName)
	set(&dst.PrimaryContactLastName, b.PrimaryContactLastName)
}

func (b BusinessInfo) clone() BusinessInfo {
	b.CountriesOfOperation = slices.Clone(b.CountriesOfOperation)
	b.ExpectedRecipientJurisdictions = slices.Clone(b.ExpectedRecipientJurisdictions)
	b.SourceOfFundsCategories = slices.Clone(b.SourceOfFundsCategories)
	b.ExpectedCounterpartyCountries = slices.Clone(b.ExpectedCounterpartyCountries)
	return b
}
