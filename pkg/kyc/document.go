package kyc

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// DocumentType is Grid's DocumentType.
type DocumentType string

// documentTypes are Grid's DocumentType values, in Grid's order.
var documentTypes = []string{"PASSPORT", "DRIVERS_LICENSE", "NATIONAL_ID", "PROOF_OF_ADDRESS",
	"BANK_STATEMENT", "TAX_RETURN", "CERTIFICATE_OF_INCORPORATION", "ARTICLES_OF_INCORPORATION",
	"ARTICLES_OF_ASSOCIATION", "STATE_REGISTRY_EXCERPT", "GOOD_STANDING_CERTIFICATE",
	"INFORMATION_STATEMENT", "INCUMBENCY_CERTIFICATE", "BUSINESS_LICENSE", "SHAREHOLDER_REGISTER",
	"POWER_OF_ATTORNEY", "UTILITY_BILL", "ELECTRICITY_BILL", "RENT_OR_LEASE_AGREEMENT",
	"DIRECTOR_REGISTRY", "TRUST_AGREEMENT", "STATE_COMPANY_REGISTRY", "PARTNERSHIP_CONTROL_AGREEMENT",
	"PARTNERSHIP_AGREEMENT", "SELFIE", "OTHER"}

// DocumentTypes returns Grid's DocumentType values.
func DocumentTypes() []string { return slices.Clone(documentTypes) }

// Document sides (Grid's side).
const (
	SideFront = "FRONT"
	SideBack  = "BACK"
)

// DocumentIDPrefix starts every document id.
const DocumentIDPrefix = "Document:"

// Limits of a document upload.
const (
	// MaxDocumentSize is Grid's limit on a document's file: 10 MB.
	MaxDocumentSize = 10 << 20
	// MaxDocumentsPerHolder bounds one holder's documents, so that a
	// verification can lock every one of them in one transaction.
	MaxDocumentsPerHolder = 50
	// MaxFileName bounds fileName (S3's key limit is 1024 bytes; the name
	// is not part of the key, but it is kept and answered).
	MaxFileName = 255
	// maxDocumentText bounds documentNumber and issuingAuthority.
	maxDocumentText = 255
)

// Document is a verification document as this service keeps it: Grid's
// metadata, where its file is, and the verification that locked it. The
// file itself lives in a DocumentFiles store under FileKey.
type Document struct {
	ID               string
	PlatformID       string
	Holder           string // Customer:… (BeneficialOwner:… with KYB)
	Type             DocumentType
	Side             string
	Country          string
	Number           string // personal data: kept, answered, never logged
	IssuingAuthority string
	FileName         string
	// ContentType is what the file's leading bytes say it is
	// (application/pdf, image/jpeg or image/png), not what was declared.
	ContentType string
	Size        int64
	FileKey     string
	CreatedAt   time.Time
	UpdatedAt   time.Time
	// Version counts writes; a replace or delete is conditional on it.
	Version int64
	// SubmittedIn is the verification that went IN_PROGRESS with this
	// document: from then on it can be neither replaced nor deleted.
	SubmittedIn string
	// Upload is the direct upload an insert completes ("" for an inline
	// upload): the store marks it completed in the same write, so the
	// upload never makes a second document.
	Upload string
}

// ListPosition is d's place in its lists (creation time, then id).
func (d Document) ListPosition() string { return ListPosition(d.CreatedAt, d.ID) }

// DocumentView is Grid's Document.
type DocumentView struct {
	ID               string       `json:"id"`
	DocumentHolder   string       `json:"documentHolder"`
	DocumentType     DocumentType `json:"documentType"`
	Side             string       `json:"side,omitempty"`
	Country          string       `json:"country"`
	DocumentNumber   string       `json:"documentNumber,omitempty"`
	IssuingAuthority string       `json:"issuingAuthority,omitempty"`
	FileName         string       `json:"fileName"`
	CreatedAt        string       `json:"createdAt"`
	UpdatedAt        string       `json:"updatedAt"`
}

// View is d in Grid's shape.
func (d Document) View() DocumentView {
	return DocumentView{ID: d.ID, DocumentHolder: d.Holder, DocumentType: d.Type, Side: d.Side,
		Country: d.Country, DocumentNumber: d.Number, IssuingAuthority: d.IssuingAuthority,
		FileName: d.FileName, CreatedAt: FormatTime(d.CreatedAt), UpdatedAt: FormatTime(d.UpdatedAt)}
}

// DocumentInput is the metadata of an upload or a replacement (the
// multipart parts other than file).
type DocumentInput struct {
	Holder           string
	Type             string
	Side             string
	Country          string
	Number           string
	IssuingAuthority string
	FileName         string
}

