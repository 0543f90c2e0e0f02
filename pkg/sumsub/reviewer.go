package sumsub

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/grid-kyc/kyc-link/pkg/kyc"
)

// Reviewer hands verifications to Sumsub's API-driven review
// (kyc.ReviewSubmitter): the customer's applicant (the one the hosted link
// uses: externalUserId is the customer id) with its data, each document,
// a business's beneficial owners (each an applicant linked to the
// business's), then the reviews. Each step is safe to repeat.
type Reviewer struct {
	Client      *Client
	Credentials CredentialSource
	// Levels maps a customer type to a Sumsub level name; a business's
	// beneficial owners are applicants at the Individual level.
	Levels map[kyc.CustomerType]string
}

var _ kyc.ReviewSubmitter = (*Reviewer)(nil)

// idDocTypes maps Grid's document types to Sumsub's idDocType for an
// individual; companyDocTypes for a company (Sumsub's KYB document
// types). A type in neither goes as OTHER.
var (
	idDocTypes = map[kyc.DocumentType]string{
		"PASSPORT": "PASSPORT", "DRIVERS_LICENSE": "DRIVERS", "NATIONAL_ID": "ID_CARD", "SELFIE": "SELFIE",
		"PROOF_OF_ADDRESS": "UTILITY_BILL", "UTILITY_BILL": "UTILITY_BILL", "ELECTRICITY_BILL": "UTILITY_BILL",
		"RENT_OR_LEASE_AGREEMENT": "UTILITY_BILL", "BANK_STATEMENT": "UTILITY_BILL", "TAX_RETURN": "UTILITY_BILL",
	}
	companyDocTypes = map[kyc.DocumentType]string{
		"CERTIFICATE_OF_INCORPORATION": "INCORPORATION_CERT", "ARTICLES_OF_INCORPORATION": "INCORPORATION_ARTICLES",
		"ARTICLES_OF_ASSOCIATION": "INCORPORATION_ARTICLES", "STATE_REGISTRY_EXCERPT": "STATE_REGISTRY",
		"STATE_COMPANY_REGISTRY": "STATE_REGISTRY", "GOOD_STANDING_CERTIFICATE": "GOOD_STANDING_CERT",
		"INFORMATION_STATEMENT": "INFORMATION_STATEMENT", "INCUMBENCY_CERTIFICATE": "INCUMBENCY_CERT",
		"SHAREHOLDER_REGISTER": "SHAREHOLDER_REGISTRY", "DIRECTOR_REGISTRY": "DIRECTORS_REGISTRY",
		"TRUST_AGREEMENT": "TRUST_AGREEMENT", "POWER_OF_ATTORNEY": "POWER_OF_ATTORNEY",
		"PROOF_OF_ADDRESS": "PROOF_OF_ADDRESS", "UTILITY_BILL": "PROOF_OF_ADDRESS", "ELECTRICITY_BILL": "PROOF_OF_ADDRESS",
		"RENT_OR_LEASE_AGREEMENT": "PROOF_OF_ADDRESS", "BANK_STATEMENT": "PROOF_OF_ADDRESS", "TAX_RETURN": "PROOF_OF_ADDRESS",
	}
)

// tagProblems maps Sumsub's refusal tags of one document to Grid's error
// types; any other tag is DOCUMENT_VERIFICATION_FAILED.
var tagProblems = map[string]string{
	"dataNotReadable": kyc.ErrUnreadableDocument, "badPhoto": kyc.ErrPoorQualityDocument,
	"blurry": kyc.ErrPoorQualityDocument, "lowQuality": kyc.ErrPoorQualityDocument,
	"expiredDoc": kyc.ErrExpiredDocument, "forbiddenDocument": kyc.ErrWrongDocumentType,
	"differentDocTypeOrCountry": kyc.ErrWrongDocumentType, "noIdDocFacePhoto": kyc.ErrIncompleteDocument,
	"selfieFaceBadQuality": kyc.ErrPoorQualityDocument, "screenRecapture": kyc.ErrSuspectedFraudDocument,
	"screenshot": kyc.ErrSuspectedFraudDocument, "sameSides": kyc.ErrIncompleteDocument,
	"corrupted-file": kyc.ErrUnreadableDocument, "file-too-big": kyc.ErrInvalidDocument,
	"unsupported-file-format": kyc.ErrInvalidDocument,
}

