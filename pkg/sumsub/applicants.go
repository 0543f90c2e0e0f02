package sumsub

// Sumsub's API-driven review (docs.sumsub.com, "Get started with API"):
// create the applicant with what we know of the person or company, upload
// its documents, then ask for the review; the decision comes by webhook as
// for the hosted page. Every call goes through once (signing, telemetry,
// error answers as *APIError) under the retry policy of sumsub.go, and
// each is safe to repeat, so retrying an answer lost in an outage is too.
//
// Personal data (names, dates of birth, numbers, addresses, file names,
// document bytes) goes to Sumsub and nowhere else: no error of this file
// carries it. Errors carry the HTTP status, Sumsub's errorCode, errorName
// and correlationId, tags and step names, and our own ids (the applicant
// id, the customer id as externalUserId, the level name). Sumsub's
// description is dropped from every *APIError these calls return, since it
// can quote what we sent (a 409 on create quotes the externalUserId, a 400
// may quote a field's value).
//
// What we assumed about Sumsub's answers where its documentation is thin:
//   - A second create with the same externalUserId is a 409 (whatever its
//     errorCode); the applicant is then read by externalUserId. Sumsub
//     reads a PATCH of fixedInfo or companyInfo as a merge: fields left out
//     keep their value (documented), so repeating EnsureApplicant with the
//     same data leaves the same data.
//   - Individuals' data is changed with PATCH .../fixedInfo, companies' with
//     PATCH .../fixedInfo/companyInfo (the documentation forbids the first
//     for companies), email and phone with PATCH /resources/applicants.
//   - With X-Return-Doc-Warnings: true, an upload's 2xx answer is the
//     document's metadata with "errors" and "warnings" arrays; an element
//     is a tag string (Fastfail: forbiddenDocument, dataNotReadable, ...) or
//     an object, of which only a tag-like field (tag, code, name, errorCode,
//     errorName, type) is kept. A non-empty "errors" means Sumsub kept the
//     image inactive: the document is refused (*DocRejected, Status 200).
//   - Upload errors 1000-1005, 1007, 1010 and 1011 (and a 413) refuse the
//     file (*DocRejected, tagged with Sumsub's errorName); 1006, 1008 and
//     1009 mean the applicant takes no documents now (ErrNotAccepting).
//     1000 (duplicate-document) on our own retry means the first attempt
//     stored the file and only its answer was lost: success, with no
//     warnings known.
//   - status/pending answers errorCode 3000 (already in the state) or 2xx
//     for an applicant already in review; a 409 otherwise means required
//     documents are missing, its description naming the missing steps in
//     brackets ("Make sure to complete [IDENTITY, SELFIE] beforehand"). As
//     Sumsub may answer 409 for a repeat too, a 409 is only a refusal when
//     the applicant's review status (GET .../status) is not already one of
//     pending, queued, prechecked, onHold or awaitingService.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/grid-kyc/kyc-link/pkg/kyc"
)

// Applicant types, as Sumsub names them.
const (
	ApplicantIndividual = "individual"
	ApplicantCompany    = "company"
)

// ApplicantAddress is one address as Sumsub names its parts.
type ApplicantAddress struct {
	Street    string `json:"street,omitempty"`
	SubStreet string `json:"subStreet,omitempty"`
	Town      string `json:"town,omitempty"`
	State     string `json:"state,omitempty"`
	PostCode  string `json:"postCode,omitempty"`
	Country   string `json:"country,omitempty"` // alpha-3
}

// ApplicantData is what we send about a person or a company. Empty fields
// are left out (and keep their value in Sumsub when the applicant exists).
type ApplicantData struct {
	ExternalUserID string // our customer id, e.g. Customer:0195..., or a beneficial owner id
	LevelName      string
	Type           string // ApplicantIndividual (also when empty) or ApplicantCompany
	Email, Phone   string

	// An individual.
	FirstName, MiddleName, LastName string
	DOB                             string // YYYY-MM-DD
	Nationality                     string // alpha-3
	Country                         string // alpha-3, of residence
	TIN                             string
	Address                         *ApplicantAddress // for a company, sent as its legalAddress

	// A company (TIN is sent as its taxId).
	CompanyName, RegistrationNumber string
	IncorporatedOn                  string // YYYY-MM-DD
	CompanyCountry                  string // alpha-3; Country when empty
}

