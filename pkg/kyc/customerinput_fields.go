package kyc

import (
	"fmt"
	"net/mail"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Enums of Grid's schemas.
var (
	identificationTypes = []string{"SSN", "ITIN", "EIN", "NON_US_TAX_ID"}
	// individualIDTypes are the idTypes Grid accepts for an individual.
	individualIDTypes = []string{"SSN", "ITIN"}
	customerTypes     = []string{string(Individual), string(Business)}
	statuses          = []string{string(StatusUnverified), string(StatusPending), string(StatusApproved), string(StatusRejected), string(StatusHold)}
)

var (
	e164Pattern     = regexp.MustCompile(`^\+[1-9]\d{1,14}$`)
	currencyPattern = regexp.MustCompile(`^[A-Z][A-Z0-9]{1,9}$`)
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
