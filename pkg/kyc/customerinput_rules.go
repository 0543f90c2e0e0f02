package kyc

import (
	"slices"
	"time"
)

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
