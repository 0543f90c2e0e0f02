package sumsub

import "github.com/grid-kyc/kyc-link/pkg/kyc"

// labelProblems maps Sumsub's rejectLabels (docs.sumsub.com, "Rejection
// labels") to Grid's VerificationErrorType. A label not listed maps to
// nothing; a rejection none of whose labels map gets the generic problem
// (kyc.VerificationOutcome). docs/verifications.md has the table.
var labelProblems = map[string]string{
	// The document's image.
	"LOW_QUALITY":                  kyc.ErrPoorQualityDocument,
	"UNSATISFACTORY_PHOTOS":        kyc.ErrPoorQualityDocument,
	"BLACK_AND_WHITE":              kyc.ErrPoorQualityDocument,
	"SCREENSHOTS":                  kyc.ErrInvalidDocument,
	"DOCUMENT_DAMAGED":             kyc.ErrUnreadableDocument,
	"INCOMPATIBLE_LANGUAGE":        kyc.ErrUnreadableDocument,
	"DOCUMENT_PAGE_MISSING":        kyc.ErrIncompleteDocument,
	"FRONT_SIDE_MISSING":           kyc.ErrIncompleteDocument,
	"BACK_SIDE_MISSING":            kyc.ErrIncompleteDocument,
	"UNFILLED_ID":                  kyc.ErrIncompleteDocument,
	"INCOMPLETE_DOCUMENT":          kyc.ErrIncompleteDocument,
	"EXPIRATION_DATE":              kyc.ErrExpiredDocument,
	"ID_INVALID":                   kyc.ErrInvalidDocument,
	"BAD_PROOF_OF_IDENTITY":        kyc.ErrInvalidDocument,
	"NOT_DOCUMENT":                 kyc.ErrWrongDocumentType,
	"WRONG_DOCUMENT_TYPE":          kyc.ErrWrongDocumentType,
	"ADDITIONAL_DOCUMENT_REQUIRED": kyc.ErrMissingIdentityDoc,
	// Proof of address.
	"BAD_PROOF_OF_ADDRESS": kyc.ErrMissingProofOfAddressDoc,
	"WRONG_ADDRESS":        kyc.ErrMissingProofOfAddressDoc,
	// Forgery.
	"FORGERY":           kyc.ErrSuspectedFraudDocument,
	"DOCUMENT_TEMPLATE": kyc.ErrSuspectedFraudDocument,
	"GRAPHIC_EDITOR":    kyc.ErrSuspectedFraudDocument,
	// The checks across the documents and the data.
	"SELFIE_MISMATCH":            kyc.ErrDocumentVerificationFailed,
	"BAD_FACE_MATCHING":          kyc.ErrDocumentVerificationFailed,
	"INCONSISTENT_PROFILE":       kyc.ErrDocumentVerificationFailed,
	"PROBLEMATIC_APPLICANT_DATA": kyc.ErrDocumentVerificationFailed,
	"REQUESTED_DATA_MISMATCH":    kyc.ErrDocumentVerificationFailed,
	// The applicant.
	"SANCTIONS":                kyc.ErrApplicantSanctioned,
	"COMPROMISED_PERSONS":      kyc.ErrApplicantSanctioned,
	"PEP":                      kyc.ErrApplicantSanctioned,
	"CRIMINAL":                 kyc.ErrApplicantCriminalRecord,
	"FRAUDULENT_PATTERNS":      kyc.ErrApplicantFraud,
	"FRAUDULENT_LIVENESS":      kyc.ErrApplicantFraud,
	"DUPLICATE":                kyc.ErrApplicantFraud,
	"BLACKLIST":                kyc.ErrApplicantRejected,
	"REGULATIONS_VIOLATIONS":   kyc.ErrApplicantRejected,
	"AGE_REQUIREMENT_MISMATCH": kyc.ErrApplicantRejected,
	"WRONG_USER_REGION":        kyc.ErrApplicantRejected,
	"ADVERSE_MEDIA":            kyc.ErrApplicantRejected,
	// A company's structure (KYB).
	"COMPANY_NOT_DEFINED_BENEFICIARIES":     kyc.ErrMissingBeneficialOwner,
	"COMPANY_NOT_VALIDATED_BENEFICIARIES":   kyc.ErrMissingBeneficialOwner,
	"COMPANY_NOT_DEFINED_REPRESENTATIVES":   kyc.ErrMissingControlPerson,
	"COMPANY_NOT_VALIDATED_REPRESENTATIVES": kyc.ErrMissingControlPerson,
}

// Problems maps rejectLabels to Grid's error types, each once, in the
// labels' order.
func Problems(labels []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, l := range labels {
		if p, ok := labelProblems[l]; ok && !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	return out
}
