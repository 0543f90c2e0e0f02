package kyc

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"
)

// VerificationStatus is Grid's VerificationStatus.
type VerificationStatus string

const (
	VerificationResolveErrors       VerificationStatus = "RESOLVE_ERRORS"
	VerificationPendingManualReview VerificationStatus = "PENDING_MANUAL_REVIEW"
	VerificationInProgress          VerificationStatus = "IN_PROGRESS"
	VerificationApproved            VerificationStatus = "APPROVED"
	VerificationRejected            VerificationStatus = "REJECTED"
)

// verificationStatuses are the statuses a list may filter on (Grid's
// enum; READY_FOR_VERIFICATION is never taken here).
var verificationStatuses = []string{"RESOLVE_ERRORS", "PENDING_MANUAL_REVIEW", "IN_PROGRESS", "APPROVED", "REJECTED", "READY_FOR_VERIFICATION"}

// Open reports whether the provider is still deciding: a verification in
// this state blocks another submission of its customer.
func (s VerificationStatus) Open() bool {
	return s == VerificationInProgress || s == VerificationPendingManualReview
}

// VerificationIDPrefix starts every verification id.
const VerificationIDPrefix = "Verification:"

// Grid's VerificationErrorType values this service produces.
const (
	ErrMissingField               = "MISSING_FIELD"
	ErrInvalidField               = "INVALID_FIELD"
	ErrMissingLegalPresenceDoc    = "MISSING_LEGAL_PRESENCE_DOCUMENT"
	ErrMissingControlStructureDoc = "MISSING_CONTROL_STRUCTURE_DOCUMENT"
	ErrMissingOwnershipDoc        = "MISSING_OWNERSHIP_STRUCTURE_DOCUMENT"
	ErrMissingProofOfAddressDoc   = "MISSING_PROOF_OF_ADDRESS_DOCUMENT"
	ErrMissingIdentityDoc         = "MISSING_IDENTITY_DOCUMENT"
	ErrMissingGoodStandingDoc     = "MISSING_GOOD_STANDING_DOCUMENT"
	ErrInvalidDocument            = "INVALID_DOCUMENT"
	ErrExpiredDocument            = "EXPIRED_DOCUMENT"
	ErrPoorQualityDocument        = "POOR_QUALITY_DOCUMENT"
	ErrSuspectedFraudDocument     = "SUSPECTED_FRAUD_DOCUMENT"
	ErrWrongDocumentType          = "WRONG_DOCUMENT_TYPE"
	ErrIncompleteDocument         = "INCOMPLETE_DOCUMENT"
	ErrUnreadableDocument         = "UNREADABLE_DOCUMENT"
	ErrDocumentVerificationFailed = "DOCUMENT_VERIFICATION_FAILED"
	ErrApplicantSanctioned        = "APPLICANT_SANCTIONED"
	ErrApplicantFraud             = "APPLICANT_FRAUD"
	ErrApplicantCriminalRecord    = "APPLICANT_CRIMINAL_RECORD"
	ErrApplicantRejected          = "APPLICANT_REJECTED"
	ErrMissingBeneficialOwner     = "MISSING_BENEFICIAL_OWNER"
	ErrMissingControlPerson       = "MISSING_CONTROL_PERSON"
)