// IDDoc is one document file and what it is.
type IDDoc struct {
	IDDocType    string // Sumsub's: PASSPORT, ID_CARD, DRIVERS, UTILITY_BILL, COMPANY_DOC ..., mapped by the caller
	IDDocSubType string // FRONT_SIDE, BACK_SIDE or ""
	Country      string // alpha-3
	Number       string
	FileName     string // "document" when empty
	ContentType  string // application/octet-stream when empty
	Content      []byte
}

// DocWarnings are the tags Sumsub answers an upload with (header
// X-Return-Doc-Warnings): Errors refuse the document, Warnings only say
// something may be wrong with it.
type DocWarnings struct {
	Errors, Warnings []string
}

// DocRejected is Sumsub refusing a document: the caller's file, not an
// outage. Another upload of a better file can succeed.
type DocRejected struct {
	// Tags are Sumsub's reasons: Fastfail tags (forbiddenDocument,
	// dataNotReadable, expiredDoc, ...) or an upload error's errorName
	// (corrupted-file, file-too-big, ...).
	Tags []string
	// Status is the HTTP status: 200 for Fastfail errors, 4xx otherwise.
	Status        int
	ErrorCode     int
	CorrelationID string
}

func (e *DocRejected) Error() string {
	return fmt.Sprintf("sumsub: document refused: %s (HTTP %d, errorCode %d, correlationId %s)",
		strings.Join(e.Tags, ", "), e.Status, e.ErrorCode, e.CorrelationID)
}

// MissingDocuments is Sumsub refusing a review because required documents
// or data are missing; errors.Is(err, ErrMissingDocuments) recognises it.
type MissingDocuments struct {
	// Steps are the level's steps Sumsub names as incomplete (IDENTITY,
	// SELFIE, APPLICANT_DATA, ...), when it names them.
	Steps         []string
	Status        int
	ErrorCode     int
	CorrelationID string
}

func (e *MissingDocuments) Error() string {
	return fmt.Sprintf("%v (steps [%s]; HTTP %d, errorCode %d, correlationId %s)",
		ErrMissingDocuments, strings.Join(e.Steps, ", "), e.Status, e.ErrorCode, e.CorrelationID)
}

func (e *MissingDocuments) Is(target error) bool { return target == ErrMissingDocuments }

var (
	// ErrMissingDocuments: a review was asked for before every required
	// document was uploaded (see MissingDocuments).
	ErrMissingDocuments = errors.New("sumsub: not all required documents are uploaded")
	// ErrNotAccepting wraps an upload refused for the applicant's state:
	// in review, deactivated, or finally rejected (errorCode 1006, 1008,
	// 1009).
	ErrNotAccepting = errors.New("sumsub: the applicant takes no documents now")
	// ErrApplicantType: an applicant with this externalUserId exists with
	// the other type (individual or company); Sumsub cannot change it.
	ErrApplicantType = errors.New("sumsub: the applicant exists with another type")
	// ErrInvalidRequest wraps a request refused before it was sent (a
	// required field left empty): the caller's bug.
	ErrInvalidRequest = errors.New("sumsub: invalid request")
)

// Sumsub's errorCodes these calls tell apart (docs.sumsub.com, "Error codes").
const (
	codeDuplicateDocument = 1000
	codeAlreadyInState    = 3000
)

// docRefusals are the upload errorCodes about the file itself.
var docRefusals = map[int]bool{
	1000: true, // duplicate-document
	1001: true, // too-many-documents
	1002: true, // file-too-big
	1003: true, // empty-file
	1004: true, // corrupted-file
	1005: true, // unsupported-file-format
	1007: true, // incorrect-file-size
	1010: true, // document type not in the level
	1011: true, // encrypted-file
}

// notAccepting are the upload errorCodes about the applicant's state.
var notAccepting = map[int]bool{
	1006: true, // no-upload-verification-in-progress
	1008: true, // applicant-marked-as-deleted
	1009: true, // applicant-with-final-reject
}

