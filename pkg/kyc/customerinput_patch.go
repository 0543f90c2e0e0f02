package kyc

import (
	"reflect"
	"slices"
)

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