// The document categories a review needs, each with the types that
// satisfy it (Grid's table in VerificationError.acceptedDocumentTypes).
var (
	IdentityDocuments       = []string{"PASSPORT", "DRIVERS_LICENSE", "NATIONAL_ID"}
	LegalPresenceDocuments  = []string{"CERTIFICATE_OF_INCORPORATION", "ARTICLES_OF_INCORPORATION", "ARTICLES_OF_ASSOCIATION", "STATE_REGISTRY_EXCERPT"}
	ControlDocuments        = []string{"DIRECTOR_REGISTRY", "TRUST_AGREEMENT", "STATE_COMPANY_REGISTRY", "PARTNERSHIP_CONTROL_AGREEMENT"}
	OwnershipDocuments      = []string{"SHAREHOLDER_REGISTER", "TRUST_AGREEMENT", "PARTNERSHIP_AGREEMENT"}
	ProofOfAddressDocuments = []string{"PROOF_OF_ADDRESS", "UTILITY_BILL", "RENT_OR_LEASE_AGREEMENT", "ELECTRICITY_BILL", "BANK_STATEMENT", "TAX_RETURN"}
	GoodStandingDocuments   = []string{"GOOD_STANDING_CERTIFICATE", "STATE_REGISTRY_EXCERPT", "INCUMBENCY_CERTIFICATE"}
)

// twoSided are the identity documents with a back: both sides needed.
var twoSided = []string{"DRIVERS_LICENSE", "NATIONAL_ID"}

// ProofOfAddressMaxAge is how recent a proof of address must be. The file
// carries its date, which only the provider reads; here it is the upload
// (or replacement) that must lie within it.
const ProofOfAddressMaxAge = 90 * 24 * time.Hour

// VerificationError is Grid's VerificationError.
type VerificationError struct {
	ResourceID            string   `json:"resourceId"`
	Type                  string   `json:"type"`
	Field                 string   `json:"field,omitempty"`
	AcceptedDocumentTypes []string `json:"acceptedDocumentTypes,omitempty"`
	Reason                string   `json:"reason"`
}

// Verification is a submission of a customer for review, as kept.
type Verification struct {
	ID         string
	PlatformID string
	CustomerID string
	Status     VerificationStatus
	Errors     []VerificationError
	// Documents are the ids submitted with it (none when the checks
	// found errors).
	Documents []string
	// CustomerVersion is the version of the customer the checks passed
	// on: the submission job checks again when the customer moved since.
	CustomerVersion int64
	CreatedAt       time.Time
	UpdatedAt       time.Time
	// LastReviewAt is the provider time of the last decision applied.
	LastReviewAt time.Time
}

// ListPosition is v's place in its lists.
func (v Verification) ListPosition() string { return ListPosition(v.CreatedAt, v.ID) }

// VerificationView is Grid's Verification.
type VerificationView struct {
	ID                 string              `json:"id"`
	CustomerID         string              `json:"customerId"`
	VerificationStatus VerificationStatus  `json:"verificationStatus"`
	Errors             []VerificationError `json:"errors"`
	CreatedAt          string              `json:"createdAt"`
	UpdatedAt          string              `json:"updatedAt"`
}

// View is v in Grid's shape.
func (v Verification) View() VerificationView {
	errs := v.Errors
	if errs == nil {
		errs = []VerificationError{}
	}
	return VerificationView{ID: v.ID, CustomerID: v.CustomerID, VerificationStatus: v.Status, Errors: errs,
		CreatedAt: FormatTime(v.CreatedAt), UpdatedAt: FormatTime(v.UpdatedAt)}
}

// Requirements lists what stops customer c (with its documents docs)
// from being reviewed, one VerificationError per problem, in a stable
// order: fields first (in Grid's order), then documents. None: ready.
//
// docs may hold a business's owners' documents too (by Holder): each
// owner is checked with its own, as the resource of its errors.
func Requirements(c Customer, docs []Document, now time.Time) []VerificationError {
	r := requirements{id: c.ID, docs: heldBy(docs, c.ID), now: now}
	if c.Type == Business {
		r.business(c)
		r.structure(c)
		for _, o := range c.Owners {
			or := requirements{id: o.ID, docs: heldBy(docs, o.ID), now: now}
			or.owner(o)
			r.errs = append(r.errs, or.errs...)
		}
	} else {
		r.individual(c)
	}
	return r.errs
}

// heldBy returns the documents of holder.
func heldBy(docs []Document, holder string) []Document {
	var out []Document
	for _, d := range docs {
		if d.Holder == holder {
			out = append(out, d)
		}
	}
	return out
}