type fixedInfo struct {
	FirstName   string             `json:"firstName,omitempty"`
	MiddleName  string             `json:"middleName,omitempty"`
	LastName    string             `json:"lastName,omitempty"`
	DOB         string             `json:"dob,omitempty"`
	Country     string             `json:"country,omitempty"`
	Nationality string             `json:"nationality,omitempty"`
	TIN         string             `json:"tin,omitempty"`
	Addresses   []ApplicantAddress `json:"addresses,omitempty"`
	CompanyInfo *companyInfo       `json:"companyInfo,omitempty"`
}

type companyInfo struct {
	CompanyName        string `json:"companyName,omitempty"`
	RegistrationNumber string `json:"registrationNumber,omitempty"`
	Country            string `json:"country,omitempty"`
	IncorporatedOn     string `json:"incorporatedOn,omitempty"`
	TaxID              string `json:"taxId,omitempty"`
	LegalAddress       string `json:"legalAddress,omitempty"`
}

func (d ApplicantData) applicantType() string {
	if d.Type == "" {
		return ApplicantIndividual
	}
	return d.Type
}

func (d ApplicantData) check() error {
	switch {
	case d.ExternalUserID == "":
		return fmt.Errorf("%w: ExternalUserID is empty", ErrInvalidRequest)
	case d.LevelName == "":
		return fmt.Errorf("%w: LevelName is empty", ErrInvalidRequest)
	case d.Type != "" && d.Type != ApplicantIndividual && d.Type != ApplicantCompany:
		return fmt.Errorf("%w: Type %q is neither %q nor %q", ErrInvalidRequest, d.Type, ApplicantIndividual, ApplicantCompany)
	}
	return nil
}

func (d ApplicantData) fixedInfo() fixedInfo {
	if d.applicantType() == ApplicantCompany {
		ci := &companyInfo{
			CompanyName:        d.CompanyName,
			RegistrationNumber: d.RegistrationNumber,
			Country:            d.CompanyCountry,
			IncorporatedOn:     d.IncorporatedOn,
			TaxID:              d.TIN,
		}
		if ci.Country == "" {
			ci.Country = d.Country
		}
		if d.Address != nil {
			ci.LegalAddress = d.Address.oneLine()
		}
		return fixedInfo{CompanyInfo: ci}
	}
	f := fixedInfo{FirstName: d.FirstName, MiddleName: d.MiddleName, LastName: d.LastName, DOB: d.DOB, Country: d.Country, Nationality: d.Nationality, TIN: d.TIN}
	if d.Address != nil && *d.Address != (ApplicantAddress{}) {
		f.Addresses = []ApplicantAddress{*d.Address}
	}
	return f
}

// oneLine writes an address as one line: street, subStreet, town, state
// postCode, country.
func (a ApplicantAddress) oneLine() string {
	var parts []string
	for _, p := range []string{a.Street, a.SubStreet, a.Town, strings.TrimSpace(a.State + " " + a.PostCode), a.Country} {
		if p != "" {
			parts = append(parts, p)
		}
	}
	return strings.Join(parts, ", ")
}

// call sends a signed JSON request (none when in is nil) under the retry
// policy; out nil leaves the answer unread.
func (c *Client) call(ctx context.Context, creds Credentials, method, path string, in, out any) error {
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return fmt.Errorf("sumsub: encode request: %w", err)
		}
	}
	return retry(ctx, func(int) error { return c.once(ctx, creds, method, path, body, out) })
}

// queryEscape escapes a query value with %20 for a space, which no
// server reads as anything else ("+" is a space only to form decoders).
func queryEscape(s string) string {
	return strings.ReplaceAll(url.QueryEscape(s), "+", "%20")
}

func applicantPath(applicantID, rest string) string {
	return "/resources/applicants/" + url.PathEscape(applicantID) + rest
}

