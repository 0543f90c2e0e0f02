package kyc

import (
	"context"
	"errors"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// OwnerIDPrefix starts every beneficial owner id.
const OwnerIDPrefix = "BeneficialOwner:"

// MaxOwnersPerBusiness bounds a business's beneficial owners: they are
// kept, read and answered with the business (in its item, its GET, its
// list entry and its webhooks' data). Twenty covers every owner of 25 %
// or more (at most four), a control person and a board; a business at
// the bound gets 400 on another create (an owner can be changed with
// PATCH; Grid has no DELETE).
const MaxOwnersPerBusiness = 20

// MaxSubmittedDocuments bounds the documents one verification submits
// (the business's and its owners'): each is locked in the verification's
// one write, which also carries the verification, the customer and two
// webhooks (DynamoDB: 100 actions per transaction).
const MaxSubmittedDocuments = 90

// Grid's BeneficialOwnerRole values.
const (
	RoleUBO            = "UBO"
	RoleDirector       = "DIRECTOR"
	RoleCompanyOfficer = "COMPANY_OFFICER"
	RoleControlPerson  = "CONTROL_PERSON"
	RoleTrustee        = "TRUSTEE"
	RoleGeneralPartner = "GENERAL_PARTNER"
)

// OwnerRoles are Grid's BeneficialOwnerRole values, in Grid's order.
var OwnerRoles = []string{RoleUBO, RoleDirector, RoleCompanyOfficer, RoleControlPerson, RoleTrustee, RoleGeneralPartner}

// ownerIDTypes are the idTypes accepted for an owner: a person's (EIN
// names a business).
var ownerIDTypes = []string{"SSN", "ITIN", "NON_US_TAX_ID"}

// nonUSIdentifier is the form of a NON_US_TAX_ID (or a passport number
// given as one): letters, digits and the separators ids are printed with.
var nonUSIdentifier = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9 ./-]{0,62}[A-Za-z0-9]$|^[A-Za-z0-9]$`)

// BeneficialOwner is a person who owns or controls a business customer
// (Grid's BeneficialOwner), kept with the business. The identifier is
// held only as ciphertext, sealed for the owner's id and the platform.
type BeneficialOwner struct {
	ID                  string
	Roles               []string
	OwnershipPercentage int
	FirstName           string
	MiddleName          string
	LastName            string
	BirthDate           string // YYYY-MM-DD
	Nationality         string
	Email               string
	PhoneNumber         string
	Address             Address
	IDType              string
	IdentifierSealed    []byte
	CountryOfIssuance   string
	CreatedAt           time.Time
	UpdatedAt           time.Time

	// KYCStatus ("" reads UNVERIFIED), LastReviewAt, RejectType and
	// RejectLabels are the reviews' (the submission sets PENDING, the
	// provider's decisions the rest); a platform's write never sets them.
	KYCStatus    Status
	LastReviewAt time.Time
	RejectType   string
	RejectLabels []string
}

// StatusOf is o's kycStatus (unset is UNVERIFIED).
func (o BeneficialOwner) StatusOf() Status {
	if o.KYCStatus == "" {
		return StatusUnverified
	}
	return o.KYCStatus
}

// ListPosition is o's place in its business's list.
func (o BeneficialOwner) ListPosition() string { return ListPosition(o.CreatedAt, o.ID) }

// Has reports whether o has role.
func (o BeneficialOwner) Has(role string) bool { return slices.Contains(o.Roles, role) }

// Owner returns c's owner id.
func (c Customer) Owner(id string) (BeneficialOwner, bool) {
	for _, o := range c.Owners {
		if o.ID == id {
			return o, true
		}
	}
	return BeneficialOwner{}, false
}

// SubmittedOwner is o as a submission of its business leaves it: under
// review (PENDING, its reasons gone), unless approved already (a decision
// that stands; the provider is asked again and may move it). The stores
// write it so.
func SubmittedOwner(o BeneficialOwner) BeneficialOwner {
	if o.StatusOf() == StatusApproved {
		return o
	}
	o.KYCStatus, o.RejectType, o.RejectLabels = StatusPending, "", nil
	return o
}

// ownerToVerify reports whether a business has an owner no review has
// seen (added after its decision): an APPROVED business with one may be
// submitted again, so that no approved business keeps an owner the
// provider was never given.
func (c Customer) ownerToVerify() bool {
	return slices.ContainsFunc(c.Owners, func(o BeneficialOwner) bool { return o.StatusOf() == StatusUnverified })
}

// CloneOwners copies owners deeply (stores hand out copies).
func CloneOwners(owners []BeneficialOwner) []BeneficialOwner {
	if owners == nil {
		return nil
	}
	out := make([]BeneficialOwner, len(owners))
	for i, o := range owners {
		o.Roles = slices.Clone(o.Roles)
		o.IdentifierSealed = slices.Clone(o.IdentifierSealed)
		o.RejectLabels = slices.Clone(o.RejectLabels)
		out[i] = o
	}
	return out
}

// OwnerView is Grid's BeneficialOwner as answered: personalInfo without
// identifier, which is write-only here as the customer's is.
type OwnerView struct {
	ID                  string           `json:"id"`
	CustomerID          string           `json:"customerId"`
	Roles               []string         `json:"roles"`
	OwnershipPercentage int              `json:"ownershipPercentage"`
	PersonalInfo        PersonalInfoView `json:"personalInfo"`
	KYCStatus           Status           `json:"kycStatus"`
	CreatedAt           string           `json:"createdAt"`
	UpdatedAt           string           `json:"updatedAt"`
}

// PersonalInfoView is Grid's BeneficialOwnerPersonalInfo without
// identifier.
type PersonalInfoView struct {
	FirstName         string  `json:"firstName"`
	MiddleName        string  `json:"middleName,omitempty"`
	LastName          string  `json:"lastName"`
	BirthDate         string  `json:"birthDate"`
	Nationality       string  `json:"nationality"`
	Email             string  `json:"email,omitempty"`
	PhoneNumber       string  `json:"phoneNumber,omitempty"`
	Address           Address `json:"address"`
	IDType            string  `json:"idType"`
	CountryOfIssuance string  `json:"countryOfIssuance,omitempty"`
}

// OwnerViewOf is o (an owner of business customerID) in Grid's shape.
func OwnerViewOf(customerID string, o BeneficialOwner) OwnerView {
	roles := o.Roles
	if roles == nil {
		roles = []string{}
	}
	return OwnerView{ID: o.ID, CustomerID: customerID, Roles: roles, OwnershipPercentage: o.OwnershipPercentage,
		PersonalInfo: PersonalInfoView{FirstName: o.FirstName, MiddleName: o.MiddleName, LastName: o.LastName,
			BirthDate: o.BirthDate, Nationality: o.Nationality, Email: o.Email, PhoneNumber: o.PhoneNumber,
			Address: o.Address, IDType: o.IDType, CountryOfIssuance: o.CountryOfIssuance},
		KYCStatus: o.StatusOf(), CreatedAt: FormatTime(o.CreatedAt), UpdatedAt: FormatTime(o.UpdatedAt)}
}

// OwnerViews are c's owners in Grid's shape, in creation order.
func OwnerViews(c Customer) []OwnerView {
	out := make([]OwnerView, 0, len(c.Owners))
	for _, o := range c.Owners {
		out = append(out, OwnerViewOf(c.ID, o))
	}
	return out
}

// OwnerInput is the body of POST /beneficial-owners (Grid's
// BeneficialOwnerCreateRequest) and of PATCH /beneficial-owners/{id}
// (BeneficialOwnerUpdateRequest, without customerId). A nil field was not
// sent.
type OwnerInput struct {
	CustomerID *string   `json:"customerId"`
	Roles      *[]string `json:"roles"`
	// OwnershipPercentage is read as a number (JSON Schema's integer is a
	// number without a fraction, however spelled: 60, 6e1, 60.0) and
	// checked whole by check.
	OwnershipPercentage *float64           `json:"ownershipPercentage"`
	PersonalInfo        *PersonalInfoInput `json:"personalInfo"`
}

// PersonalInfoInput is Grid's BeneficialOwnerPersonalInfo(Update).
type PersonalInfoInput struct {
	FirstName   *string  `json:"firstName"`
	MiddleName  *string  `json:"middleName"`
	LastName    *string  `json:"lastName"`
	BirthDate   *string  `json:"birthDate"`
	Nationality *string  `json:"nationality"`
	Email       *string  `json:"email"`
	PhoneNumber *string  `json:"phoneNumber"`
	Address     *Address `json:"address"`
	IDType      *string  `json:"idType"`
	// Identifier is write-only: sealed, never answered.
	Identifier        *Secret `json:"identifier"`
	CountryOfIssuance *string `json:"countryOfIssuance"`
}

// ownerReadOnly are the answer's fields a request may not set.
var ownerReadOnly = func() map[string]string {
	m := map[string]string{}
	for _, f := range []string{"id", "kycStatus", "createdAt", "updatedAt"} {
		m[f] = f + " is read-only: it is set by the service, not by a request."
	}
	return m
}()

// ParseOwnerCreate reads POST /beneficial-owners' body strictly.
func ParseOwnerCreate(body []byte) (OwnerInput, error) {
	var in OwnerInput
	if err := decodeStrict(body, &in, ownerReadOnly); err != nil {
		return OwnerInput{}, err
	}
	return in, nil
}

// ParseOwnerUpdate reads PATCH /beneficial-owners/{id}'s body strictly:
// customerId is fixed.
func ParseOwnerUpdate(body []byte) (OwnerInput, error) {
	refused := map[string]string{"customerId": "customerId is fixed: an owner stays with the business it was created for."}
	for k, v := range ownerReadOnly {
		refused[k] = v
	}
	var in OwnerInput
	if err := decodeStrict(body, &in, refused); err != nil {
		return OwnerInput{}, err
	}
	return in, nil
}

// check validates every field in sends and normalizes the identifier;
// create says whether Grid's required fields must be there.
func (in *OwnerInput) check(create bool, now time.Time) error {
	var errs fieldErrors
	if create {
		switch {
		case in.CustomerID == nil:
			errs.add("customerId", "customerId is required: the id of the business customer the owner belongs to.")
		case CheckCustomerID(*in.CustomerID) != nil || !strings.HasPrefix(*in.CustomerID, CustomerIDPrefix):
			errs.add("customerId", "customerId must be a customer id (Customer:…).")
		}
	}
	if in.Roles == nil && create {
		errs.add("roles", "roles is required: one or more of %s.", strings.Join(OwnerRoles, ", "))
	}
	if in.Roles != nil {
		roles := *in.Roles
		if len(roles) == 0 {
			errs.addc("roles", &FieldConstraint{Enum: OwnerRoles}, "roles must name at least one role: %s.", strings.Join(OwnerRoles, ", "))
		}
		for i, r := range roles {
			f := "roles[" + strconv.Itoa(i) + "]"
			switch {
			case !slices.Contains(OwnerRoles, r):
				errs.addc(f, &FieldConstraint{Enum: OwnerRoles}, "%s must be one of %s.", f, strings.Join(OwnerRoles, ", "))
			case slices.Contains(roles[:i], r):
				errs.add(f, "%s repeats a role already listed.", f)
			}
		}
	}
	if in.OwnershipPercentage == nil && create {
		errs.add("ownershipPercentage", "ownershipPercentage is required: a whole number from 0 to 100.")
	}
	if p := in.OwnershipPercentage; p != nil && (*p < 0 || *p > 100 || *p != math.Trunc(*p)) {
		errs.add("ownershipPercentage", "ownershipPercentage must be a whole number from 0 to 100.")
	}
	if in.PersonalInfo == nil {
		if create {
			errs.add("personalInfo", "personalInfo is required: the owner's name, birth date, nationality, address and identification.")
		}
		return errs.err()
	}
	in.PersonalInfo.check(&errs, create, now)
	return errs.err()
}

func (p *PersonalInfoInput) check(errs *fieldErrors, create bool, now time.Time) {
	const pre = "personalInfo."
	required := []struct {
		name string
		set  bool
	}{{"firstName", p.FirstName != nil}, {"lastName", p.LastName != nil}, {"birthDate", p.BirthDate != nil},
		{"nationality", p.Nationality != nil}, {"address", p.Address != nil}, {"idType", p.IDType != nil}, {"identifier", p.Identifier != nil}}
	if create {
		for _, r := range required {
			if !r.set {
				errs.add(pre+r.name, "%s%s is required.", pre, r.name)
			}
		}
	}
	for _, f := range []struct {
		name string
		v    *string
	}{{"firstName", p.FirstName}, {"middleName", p.MiddleName}, {"lastName", p.LastName}} {
		if f.v != nil {
			checkText(errs, pre+f.name, *f.v, MaxName)
		}
	}
	if p.BirthDate != nil {
		checkDate(errs, pre+"birthDate", *p.BirthDate, time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC), now)
	}
	if p.Nationality != nil {
		checkCountry(errs, pre+"nationality", *p.Nationality)
	}
	if p.CountryOfIssuance != nil {
		checkCountry(errs, pre+"countryOfIssuance", *p.CountryOfIssuance)
	}
	if p.Email != nil && !validEmail(*p.Email) {
		errs.addc(pre+"email", &FieldConstraint{Format: "email", MaxLength: 254}, "%semail must be an email address such as name@example.com.", pre)
	}
	if p.PhoneNumber != nil && !e164Pattern.MatchString(*p.PhoneNumber) {
		errs.addc(pre+"phoneNumber", &FieldConstraint{Format: "e.164", Pattern: e164Pattern.String()},
			"%sphoneNumber must be in E.164 format: + then up to 15 digits, such as +14155551234.", pre)
	}
	if p.Address != nil {
		checkAddress(errs, pre+"address", *p.Address)
	}
	if p.IDType != nil && !slices.Contains(ownerIDTypes, *p.IDType) {
		errs.addc(pre+"idType", &FieldConstraint{Enum: ownerIDTypes}, "%sidType must be SSN, ITIN or NON_US_TAX_ID (an owner is a person: EIN names a business).", pre)
	}
	if p.Identifier != nil && p.IDType == nil && !create {
		errs.add(pre+"identifier", "%sidentifier must be sent with its %sidType.", pre, pre)
		return
	}
	if p.Identifier != nil && p.IDType != nil && slices.Contains(ownerIDTypes, *p.IDType) {
		p.normalizeIdentifier(errs, *p.IDType)
	}
	if p.IDType != nil && p.Identifier == nil && !create {
		errs.add(pre+"idType", "%sidType changes only with a new %sidentifier: send both.", pre, pre)
	}
}

func (p *PersonalInfoInput) normalizeIdentifier(errs *fieldErrors, idType string) {
	const f = "personalInfo.identifier"
	v := p.Identifier.Reveal()
	if idType == "NON_US_TAX_ID" {
		if !nonUSIdentifier.MatchString(v) {
			errs.add(f, "%s must be 1 to 64 letters and digits (spaces, '.', '/' and '-' between them).", f)
		}
		return
	}
	if n, ok := normalizeIdentifier(idType, v); ok {
		*p.Identifier = Secret(n)
		return
	}
	errs.addc(f, &FieldConstraint{Format: "us-" + strings.ToLower(idType), Pattern: `^\d{3}-\d{2}-\d{4}$`},
		"%s is not a valid %s: send ###-##-#### (or 9 digits).", f, idType)
}

// apply merges in into o (Grid's rules: only fields sent change; address
// and roles are replaced whole); identifier is the sealed one to keep (nil:
// unchanged).
func (in *OwnerInput) apply(o BeneficialOwner, identifier []byte) BeneficialOwner {
	if in.Roles != nil {
		o.Roles = slices.Clone(*in.Roles)
	}
	if in.OwnershipPercentage != nil {
		o.OwnershipPercentage = int(*in.OwnershipPercentage) // whole, 0–100: check
	}
	if p := in.PersonalInfo; p != nil {
		set(&o.FirstName, p.FirstName)
		set(&o.MiddleName, p.MiddleName)
		set(&o.LastName, p.LastName)
		set(&o.BirthDate, p.BirthDate)
		set(&o.Nationality, p.Nationality)
		set(&o.Email, p.Email)
		set(&o.PhoneNumber, p.PhoneNumber)
		set(&o.Address, p.Address)
		set(&o.IDType, p.IDType)
		set(&o.CountryOfIssuance, p.CountryOfIssuance)
	}
	if identifier != nil {
		o.IdentifierSealed = identifier
	}
	return o
}

// sameOwner reports whether a change leaves an owner's data as it was.
func sameOwner(a, b BeneficialOwner) bool {
	return slices.Equal(a.Roles, b.Roles) && a.OwnershipPercentage == b.OwnershipPercentage &&
		a.FirstName == b.FirstName && a.MiddleName == b.MiddleName && a.LastName == b.LastName &&
		a.BirthDate == b.BirthDate && a.Nationality == b.Nationality && a.Email == b.Email &&
		a.PhoneNumber == b.PhoneNumber && a.Address == b.Address && a.IDType == b.IDType &&
		string(a.IdentifierSealed) == string(b.IdentifierSealed) && a.CountryOfIssuance == b.CountryOfIssuance
}

// ErrOwnerExists is a store's answer to an owner insert whose id is taken
// (an earlier attempt of the same create wrote it).
var ErrOwnerExists = errors.New("kyc: a beneficial owner with this id exists")

// OwnerRecords keeps beneficial owners, with their business (Customer.Owners,
// written by CustomerRecords.UpdateCustomer like the rest of its data),
// and finds an owner's business.
type OwnerRecords interface {
	// OwnerCustomerID returns the id of the business owner id belongs to,
	// with a consistent read; an unknown owner is OwnerNotFound().
	OwnerCustomerID(ctx context.Context, ownerID string) (string, error)
	// InsertOwner writes next (prev with owner ownerID added, its version
	// prev.Version+1) over prev as UpdateCustomer does, and records the
	// owner's business, all or nothing: ErrOwnerExists when the owner id
	// is taken (checked first), ErrChanged when the customer moved (its
	// version, or its status: a submission does not move the version).
	InsertOwner(ctx context.Context, prev, next Customer, ownerID string) error
}

// OwnerNotFound is the answer for an owner that is not the platform's.
func OwnerNotFound() *Error { return Errorf(CodeReferenceNotFound, "Beneficial owner not found.") }