// structure checks the business's ownership and control (Grid's KYB
// rules): a control person, a beneficial owner, and no more than 100 %
// owned.
func (r *requirements) structure(c Customer) {
	control, ubo, total := false, false, 0
	for _, o := range c.Owners {
		control = control || o.Has(RoleControlPerson)
		ubo = ubo || o.Has(RoleUBO)
		total += o.OwnershipPercentage
	}
	if !control {
		r.errs = append(r.errs, VerificationError{ResourceID: r.id, Type: ErrMissingControlPerson,
			Reason: "A control person is required: add the individual who controls, manages or directs the business (POST /beneficial-owners with role CONTROL_PERSON)"})
	}
	if !ubo {
		r.errs = append(r.errs, VerificationError{ResourceID: r.id, Type: ErrMissingBeneficialOwner,
			Reason: "Every individual owning 25% or more is required: add them (POST /beneficial-owners with role UBO)"})
	}
	if total > 100 {
		r.errs = append(r.errs, VerificationError{ResourceID: r.id, Type: ErrInvalidField, Field: "beneficialOwners.ownershipPercentage",
			Reason: fmt.Sprintf("The owners' ownershipPercentage add up to %d%%, more than 100%%", total)})
	}
}

// owner checks one beneficial owner: its data (personalInfo.… paths) and
// its identity documents; a non-U.S. owner needs a passport and one more
// government-issued identity document (Grid's KYB requirements).
func (r *requirements) owner(o BeneficialOwner) {
	const pre = "personalInfo."
	for _, f := range []struct{ field, v, reason string }{
		{"firstName", o.FirstName, "First name is required for beneficial owners"},
		{"lastName", o.LastName, "Last name is required for beneficial owners"},
		{"birthDate", o.BirthDate, "Date of birth is required for beneficial owners"},
		{"nationality", o.Nationality, "Nationality is required for beneficial owners"},
		{"idType", o.IDType, "Identifier type is required for beneficial owners"},
	} {
		if f.v == "" {
			r.errs = append(r.errs, VerificationError{ResourceID: r.id, Type: ErrMissingField, Field: pre + f.field, Reason: f.reason})
		}
	}
	if len(o.IdentifierSealed) == 0 {
		r.errs = append(r.errs, VerificationError{ResourceID: r.id, Type: ErrMissingField, Field: pre + "identifier", Reason: "Identifier is required for beneficial owners"})
	}
	for _, f := range []struct{ field, v, name string }{
		{"line1", o.Address.Line1, "line 1"}, {"city", o.Address.City, "city"}, {"postalCode", o.Address.PostalCode, "postal code"}, {"country", o.Address.Country, "country"},
	} {
		if f.v == "" {
			r.errs = append(r.errs, VerificationError{ResourceID: r.id, Type: ErrMissingField, Field: pre + "address." + f.field,
				Reason: "Address " + f.name + " is required for beneficial owners"})
		}
	}
	if o.StatusOf() == StatusRejected && o.RejectType != "RETRY" {
		r.errs = append(r.errs, VerificationError{ResourceID: r.id, Type: ErrApplicantRejected,
			Reason: "This beneficial owner was rejected with a final decision; the business cannot be verified with it"})
	}
	before := len(r.errs)
	r.identityDocument()
	if len(r.errs) > before || o.Nationality == "" || o.Nationality == "US" {
		return
	}
	// Besides the passport, a complete second document: both sides of a
	// national id or driver's license (every other identity document has
	// two).
	ids := r.of(IdentityDocuments)
	passport := slices.ContainsFunc(ids, func(d Document) bool { return d.Type == "PASSPORT" })
	complete := slices.ContainsFunc(twoSided, func(t string) bool {
		return slices.ContainsFunc(ids, func(d Document) bool { return string(d.Type) == t && d.Side == SideFront }) &&
			slices.ContainsFunc(ids, func(d Document) bool { return string(d.Type) == t && d.Side == SideBack })
	})
	if !passport || !complete {
		r.missingDoc(ErrMissingIdentityDoc, IdentityDocuments,
			"A non-U.S. beneficial owner needs a passport and one more government-issued identity document, complete (both sides of a national id or a driver's license)")
	}
}

