package kyc

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
)

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

// Enums of Grid's BusinessInfo.
var (
	entityTypes = []string{"SOLE_PROPRIETORSHIP", "PARTNERSHIP", "LLC", "CORPORATION", "S_CORPORATION",
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
)

var (
	naicsPattern = regexp.MustCompile(`^\d{2,6}$`)
	taxIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9 ./-]{0,63}$`)
)

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