// check reports every bad field of in at once; holder says whether
// documentHolder is required (an upload) or may be absent (a replace).
func (in DocumentInput) check(holderRequired bool) error {
	var errs fieldErrors
	if in.Holder == "" && holderRequired {
		errs.add("documentHolder", "documentHolder is required: the id of the customer or beneficial owner the document belongs to.")
	} else if in.Holder != "" && !strings.HasPrefix(in.Holder, CustomerIDPrefix) && !strings.HasPrefix(in.Holder, OwnerIDPrefix) {
		errs.add("documentHolder", "documentHolder must be a customer id (Customer:…) or a beneficial owner id (BeneficialOwner:…).")
	} else if in.Holder != "" && CheckCustomerID(in.Holder) != nil {
		errs.add("documentHolder", "documentHolder is not a valid customer or beneficial owner id.")
	}
	switch {
	case in.Type == "":
		errs.add("documentType", "documentType is required.")
	case !slices.Contains(documentTypes, in.Type):
		errs.addc("documentType", &FieldConstraint{Enum: documentTypes}, "documentType must be one of Grid's document types, such as PASSPORT.")
	}
	if in.Side != "" && in.Side != SideFront && in.Side != SideBack {
		errs.addc("side", &FieldConstraint{Enum: []string{SideFront, SideBack}}, "side must be FRONT or BACK.")
	}
	if in.Country == "" {
		errs.add("country", "country is required: the ISO 3166-1 alpha-2 code of the issuing country.")
	} else {
		checkCountry(&errs, "country", in.Country)
	}
	for _, f := range []struct{ name, v string }{{"documentNumber", in.Number}, {"issuingAuthority", in.IssuingAuthority}} {
		if f.v != "" {
			checkText(&errs, f.name, f.v, maxDocumentText)
		}
	}
	if in.FileName != "" && (!utf8.ValidString(in.FileName) || utf8.RuneCountInString(in.FileName) > MaxFileName ||
		strings.IndexFunc(in.FileName, func(r rune) bool { return unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == '/' || r == '\\' }) >= 0) {
		errs.add("file", "The file's name must be at most %d characters of UTF-8, without control or format characters (such as right-to-left overrides) or slashes.", MaxFileName)
	}
	return errs.err()
}

// Content types of the files Grid accepts.
const (
	ContentTypePDF  = "application/pdf"
	ContentTypeJPEG = "image/jpeg"
	ContentTypePNG  = "image/png"
)

// SniffLength is how many leading bytes DetectContentType needs.
const SniffLength = 8

// DetectContentType says what a file is by its leading bytes: PDF
// ("%PDF-"), JPEG (FF D8 FF) or PNG (its 8-byte signature); "" for
// anything else. The name and the declared type are never trusted.
func DetectContentType(head []byte) string {
	switch {
	case bytes.HasPrefix(head, []byte("%PDF-")):
		return ContentTypePDF
	case bytes.HasPrefix(head, []byte{0xFF, 0xD8, 0xFF}):
		return ContentTypeJPEG
	case bytes.HasPrefix(head, []byte("\x89PNG\r\n\x1a\n")):
		return ContentTypePNG
	}
	return ""
}

// checkFile refuses a file that is empty, too large or not PDF, JPEG or
// PNG, naming the file part; it returns the detected type.
func checkFile(size int64, head []byte, limit int64) (string, error) {
	if size == 0 {
		return "", InvalidField("file", "The file is empty.")
	}
	if size > limit {
		return "", InvalidField("file", "The file is %d bytes; the limit is %d bytes.", size, limit)
	}
	ct := DetectContentType(head)
	if ct == "" {
		return "", InvalidField("file", "The file must be a PDF, JPEG or PNG (judged by its content, not its name or declared type).")
	}
	return ct, nil
}

// ErrDocumentExists is a store's answer to an insert whose id is taken.
var ErrDocumentExists = errors.New("kyc: a document with this id exists")

// DocumentRange asks for up to Limit documents of PlatformID (of Holder
// alone when set) in list order after After.
type DocumentRange struct {
	PlatformID string
	Holder     string
	After      string
	Limit      int
}

// DocumentRecords keeps documents' metadata.
type DocumentRecords interface {
	// InsertDocument stores a new document; ErrDocumentExists when its id
	// is taken, ErrHolderFull when its holder has MaxDocumentsPerHolder
	// (decided atomically with the write). With d.Upload it marks that
	// upload completed in the same write.
	InsertDocument(ctx context.Context, d Document) error
	// DocumentRecord reads a document with a consistent read; a missing
	// one is DocumentNotFound().
	DocumentRecord(ctx context.Context, id string) (Document, error)
	// DocumentRange returns documents in list order (by holder, or by
	// platform); more is false when none follow. It may be eventually
	// consistent.
	DocumentRange(ctx context.Context, q DocumentRange) (docs []Document, more bool, err error)
	// ReplaceDocument writes next over prev only if the stored version is
	// still prev.Version and the document is not submitted (else
	// ErrChanged); next.Version is prev.Version+1.
	ReplaceDocument(ctx context.Context, prev, next Document) error
	// DeleteDocument deletes prev under the same conditions.
	DeleteDocument(ctx context.Context, prev Document) error
}

// DocumentFiles keeps documents' files, encrypted, never served back.
type DocumentFiles interface {
	// PutFile stores content under key (overwriting: a retry writes the
	// same bytes).
	PutFile(ctx context.Context, key, contentType string, content []byte) error
	// ReadFile reads the file under key (for the provider).
	ReadFile(ctx context.Context, key string) ([]byte, error)
	// DeleteFile deletes the file under key; a missing one is no error.
	DeleteFile(ctx context.Context, key string) error
}

// HolderStore reads document holders.
type HolderStore interface {
	// CustomerRecord reads a customer consistently (CustomerRecords').
	CustomerRecord(ctx context.Context, id string) (Customer, error)
}

// DocumentNotFound is the answer for a document that is not the
// platform's (unknown, or another platform's: the same bytes).
func DocumentNotFound() *Error { return Errorf(CodeReferenceNotFound, "Document not found.") }

// HolderNotFound is the answer for a documentHolder that is not one of the
// platform's customers.
func HolderNotFound() *Error { return Errorf(CodeNotFound, "Document holder not found.") }

// CodeReferenceNotFound is Grid's 404 code for an object other than a
// customer (a document, a verification).
const CodeReferenceNotFound Code = "REFERENCE_NOT_FOUND"

// ReasonDocumentSubmitted is the 409 reason for a change to a document a
// verification submitted.
const ReasonDocumentSubmitted = "DOCUMENT_SUBMITTED"

func documentSubmitted() *Error {
	return Conflict(ReasonDocumentSubmitted, "The document is part of a verification that was submitted for review; it can no longer be replaced or deleted. Upload a new document instead.")
}