type requirements struct {
	id   string
	docs []Document
	now  time.Time
	errs []VerificationError
}

func (r *requirements) missing(field, reason string) {
	r.errs = append(r.errs, VerificationError{ResourceID: r.id, Type: ErrMissingField, Field: field, Reason: reason})
}

func (r *requirements) missingDoc(typ string, accepted []string, reason string) {
	r.errs = append(r.errs, VerificationError{ResourceID: r.id, Type: typ, AcceptedDocumentTypes: slices.Clone(accepted), Reason: reason})
}

// of returns the holder's documents of the given types.
func (r *requirements) of(types []string) []Document {
	var out []Document
	for _, d := range r.docs {
		if slices.Contains(types, string(d.Type)) {
			out = append(out, d)
		}
	}
	return out
}

func (r *requirements) address(a *Address, what string) {
	if a == nil {
		r.missing("customer.address", what+" address is required")
		return
	}
	for _, f := range []struct{ field, v, name string }{
		{"line1", a.Line1, "line 1"}, {"city", a.City, "city"}, {"postalCode", a.PostalCode, "postal code"}, {"country", a.Country, "country"},
	} {
		if f.v == "" {
			r.missing("customer.address."+f.field, what+" address "+f.name+" is required")
		}
	}
}

func (r *requirements) individual(c Customer) {
	if c.FullName == "" {
		r.missing("customer.fullName", "Full name is required")
	}
	if c.BirthDate == "" {
		r.missing("customer.birthDate", "Birth date is required")
	}
	if c.Nationality == "" {
		r.missing("customer.nationality", "Nationality is required")
	}
	if c.IDType == "" {
		r.missing("customer.idType", "Identifier type is required")
	}
	if len(c.IdentifierSealed) == 0 {
		r.missing("customer.identifier", "Identifier is required")
	}
	r.address(c.Address, "Residential")
	r.identityDocument()
}

// identityDocument wants a passport, or both sides of a driver's license
// or national id.
func (r *requirements) identityDocument() {
	ids := r.of(IdentityDocuments)
	incomplete := map[string]Document{}
	for _, d := range ids {
		if !slices.Contains(twoSided, string(d.Type)) {
			return
		}
		sides := map[string]bool{}
		for _, o := range ids {
			if o.Type == d.Type {
				sides[o.Side] = true
			}
		}
		if sides[SideFront] && sides[SideBack] {
			return
		}
		if _, seen := incomplete[string(d.Type)]; !seen {
			incomplete[string(d.Type)] = d
		}
	}
	if len(incomplete) == 0 {
		r.missingDoc(ErrMissingIdentityDoc, IdentityDocuments, "Identity document is required")
		return
	}
	for _, t := range twoSided {
		if d, ok := incomplete[t]; ok {
			r.errs = append(r.errs, VerificationError{ResourceID: d.ID, Type: ErrIncompleteDocument,
				Reason: "Both sides of the " + t + " are required: upload its FRONT and its BACK (side)"})
		}
	}
}