// stepProblems maps the level steps Sumsub names as incomplete to Grid's
// missing-document types.
var stepProblems = map[string]string{
	"IDENTITY": kyc.ErrMissingIdentityDoc, "IDENTITY2": kyc.ErrMissingIdentityDoc, "SELFIE": kyc.ErrMissingIdentityDoc,
	"PROOF_OF_RESIDENCE": kyc.ErrMissingProofOfAddressDoc, "PROOF_OF_RESIDENCE2": kyc.ErrMissingProofOfAddressDoc,
	"COMPANY": kyc.ErrMissingLegalPresenceDoc,
}

// SubmitForReview creates or updates the applicant, uploads each document
// and asks for the review. Documents Sumsub refuses, or steps it still
// misses, are a *kyc.ProviderRefusal; outages are 503s to retry.
//
// A business's beneficial owners (s.Owners) go as Sumsub's KYB 2.0 has
// them: each an individual applicant of its own (externalUserId the owner
// id, at the individual level) with its data and documents, linked to the
// company applicant as a beneficiary (beneficiaries.go). Sumsub reviews a
// beneficiary applicant on its own: the link moves neither status, so each
// owner's review is asked for too (status/pending), and its decision comes
// by webhook under the owner id. The order:
//  1. every applicant and every document, the company's and its owners':
//     all refused documents are answered at once, and nothing goes to
//     review while one is refused;
//  2. the links, so that the company's structure is complete before
//     anyone is reviewed;
//  3. the owners' reviews, then the company's last: an owner Sumsub still
//     misses documents for sends the verification back before the company
//     is reviewed, and the company is reviewed with its owners under
//     review. An owner asked for already stays in review when another is
//     refused; asking again on the next submission is "already in review".
//
// Each step is safe to repeat: an applicant is found by its
// externalUserId, a document Sumsub has already is uploaded, an owner
// linked as its roles say is not linked again (one linked otherwise is
// unlinked and linked anew: link), and a review asked for is asked for.
func (r *Reviewer) SubmitForReview(ctx context.Context, s kyc.ProviderSubmission) error {
	creds, err := r.Credentials.Get(ctx)
	if err != nil {
		return kyc.Reword(err, unavailableMessage)
	}
	c := s.Customer
	company := c.Type == kyc.Business
	id, err := r.Client.EnsureApplicant(ctx, creds, applicantData(c, s, r.Levels[c.Type]))
	if err != nil {
		return Classify(err)
	}
	problems, err := r.upload(ctx, creds, id, s.Documents, company)
	if err != nil {
		return err
	}
	var owners []ownerApplicant
	if company {
		for _, o := range s.Owners {
			oid, err := r.Client.EnsureApplicant(ctx, creds, ownerData(o, r.Levels[kyc.Individual]))
			if err != nil {
				return Classify(err)
			}
			refused, err := r.upload(ctx, creds, oid, o.Documents, false)
			if err != nil {
				return err
			}
			problems = append(problems, refused...)
			owners = append(owners, ownerApplicant{owner: o.Owner, applicantID: oid})
		}
	}
	if len(problems) > 0 {
		return &kyc.ProviderRefusal{Problems: problems}
	}
	if err := r.link(ctx, creds, id, owners); err != nil {
		return Classify(err)
	}
	for _, o := range owners {
		err := r.Client.RequestReview(ctx, creds, o.applicantID)
		var missing *MissingDocuments
		if errors.As(err, &missing) {
			problems = append(problems, stepsMissing(o.owner.ID, missing.Steps)...)
			continue
		}
		if err != nil {
			return Classify(err)
		}
	}
	if len(problems) > 0 {
		return &kyc.ProviderRefusal{Problems: problems}
	}
	err = r.Client.RequestReview(ctx, creds, id)
	var missing *MissingDocuments
	if errors.As(err, &missing) {
		return &kyc.ProviderRefusal{Problems: stepsMissing(c.ID, missing.Steps)}
	}
	if err != nil {
		return Classify(err)
	}
	return nil
}

// ownerApplicant is a beneficial owner and its applicant.
type ownerApplicant struct {
	owner       kyc.BeneficialOwner
	applicantID string
}