// EnsureApplicant creates the applicant for d.ExternalUserID at level
// d.LevelName, or, when Sumsub already has one (409), reads it and brings
// its data to d. It answers Sumsub's applicant id: the same on every call
// for the same ExternalUserID. An existing applicant keeps its level.
func (c *Client) EnsureApplicant(ctx context.Context, creds Credentials, d ApplicantData) (applicantID string, err error) {
	if err := d.check(); err != nil {
		return "", err
	}
	info := d.fixedInfo()
	create := struct {
		ExternalUserID string    `json:"externalUserId"`
		Type           string    `json:"type"`
		Email          string    `json:"email,omitempty"`
		Phone          string    `json:"phone,omitempty"`
		FixedInfo      fixedInfo `json:"fixedInfo"`
	}{d.ExternalUserID, d.applicantType(), d.Email, d.Phone, info}
	var created struct {
		ID string `json:"id"`
	}
	err = c.call(ctx, creds, http.MethodPost, "/resources/applicants?levelName="+queryEscape(d.LevelName), create, &created)
	var apiErr *APIError
	switch {
	case err == nil && created.ID == "":
		return "", errors.New("sumsub: create applicant: the answer has no id")
	case err == nil:
		return created.ID, nil
	case !errors.As(err, &apiErr) || apiErr.Status != http.StatusConflict:
		return "", scrub(err)
	}

	// The applicant exists (created before, or by our own attempt whose
	// answer was lost): read it and update its data.
	var existing struct {
		ID    string `json:"id"`
		Type  string `json:"type"`
		Email string `json:"email"`
		Phone string `json:"phone"`
	}
	if err := c.call(ctx, creds, http.MethodGet, "/resources/applicants/-;externalUserId="+url.PathEscape(d.ExternalUserID)+"/one", nil, &existing); err != nil {
		return "", scrub(err)
	}
	if existing.ID == "" {
		return "", errors.New("sumsub: read applicant by externalUserId: the answer has no id")
	}
	if existing.Type != "" && existing.Type != d.applicantType() {
		return "", fmt.Errorf("%w: applicant %s is %q, not %q", ErrApplicantType, existing.ID, existing.Type, d.applicantType())
	}
	if info.CompanyInfo != nil {
		err = c.call(ctx, creds, http.MethodPatch, applicantPath(existing.ID, "/fixedInfo/companyInfo"), info.CompanyInfo, nil)
	} else {
		err = c.call(ctx, creds, http.MethodPatch, applicantPath(existing.ID, "/fixedInfo"), info, nil)
	}
	if err != nil {
		return "", scrub(err)
	}
	if (d.Email != "" && d.Email != existing.Email) || (d.Phone != "" && d.Phone != existing.Phone) {
		profile := struct {
			ID    string `json:"id"`
			Email string `json:"email,omitempty"`
			Phone string `json:"phone,omitempty"`
		}{existing.ID, d.Email, d.Phone}
		if err := c.call(ctx, creds, http.MethodPatch, "/resources/applicants", profile, nil); err != nil {
			return "", scrub(err)
		}
	}
	return existing.ID, nil
}

// UploadIDDoc adds one document file to the applicant. It answers Sumsub's
// warnings and errors for it; when Sumsub refuses the file (its errors, or
// an upload error about the file) the error is a *DocRejected, and the
// warnings, if any, are answered too.
func (c *Client) UploadIDDoc(ctx context.Context, creds Credentials, applicantID string, doc IDDoc) (DocWarnings, error) {
	if applicantID == "" || doc.IDDocType == "" || doc.Country == "" {
		return DocWarnings{}, fmt.Errorf("%w: the applicant id, IDDocType and Country are required", ErrInvalidRequest)
	}
	body, contentType, err := doc.form()
	if err != nil {
		return DocWarnings{}, err
	}
	h := http.Header{}
	h.Set("Content-Type", contentType)
	h.Set("X-Return-Doc-Warnings", "true")
	var out struct {
		Errors   json.RawMessage `json:"errors"`
		Warnings json.RawMessage `json:"warnings"`
	}
	stored := false // by an earlier attempt whose answer was lost
	err = retry(ctx, func(attempt int) error {
		err := c.once(ctx, creds, http.MethodPost, applicantPath(applicantID, "/info/idDoc"), body, &out, h)
		var apiErr *APIError
		if attempt > 1 && errors.As(err, &apiErr) && apiErr.ErrorCode == codeDuplicateDocument {
			stored = true
			return nil
		}
		return err
	})
	if err != nil {
		return DocWarnings{}, uploadError(err)
	}
	if stored {
		return DocWarnings{}, nil
	}
	w := DocWarnings{Errors: tags(out.Errors), Warnings: tags(out.Warnings)}
	if len(w.Errors) > 0 {
		return w, &DocRejected{Tags: w.Errors, Status: http.StatusOK}
	}
	return w, nil
}