func (r *requirements) business(c Customer) {
	b := c.BusinessInfo
	if b == nil {
		b = &BusinessInfo{}
	}
	if b.LegalName == "" {
		r.missing("customer.businessInfo.legalName", "Legal name is required")
	}
	r.address(c.Address, "Business")
	if len(b.CountriesOfOperation) == 0 {
		r.missing("customer.businessInfo.countriesOfOperation", "Countries of operation are required")
	}
	if len(c.TaxIDSealed) == 0 {
		country := b.Country
		if country == "" && c.Address != nil {
			country = c.Address.Country
		}
		switch {
		case country == "US" || country == "":
			r.missing("customer.businessInfo.taxId", "Tax identification number is required")
		case len(r.of(GoodStandingDocuments)) == 0:
			r.missingDoc(ErrMissingGoodStandingDoc, GoodStandingDocuments,
				"A business without a tax identification number needs a document certifying its existence")
		}
	}
	if b.IncorporatedOn == "" {
		r.missing("customer.businessInfo.incorporatedOn", "Date of incorporation is required")
	}
	if len(r.of(LegalPresenceDocuments)) == 0 {
		r.missingDoc(ErrMissingLegalPresenceDoc, LegalPresenceDocuments, "Legal presence document is required")
	}
	if len(r.of(OwnershipDocuments)) == 0 {
		r.missingDoc(ErrMissingOwnershipDoc, OwnershipDocuments, "Ownership structure document is required")
	}
	if len(r.of(ControlDocuments)) == 0 {
		r.missingDoc(ErrMissingControlStructureDoc, ControlDocuments, "Control structure document is required")
	}
	proofs := r.of(ProofOfAddressDocuments)
	var stale *Document
	for i, d := range proofs {
		if r.now.Sub(d.UpdatedAt) <= ProofOfAddressMaxAge {
			return
		}
		stale = &proofs[i]
	}
	if stale != nil {
		r.errs = append(r.errs, VerificationError{ResourceID: stale.ID, Type: ErrExpiredDocument,
			AcceptedDocumentTypes: slices.Clone(ProofOfAddressDocuments),
			Reason:                "Proof of address must be dated within the last 3 months: upload a recent one"})
		return
	}
	r.missingDoc(ErrMissingProofOfAddressDoc, ProofOfAddressDocuments, "Proof of address document is required")
}

// ErrVerificationExists is a store's answer to a verification whose id is
// taken (an earlier attempt of the same request wrote it).
var ErrVerificationExists = errors.New("kyc: a verification with this id exists")

// VerificationRange asks for up to Limit verifications of PlatformID (of
// CustomerID alone when set) in list order after After.
type VerificationRange struct {
	PlatformID string
	CustomerID string
	After      string
	Limit      int
}

// Submission is what a complete verification changes besides itself:
// the customer's status (conditioned on the customer as read), its
// documents, locked, and a business's owners: each of Customer.Owners
// goes PENDING (its last review kept), as the provider reviews them too.
type Submission struct {
	Customer  Customer // as read
	Status    Status   // the customer's new status (PENDING)
	UpdatedAt time.Time
	Documents []Document // as read: each held at its version and locked (SubmittedIn) unless it is already
}

// VerificationWrite is one verification's creation: the verification,
// its webhooks and, when complete, its submission, all or nothing.
type VerificationWrite struct {
	Verification Verification
	Notices      []Notice
	Submission   *Submission
}

// VerificationRecords keeps verifications.
type VerificationRecords interface {
	// VerificationRecord reads one consistently; a missing one is
	// VerificationNotFound().
	VerificationRecord(ctx context.Context, id string) (Verification, error)
	// VerificationRange returns verifications in list order; more is
	// false when none follow. It may be eventually consistent.
	VerificationRange(ctx context.Context, q VerificationRange) (vs []Verification, more bool, err error)
	// WriteVerification writes w atomically. With a submission, the
	// customer's status becomes Status and its current verification
	// w.Verification, and each document not locked yet is marked
	// SubmittedIn, only if the customer's version, status and current
	// verification, and each document's version, are as read: else
	// ErrChanged. ErrVerificationExists when the id is taken.
	WriteVerification(ctx context.Context, w VerificationWrite) error
}

// VerificationNotFound is the answer for a verification that is not the
// platform's.
func VerificationNotFound() *Error { return Errorf(CodeReferenceNotFound, "Verification not found.") }