// upload adds docs to the applicant; the documents Sumsub refuses are the
// problems answered, each naming its document.
func (r *Reviewer) upload(ctx context.Context, creds Credentials, applicantID string, docs []kyc.ProviderDocument, company bool) ([]kyc.VerificationError, error) {
	var problems []kyc.VerificationError
	for _, d := range docs {
		_, err := r.Client.UploadIDDoc(ctx, creds, applicantID, idDoc(d, company))
		var rej *DocRejected
		switch {
		case errors.As(err, &rej) && rej.ErrorCode == codeDuplicateDocument:
			// Sumsub has these very bytes for the applicant: an earlier
			// run of this job uploaded them (its crash or lost answer
			// came after). Uploaded, then.
		case errors.As(err, &rej):
			problems = append(problems, docProblem(d.ID, rej.Tags))
		case errors.Is(err, ErrNotAccepting):
			// The applicant is in review already (an earlier attempt of
			// this job asked for it): the review below says so.
		case err != nil:
			return nil, Classify(err)
		}
	}
	return problems, nil
}

// link leaves each owner's applicant linked to the company applicant once,
// with the types and share its current roles give (beneficiary). An owner
// linked so already (by an earlier run of this job) is left as it is; one
// linked otherwise (its roles or share changed since: a PATCH after a
// refused submission), or more than once, loses those links first and is
// then linked anew. A crash between the two leaves it unlinked, and the
// next run links it.
func (r *Reviewer) link(ctx context.Context, creds Credentials, companyID string, owners []ownerApplicant) error {
	if len(owners) == 0 {
		return nil
	}
	linked, err := r.Client.Beneficiaries(ctx, creds, companyID)
	if err != nil {
		return err
	}
	for _, o := range owners {
		want := beneficiary(o.owner, o.applicantID)
		kept := false
		for _, b := range linked {
			if b.ApplicantID != o.applicantID {
				continue
			}
			if !kept && sameLink(b, want) {
				kept = true
				continue
			}
			if err := r.Client.UnlinkBeneficiary(ctx, creds, companyID, b.ID); err != nil {
				return err
			}
		}
		if kept {
			continue
		}
		if err := r.Client.LinkBeneficiary(ctx, creds, companyID, want); err != nil {
			return err
		}
	}
	return nil
}

// beneficiaryTypes maps Grid's owner roles to Sumsub's beneficiary types:
// a UBO is a ubo; the members of the governing body (directors, a
// partnership's general partners) are directors; those who run or act for
// the company (officers, control persons, trustees) are representatives.
var beneficiaryTypes = map[string]string{
	kyc.RoleUBO:            BeneficiaryUBO,
	kyc.RoleDirector:       BeneficiaryDirector,
	kyc.RoleGeneralPartner: BeneficiaryDirector,
	kyc.RoleCompanyOfficer: BeneficiaryRepresentative,
	kyc.RoleControlPerson:  BeneficiaryRepresentative,
	kyc.RoleTrustee:        BeneficiaryRepresentative,
}

// beneficiary is o's link to its company: its types in the order of
// Grid's roles, each once, and, for a UBO, its share of the company (left
// out at 0 %: no share to declare).
func beneficiary(o kyc.BeneficialOwner, applicantID string) Beneficiary {
	b := Beneficiary{ApplicantID: applicantID}
	for _, role := range kyc.OwnerRoles {
		if t := beneficiaryTypes[role]; o.Has(role) && !slices.Contains(b.Types, t) {
			b.Types = append(b.Types, t)
		}
	}
	if o.Has(kyc.RoleUBO) && o.OwnershipPercentage > 0 {
		share := float64(o.OwnershipPercentage)
		b.ShareSize = &share
	}
	return b
}