// uploadError tells a refused file and an applicant that takes no
// documents from the rest.
func uploadError(err error) error {
	var apiErr *APIError
	if !errors.As(err, &apiErr) {
		return err
	}
	switch {
	case docRefusals[apiErr.ErrorCode]:
		tag := apiErr.ErrorName
		if !safeTag(tag) {
			tag = "errorCode-" + strconv.Itoa(apiErr.ErrorCode)
		}
		return &DocRejected{Tags: []string{tag}, Status: apiErr.Status, ErrorCode: apiErr.ErrorCode, CorrelationID: apiErr.CorrelationID}
	case apiErr.Status == http.StatusRequestEntityTooLarge:
		return &DocRejected{Tags: []string{"file-too-big"}, Status: apiErr.Status, ErrorCode: apiErr.ErrorCode, CorrelationID: apiErr.CorrelationID}
	case notAccepting[apiErr.ErrorCode]:
		return fmt.Errorf("%w: %w", ErrNotAccepting, scrub(apiErr))
	}
	return scrub(err)
}

// form encodes doc as Sumsub's multipart form: a metadata part (JSON) and
// a content part (the file). The bytes answered are the exact bytes to
// sign and send.
func (doc IDDoc) form() (body []byte, contentType string, err error) {
	ct := "application/octet-stream"
	if doc.ContentType != "" {
		mt, params, err := mime.ParseMediaType(doc.ContentType)
		if err != nil {
			return nil, "", fmt.Errorf("%w: ContentType is not a media type", ErrInvalidRequest)
		}
		ct = mime.FormatMediaType(mt, params)
	}
	name := strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, doc.FileName)
	if name == "" {
		name = "document"
	}
	meta, err := json.Marshal(struct {
		IDDocType    string `json:"idDocType"`
		IDDocSubType string `json:"idDocSubType,omitempty"`
		Country      string `json:"country"`
		Number       string `json:"number,omitempty"`
	}{doc.IDDocType, doc.IDDocSubType, doc.Country, doc.Number})
	if err != nil {
		return nil, "", fmt.Errorf("sumsub: encode metadata: %w", err)
	}
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	if err := mw.WriteField("metadata", string(meta)); err != nil {
		return nil, "", fmt.Errorf("sumsub: encode form: %w", err)
	}
	ph := textproto.MIMEHeader{}
	ph.Set("Content-Disposition", multipart.FileContentDisposition("content", name))
	ph.Set("Content-Type", ct)
	pw, err := mw.CreatePart(ph)
	if err == nil {
		_, err = pw.Write(doc.Content)
	}
	if err == nil {
		err = mw.Close()
	}
	if err != nil {
		return nil, "", fmt.Errorf("sumsub: encode form: %w", err)
	}
	return buf.Bytes(), mw.FormDataContentType(), nil
}

