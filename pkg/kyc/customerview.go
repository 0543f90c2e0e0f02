package kyc

import "strings"

// CustomerView is a customer as the platform API answers it: Grid's
// IndividualCustomer or BusinessCustomer (api/openapi.yaml,
// PlatformCustomer). Write-only data (identifier, businessInfo.taxId) has
// no field here, so no answer can carry it.
type CustomerView struct {
	ID                 string        `json:"id"`
	PlatformCustomerID string        `json:"platformCustomerId"`
	CustomerType       CustomerType  `json:"customerType"`
	KYCStatus          Status        `json:"kycStatus,omitempty"`
	KYBStatus          Status        `json:"kybStatus,omitempty"`
	UmaAddress         string        `json:"umaAddress"`
	Region             string        `json:"region,omitempty"`
	Currencies         []string      `json:"currencies,omitempty"`
	Email              string        `json:"email,omitempty"`
	PhoneNumber        string        `json:"phoneNumber,omitempty"`
	FullName           string        `json:"fullName,omitempty"`
	BirthDate          string        `json:"birthDate,omitempty"`
	Nationality        string        `json:"nationality,omitempty"`
	Address            *Address      `json:"address,omitempty"`
	IDType             string        `json:"idType,omitempty"`
	BusinessInfo       *BusinessInfo `json:"businessInfo,omitempty"`
	// BeneficialOwners is a business's owners (an empty list for one
	// with none; absent for individuals).
	BeneficialOwners *[]OwnerView `json:"beneficialOwners,omitempty"`
	// ContactVerification is present only where a channel is required.
	ContactVerification *ContactVerificationView `json:"contactVerification,omitempty"`
	CreatedAt           string                   `json:"createdAt,omitempty"`
	UpdatedAt           string                   `json:"updatedAt,omitempty"`
	IsDeleted           bool                     `json:"isDeleted"`
}

// ContactVerificationView is Grid's Customer.contactVerification.
type ContactVerificationView struct {
	Email string `json:"email,omitempty"`
	Phone string `json:"phone,omitempty"`
}

// View is r in Grid's shape. A customer written before the platform API
// (by hand, without platformCustomerId or umaAddress, which Grid always
// answers) gets them derived from its id: the UUID of the id as
// platformCustomerId, GeneratedUmaAddress as umaAddress. The status of the
// other kind (kybStatus of an individual) is left out, as Grid's
// IndividualCustomer and BusinessCustomer have only their own.
func (s *Customers) View(r Customer) CustomerView {
	t := r.Type
	if t == "" {
		t = Individual
	}
	v := CustomerView{
		ID: r.ID, PlatformCustomerID: r.PlatformCustomerID, CustomerType: t, UmaAddress: r.UmaAddress,
		Region: r.Region, Currencies: r.Currencies, Email: r.Email, PhoneNumber: r.PhoneNumber,
		Address: r.Address, IsDeleted: r.IsDeleted,
	}
	if v.PlatformCustomerID == "" {
		v.PlatformCustomerID = strings.TrimPrefix(r.ID, CustomerIDPrefix)
	}
	if v.UmaAddress == "" {
		v.UmaAddress = GeneratedUmaAddress(r.ID, s.umaDomain())
	}
	if t == Business {
		v.KYBStatus = r.StatusOf()
		v.BusinessInfo = r.BusinessInfo
		owners := OwnerViews(r)
		v.BeneficialOwners = &owners
	} else {
		v.KYCStatus = r.StatusOf()
		v.FullName, v.BirthDate, v.Nationality, v.IDType = r.FullName, r.BirthDate, r.Nationality, r.IDType
	}
	if cv := r.ContactVerification; cv.Email != "" || cv.Phone != "" {
		v.ContactVerification = &ContactVerificationView{Email: cv.Email, Phone: cv.Phone}
	}
	if !r.CreatedAt.IsZero() {
		v.CreatedAt = FormatTime(r.CreatedAt)
	}
	if !r.UpdatedAt.IsZero() {
		v.UpdatedAt = FormatTime(r.UpdatedAt)
	}
	return v
}