// ownerData is what Sumsub gets to know of a beneficial owner, its
// identifier opened as the tin.
func ownerData(o kyc.ProviderOwner, level string) ApplicantData {
	b := o.Owner
	d := ApplicantData{ExternalUserID: b.ID, LevelName: level, Type: ApplicantIndividual, Email: b.Email, Phone: b.PhoneNumber,
		FirstName: b.FirstName, MiddleName: b.MiddleName, LastName: b.LastName, DOB: b.BirthDate,
		Nationality: Alpha3(b.Nationality), TIN: o.Identifier.Reveal()}
	if a := b.Address; a != (kyc.Address{}) {
		d.Address = &ApplicantAddress{Street: a.Line1, SubStreet: a.Line2, Town: a.City, State: a.State, PostCode: a.PostalCode, Country: Alpha3(a.Country)}
		d.Country = Alpha3(a.Country)
	}
	return d
}

// applicantData is what Sumsub gets to know of c.
func applicantData(c kyc.Customer, s kyc.ProviderSubmission, level string) ApplicantData {
	d := ApplicantData{ExternalUserID: c.ID, LevelName: level, Email: c.Email, Phone: c.PhoneNumber}
	if a := c.Address; a != nil {
		d.Address = &ApplicantAddress{Street: a.Line1, SubStreet: a.Line2, Town: a.City, State: a.State, PostCode: a.PostalCode, Country: Alpha3(a.Country)}
		d.Country = Alpha3(a.Country)
	}
	if c.Type == kyc.Business {
		d.Type = ApplicantCompany
		d.TIN = s.TaxID.Reveal()
		if b := c.BusinessInfo; b != nil {
			d.CompanyName, d.RegistrationNumber, d.IncorporatedOn = b.LegalName, b.RegistrationNumber, b.IncorporatedOn
			d.CompanyCountry = Alpha3(b.Country)
		}
		return d
	}
	d.Type = ApplicantIndividual
	d.FirstName, d.LastName = splitName(c.FullName)
	d.DOB, d.Nationality, d.TIN = c.BirthDate, Alpha3(c.Nationality), s.Identifier.Reveal()
	return d
}

// splitName splits Grid's fullName into Sumsub's first and last name: the
// last word is the last name.
func splitName(full string) (first, last string) {
	full = strings.TrimSpace(full)
	i := strings.LastIndexByte(full, ' ')
	if i < 0 {
		return "", full
	}
	return strings.TrimSpace(full[:i]), full[i+1:]
}

func idDoc(d kyc.ProviderDocument, company bool) IDDoc {
	types := idDocTypes
	if company {
		types = companyDocTypes
	}
	typ, ok := types[d.Type]
	if !ok {
		typ = "OTHER"
	}
	sub := map[string]string{kyc.SideFront: "FRONT_SIDE", kyc.SideBack: "BACK_SIDE"}[d.Side]
	return IDDoc{IDDocType: typ, IDDocSubType: sub, Country: Alpha3(d.Country), Number: d.Number,
		FileName: d.FileName, ContentType: d.ContentType, Content: d.Content}
}

func docProblem(docID string, tags []string) kyc.VerificationError {
	typ := kyc.ErrDocumentVerificationFailed
	for _, t := range tags {
		if p, ok := tagProblems[t]; ok {
			typ = p
			break
		}
	}
	return kyc.VerificationError{ResourceID: docID, Type: typ,
		Reason: "The provider refused this document (" + strings.Join(tags, ", ") + "): upload a better one and submit again"}
}

func stepsMissing(customerID string, steps []string) []kyc.VerificationError {
	var out []kyc.VerificationError
	seen := map[string]bool{}
	for _, s := range steps {
		p, ok := stepProblems[s]
		if !ok || seen[p] {
			continue
		}
		seen[p] = true
		e := kyc.VerificationError{ResourceID: customerID, Type: p, Reason: "The provider needs more for its review: " + s}
		switch p {
		case kyc.ErrMissingIdentityDoc:
			e.AcceptedDocumentTypes = slices.Clone(kyc.IdentityDocuments)
		case kyc.ErrMissingProofOfAddressDoc:
			e.AcceptedDocumentTypes = slices.Clone(kyc.ProofOfAddressDocuments)
		case kyc.ErrMissingLegalPresenceDoc:
			e.AcceptedDocumentTypes = slices.Clone(kyc.LegalPresenceDocuments)
		}
		out = append(out, e)
	}
	if len(out) == 0 {
		out = append(out, kyc.VerificationError{ResourceID: customerID, Type: kyc.ErrDocumentVerificationFailed,
			Reason: "The provider needs further documents for its review"})
	}
	return out
}