// tagPattern is what a tag or code looks like; anything else (a sentence,
// a value) is not kept.
var tagPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$`)

func safeTag(s string) bool { return tagPattern.MatchString(s) }

// unrecognised stands for an error or warning with no tag-like field.
const unrecognised = "unrecognised"

// tags reads Sumsub's errors or warnings leniently: an array (or a single
// element) of strings, numbers or objects, keeping only tag-like strings.
func tags(raw json.RawMessage) []string {
	if len(raw) == 0 {
		return nil
	}
	var elems []json.RawMessage
	if json.Unmarshal(raw, &elems) != nil {
		elems = []json.RawMessage{raw}
	}
	var out []string
	for _, e := range elems {
		out = append(out, tagOf(e))
	}
	return out
}

func tagOf(e json.RawMessage) string {
	var obj map[string]json.RawMessage
	if json.Unmarshal(e, &obj) == nil && obj != nil {
		for _, k := range []string{"tag", "code", "name", "errorCode", "errorName", "type"} {
			if s := scalar(obj[k]); safeTag(s) {
				return s
			}
		}
		return unrecognised
	}
	if s := scalar(e); safeTag(s) {
		return s
	}
	return unrecognised
}

// scalar is a JSON string's or number's text, else "".
func scalar(v json.RawMessage) string {
	var s string
	if json.Unmarshal(v, &s) == nil {
		return s
	}
	var n json.Number
	if json.Unmarshal(v, &n) == nil {
		return n.String()
	}
	return ""
}

// inReview are the review statuses of an applicant already submitted.
var inReview = map[string]bool{"pending": true, "queued": true, "prechecked": true, "onHold": true, "awaitingService": true}

// RequestReview asks Sumsub to review the applicant (moves it to pending).
// Asking again for an applicant already in review succeeds. When required
// documents are missing the error is a *MissingDocuments (errors.Is
// ErrMissingDocuments).
func (c *Client) RequestReview(ctx context.Context, creds Credentials, applicantID string) error {
	if applicantID == "" {
		return fmt.Errorf("%w: the applicant id is required", ErrInvalidRequest)
	}
	err := c.call(ctx, creds, http.MethodPost, applicantPath(applicantID, "/status/pending"), nil, nil)
	var apiErr *APIError
	switch {
	case err == nil:
		return nil
	case !errors.As(err, &apiErr):
		return err
	case apiErr.ErrorCode == codeAlreadyInState:
		return nil
	case apiErr.Status != http.StatusConflict:
		return scrub(err)
	}
	var status struct {
		ReviewStatus string `json:"reviewStatus"`
	}
	if err := c.call(ctx, creds, http.MethodGet, applicantPath(applicantID, "/status"), nil, &status); err != nil {
		return scrub(err)
	}
	if inReview[status.ReviewStatus] {
		return nil
	}
	return &MissingDocuments{Steps: steps(apiErr.Description), Status: apiErr.Status, ErrorCode: apiErr.ErrorCode, CorrelationID: apiErr.CorrelationID}
}

var stepPattern = regexp.MustCompile(`^[A-Z][A-Z0-9_]*$`)

// steps reads the step names listed in brackets in Sumsub's description
// of a refused review, and nothing else of it.
func steps(description string) []string {
	open := strings.IndexByte(description, '[')
	end := strings.IndexByte(description, ']')
	if open < 0 || end < open {
		return nil
	}
	var out []string
	for _, s := range strings.Split(description[open+1:end], ",") {
		if s = strings.TrimSpace(s); stepPattern.MatchString(s) {
			out = append(out, s)
		}
	}
	return out
}

// scrub drops Sumsub's description from an *APIError as once answers it
// (not wrapped): the description can quote the personal data we sent.
func scrub(err error) error {
	apiErr, ok := err.(*APIError)
	if !ok {
		return err
	}
	c := *apiErr
	c.Description = http.StatusText(c.Status)
	return &c
}

// Classify turns an error of EnsureApplicant, UploadIDDoc or RequestReview
// into the caller's answer where it has nothing better to say, as
// CreateLink does for its calls: an outage (5xx, 408, 429, no answer) is
// kyc.Unavailable with a retry hint; Sumsub refusing our request (our
// credentials, level, mapping) and a request refused before it was sent
// are our misconfiguration (500). The refusals a caller words in its own
// terms come back as they are: *DocRejected, *MissingDocuments,
// ErrNotAccepting, ErrApplicantType.
func Classify(err error) error {
	var rejected *DocRejected
	switch {
	case err == nil, errors.As(err, &rejected), errors.Is(err, ErrMissingDocuments),
		errors.Is(err, ErrNotAccepting), errors.Is(err, ErrApplicantType):
		return err
	case errors.Is(err, ErrInvalidRequest):
		return kyc.Internal(err)
	}
	return classify(err, false)
}
