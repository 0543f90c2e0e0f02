package sumsubtest

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
)

// Paths of the API-driven review. Applicants are under ApplicantsPath:
// POST ?levelName= creates one, PATCH changes its email and phone,
// {id or -;externalUserId=…}/one reads one, {id}/status reads its review
// status, {id}/fixedInfo and {id}/fixedInfo/companyInfo change its data,
// {id}/info/idDoc adds a document, {id}/status/pending asks for the review,
// POST {company id}/fixedInfo/companyInfo/beneficiaries links an applicant
// to a company's and DELETE {company id}/fixedInfo/companyInfo/beneficiaries/
// {link id} unlinks it (KYB 2.0).
const (
	ApplicantsPath      = "/resources/applicants"
	IDDocSuffix         = "/info/idDoc"
	PendingSuffix       = "/status/pending"
	BeneficiariesSuffix = "/fixedInfo/companyInfo/beneficiaries"
)

// BeneficiaryTypes are the beneficiary types the fake takes.
var BeneficiaryTypes = []string{"ubo", "shareholder", "representative", "director"}

// Beneficiary is one link of a company applicant's structure, as the fake
// keeps it. The fake keeps every link it is sent, a repeat too: Sumsub
// does not document refusing one, so a test sees a link sent twice. A link
// is gone once unlinked by its ID.
type Beneficiary struct {
	ID          string // the link's own id
	ApplicantID string
	Types       []string
	ShareSize   *float64 // nil when not sent
}

// Doc is one uploaded document as the fake keeps it: what it is, never
// its bytes.
type Doc struct {
	IDDocType    string
	IDDocSubType string
	Country      string
	Size         int
	ContentType  string
	// Active is false for a document refused with Fastfail errors: Sumsub
	// keeps it but does not count it for the review.
	Active bool
}

// Applicant is one applicant as the fake keeps it.
type Applicant struct {
	ID, ExternalUserID, LevelName, Type, Email, Phone string
	FixedInfo                                         map[string]any
	// ReviewStatus is init until a review is asked for, then pending
	// (SetReviewStatus moves it further).
	ReviewStatus string
	// ReviewRequests counts the accepted status/pending calls, repeats
	// and refusals included.
	ReviewRequests int
	Docs           []Doc
}

// DocRefusal is how the fake answers the next document upload.
type DocRefusal struct {
	// ExternalUserID, when set, keeps the refusal for an upload to that
	// applicant: uploads to others pass it by.
	ExternalUserID string
	// Errors and Warnings (strings, or objects such as {"tag": …}) are
	// answered in a 200 when X-Return-Doc-Warnings is true, as Sumsub's
	// Fastfail does; with Errors the document is kept inactive.
	Errors, Warnings []any
	// Status, when set, answers an error instead and keeps nothing: e.g.
	// 400, ErrorCode 1004, ErrorName "corrupted-file".
	Status, ErrorCode int
	ErrorName         string
}

type fault struct {
	method, suffix string
	status         int
	after          bool // act first, then answer status (a lost answer)
}

// applicantsState is the Server's part for the API-driven review, guarded
// by its mutex.
type applicantsState struct {
	byExternal   map[string]*Applicant
	byID         map[string]*Applicant
	hashes       map[string]map[string]bool // applicant id → content hashes
	refusals     []DocRefusal
	missingSteps []string
	faults       []fault
	links        map[string][]Beneficiary // company applicant id → its links, in order
}

// RefuseNextDoc makes the next document upload answer as r says (calls
// queue up, one per upload; one with ExternalUserID waits for an upload to
// that applicant).
func (s *Server) RefuseNextDoc(r DocRefusal) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.api.refusals = append(s.api.refusals, r)
}

// SetMissingSteps makes every status/pending answer 409 "not all required
// documents" naming steps, until called with none. Without it the fake
// answers so only for an applicant with no active document.
func (s *Server) SetMissingSteps(steps ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.api.missingSteps = steps
}

// FailNext makes the next applicant request with method whose path ends
// with pathSuffix answer status (Sumsub's error shape, no errorCode)
// without acting: an outage. ApplicantsPath as the suffix matches the
// create; BeneficiariesSuffix matches an unlink (DELETE of a link under
// it) too.
func (s *Server) FailNext(method, pathSuffix string, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.api.faults = append(s.api.faults, fault{method, pathSuffix, status, false})
}

// LoseNextAnswer is FailNext for a request the fake carries out before
// answering status: the answer is lost on the way back.
func (s *Server) LoseNextAnswer(method, pathSuffix string, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.api.faults = append(s.api.faults, fault{method, pathSuffix, status, true})
}

// SetReviewStatus sets an applicant's review status (queued, completed, …).
func (s *Server) SetReviewStatus(applicantID, status string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a := s.api.byID[applicantID]; a != nil {
		a.ReviewStatus = status
	}
}

// Applicant returns a copy of the applicant with this externalUserId.
func (s *Server) Applicant(externalUserID string) (Applicant, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.api.byExternal[externalUserID]
	if a == nil {
		return Applicant{}, false
	}
	return a.clone(), true
}

// Beneficiaries returns the links of a company applicant (by Sumsub's
// id), in the order they were made.
func (s *Server) Beneficiaries(companyApplicantID string) []Beneficiary {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Beneficiary
	for _, b := range s.api.links[companyApplicantID] {
		out = append(out, b.clone())
	}
	return out
}

func (b Beneficiary) clone() Beneficiary {
	b.Types = append([]string(nil), b.Types...)
	if b.ShareSize != nil {
		share := *b.ShareSize
		b.ShareSize = &share
	}
	return b
}

// Docs returns the documents uploaded for an applicant (by Sumsub's id).
func (s *Server) Docs(applicantID string) []Doc {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a := s.api.byID[applicantID]; a != nil {
		return append([]Doc(nil), a.Docs...)
	}
	return nil
}

func (a *Applicant) clone() Applicant {
	c := *a
	c.FixedInfo = cloneMap(a.FixedInfo)
	c.Docs = append([]Doc(nil), a.Docs...)
	return c
}

func cloneMap(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	b, _ := json.Marshal(m)
	var c map[string]any
	json.Unmarshal(b, &c)
	return c
}

// inReview are the review statuses in which an applicant takes no
// documents and a repeated review request is "already in the state".
var inReview = map[string]bool{"pending": true, "queued": true, "prechecked": true, "onHold": true, "awaitingService": true}

var (
	alpha3 = regexp.MustCompile(`^[A-Z]{3}$`)
	isDate = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)
)

// applicantRoute is a request under ApplicantsPath, parsed.
type applicantRoute struct {
	who  string // "" (the collection), an id, or -;externalUserId=…
	rest string // "/one", "/status", "/fixedInfo", …
}

func parseApplicantRoute(escapedPath string) (applicantRoute, bool) {
	p := strings.TrimPrefix(escapedPath, ApplicantsPath)
	if p == "" {
		return applicantRoute{}, true
	}
	seg, rest, _ := strings.Cut(strings.TrimPrefix(p, "/"), "/")
	who, err := url.PathUnescape(seg)
	if err != nil || who == "" {
		return applicantRoute{}, false
	}
	if rest != "" {
		rest = "/" + rest
	}
	return applicantRoute{who: who, rest: rest}, true
}

// handler answers one request about applicant a (nil for the collection).
type handler func(w http.ResponseWriter, a *Applicant)

func (s *Server) serveApplicants(w http.ResponseWriter, r *http.Request, body []byte) {
	rt, ok := parseApplicantRoute(r.URL.EscapedPath())
	if !ok {
		WriteError(w, http.StatusNotFound, 0, "not found")
		return
	}
	var recorded map[string]any
	var h handler
	var reason string
	switch key := r.Method + " " + rt.rest; {
	case rt.who == "" && r.Method == http.MethodPost:
		recorded, reason = decodeObject(body)
		if reason == "" {
			h, reason = s.create(r.URL.Query().Get("levelName"), recorded)
		}
	case rt.who == "" && r.Method == http.MethodPatch:
		recorded, reason = decodeObject(body)
		if reason == "" {
			h, reason = s.patchProfile(recorded)
		}
	case rt.who == "":
		WriteError(w, http.StatusMethodNotAllowed, 0, "method not allowed")
		return
	case key == "GET /one":
		h = s.writeApplicant
	case key == "GET /status":
		h = writeStatus
	case key == "PATCH /fixedInfo", key == "PATCH /fixedInfo/companyInfo":
		recorded, reason = decodeObject(body)
		if reason == "" {
			reason = checkInfo(recorded)
		}
		h = patchInfo(rt.rest == "/fixedInfo/companyInfo", recorded)
	case key == "POST "+IDDocSuffix:
		var up upload
		up, recorded, reason = parseUpload(r, body)
		h = s.addDoc(up, r.Header.Get("X-Return-Doc-Warnings") == "true")
	case key == "POST "+PendingSuffix:
		h = s.requestReview
	case key == "POST "+BeneficiariesSuffix:
		recorded, reason = decodeObject(body)
		if reason == "" {
			h, reason = s.link(recorded)
		}
	case r.Method == http.MethodDelete && linkRoute(rt.rest) != "":
		h = s.unlink(linkRoute(rt.rest))
	default:
		WriteError(w, http.StatusNotFound, 0, "not found")
		return
	}
	if reason != "" {
		WriteError(w, http.StatusBadRequest, 0, reason)
		return
	}

	if !s.accept(w, r, recorded) {
		return
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	var lost *fault
	faultPath := r.URL.Path
	if r.Method == http.MethodDelete && linkRoute(rt.rest) != "" {
		// An unlink is a request about the company's beneficiaries.
		faultPath = strings.TrimSuffix(faultPath, "/"+linkRoute(rt.rest))
	}
	for i, f := range s.api.faults {
		if f.method == r.Method && (strings.HasSuffix(r.URL.Path, f.suffix) || strings.HasSuffix(faultPath, f.suffix)) {
			s.api.faults = append(s.api.faults[:i:i], s.api.faults[i+1:]...)
			if !f.after {
				WriteError(w, f.status, 0, "injected outage")
				return
			}
			lost = &f
			break
		}
	}
	var a *Applicant
	if rt.who != "" {
		if id, ok := strings.CutPrefix(rt.who, "-;externalUserId="); ok {
			a = s.api.byExternal[id]
		} else {
			a = s.api.byID[rt.who]
		}
		if a == nil {
			WriteError(w, http.StatusNotFound, 0, "Applicant not found")
			return
		}
	}
	if lost != nil {
		h(discard{}, a)
		WriteError(w, lost.status, 0, "injected outage after the change")
		return
	}
	h(w, a)
}

// discard is a ResponseWriter that drops the answer.
type discard struct{}

func (discard) Header() http.Header         { return http.Header{} }
func (discard) Write(b []byte) (int, error) { return len(b), nil }
func (discard) WriteHeader(int)             {}

func decodeObject(body []byte) (map[string]any, string) {
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil || m == nil {
		return nil, "body is not a JSON object"
	}
	return m, ""
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

// checkInfo checks fixedInfo (or companyInfo) as Sumsub would: countries
// alpha-3, dates YYYY-MM-DD.
func checkInfo(info map[string]any) string {
	for _, k := range []string{"country", "nationality"} {
		if v, ok := info[k]; ok && v != nil {
			if s, _ := v.(string); !alpha3.MatchString(s) {
				return fmt.Sprintf("Invalid country code in %s: %v", k, v)
			}
		}
	}
	for _, k := range []string{"dob", "incorporatedOn"} {
		if v, ok := info[k]; ok && v != nil {
			if s, _ := v.(string); !isDate.MatchString(s) {
				return fmt.Sprintf("Invalid date in %s: %v", k, v)
			}
		}
	}
	if addrs, ok := info["addresses"]; ok && addrs != nil {
		list, ok := addrs.([]any)
		if !ok {
			return "addresses must be an array"
		}
		for _, a := range list {
			m, ok := a.(map[string]any)
			if !ok {
				return "addresses must be objects"
			}
			if c := m["country"]; c != nil {
				if s, _ := c.(string); !alpha3.MatchString(s) {
					return fmt.Sprintf("Invalid country code in addresses: %v", c)
				}
			}
		}
	}
	if ci, ok := info["companyInfo"]; ok && ci != nil {
		m, ok := ci.(map[string]any)
		if !ok {
			return "companyInfo must be an object"
		}
		return checkInfo(m)
	}
	return ""
}

func newID() string {
	b := make([]byte, 12)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func (s *Server) create(level string, in map[string]any) (handler, string) {
	ext, _ := in["externalUserId"].(string)
	typ, _ := in["type"].(string)
	if typ == "" {
		typ = "individual"
	}
	info, _ := in["fixedInfo"].(map[string]any)
	switch {
	case level == "":
		return nil, "levelName is required"
	case ext == "":
		return nil, "externalUserId is required"
	case typ != "individual" && typ != "company":
		return nil, "type must be individual or company"
	case in["fixedInfo"] != nil && info == nil:
		return nil, "fixedInfo must be an object"
	}
	if reason := checkInfo(info); reason != "" {
		return nil, reason
	}
	email, _ := in["email"].(string)
	phone, _ := in["phone"].(string)
	return func(w http.ResponseWriter, _ *Applicant) {
		if a := s.api.byExternal[ext]; a != nil {
			// Sumsub's description quotes the externalUserId and names the
			// existing applicant.
			WriteError(w, http.StatusConflict, 0, fmt.Sprintf("Applicant with external user id '%s' already exists: %s", ext, a.ID))
			return
		}
		if s.api.byExternal == nil {
			s.api.byExternal, s.api.byID = map[string]*Applicant{}, map[string]*Applicant{}
		}
		a := &Applicant{ID: newID(), ExternalUserID: ext, LevelName: level, Type: typ, Email: email, Phone: phone,
			FixedInfo: cloneMap(info), ReviewStatus: "init"}
		if a.FixedInfo == nil {
			a.FixedInfo = map[string]any{}
		}
		s.api.byExternal[ext], s.api.byID[a.ID] = a, a
		s.writeApplicant(w, a)
	}, ""
}

// writeApplicant answers a; a company's fixedInfo.companyInfo lists its
// beneficiaries as Sumsub's does (KYB 2.0).
func (s *Server) writeApplicant(w http.ResponseWriter, a *Applicant) {
	info := a.FixedInfo
	if links := s.api.links[a.ID]; len(links) > 0 {
		info = cloneMap(info)
		ci, _ := info["companyInfo"].(map[string]any)
		if ci == nil {
			ci = map[string]any{}
			info["companyInfo"] = ci
		}
		var list []any
		for _, b := range links {
			m := map[string]any{"id": b.ID, "applicantId": b.ApplicantID, "types": b.Types}
			if b.ShareSize != nil {
				m["shareSize"] = *b.ShareSize
			}
			list = append(list, m)
		}
		ci["beneficiaries"] = list
	}
	writeJSON(w, map[string]any{
		"id": a.ID, "externalUserId": a.ExternalUserID, "type": a.Type, "email": a.Email, "phone": a.Phone,
		"fixedInfo": info, "review": map[string]any{"levelName": a.LevelName, "reviewStatus": a.ReviewStatus},
	})
}

// link checks a link of an existing applicant as KYB 2.0 documents it
// (applicantId and types required, no beneficiaryInfo with an
// applicantId, shareSize a percentage from 0 to 100) and answers the
// handler that makes it: the company must be a company applicant, the
// beneficiary another applicant.
func (s *Server) link(in map[string]any) (handler, string) {
	id, _ := in["applicantId"].(string)
	rawTypes, _ := in["types"].([]any)
	var types []string
	for _, t := range rawTypes {
		v, _ := t.(string)
		if !slices.Contains(BeneficiaryTypes, v) {
			return nil, fmt.Sprintf("Unknown beneficiary type: %v", t)
		}
		types = append(types, v)
	}
	var share *float64
	switch v := in["shareSize"].(type) {
	case nil:
	case float64:
		if v < 0 || v > 100 {
			return nil, fmt.Sprintf("shareSize must be a percentage: %v", v)
		}
		share = &v
	default:
		return nil, "shareSize must be a number"
	}
	switch {
	case id == "":
		return nil, "applicantId is required to link an existing applicant"
	case in["beneficiaryInfo"] != nil:
		return nil, "beneficiaryInfo must be excluded when applicantId is sent"
	case len(types) == 0:
		return nil, "types is required"
	}
	return func(w http.ResponseWriter, company *Applicant) {
		b := s.api.byID[id]
		switch {
		case company.Type != "company":
			WriteError(w, http.StatusBadRequest, 0, "Beneficiaries can only be linked to a company applicant")
			return
		case b == nil:
			WriteError(w, http.StatusNotFound, 0, "Beneficiary applicant not found")
			return
		case b.ID == company.ID:
			WriteError(w, http.StatusBadRequest, 0, "A company cannot be its own beneficiary")
			return
		}
		if s.api.links == nil {
			s.api.links = map[string][]Beneficiary{}
		}
		link := Beneficiary{ID: newID(), ApplicantID: id, Types: types, ShareSize: share}
		s.api.links[company.ID] = append(s.api.links[company.ID], link)
		answer := map[string]any{"id": link.ID, "applicantId": id, "types": types}
		if share != nil {
			answer["shareSize"] = *share
		}
		writeJSON(w, answer)
	}, ""
}

// linkRoute is the link id (unescaped) of a route under an applicant that
// names one of its links (BeneficiariesSuffix/{link id}, escaped), or "".
func linkRoute(rest string) string {
	seg, ok := strings.CutPrefix(rest, BeneficiariesSuffix+"/")
	if !ok || strings.Contains(seg, "/") {
		return ""
	}
	id, err := url.PathUnescape(seg)
	if err != nil {
		return ""
	}
	return id
}

// unlink answers the handler that removes the company's link linkID
// ("Unlink beneficiary from company", KYB 2.0): {"ok":1}, or a 404 for a
// link the company does not have (never made, or unlinked already).
func (s *Server) unlink(linkID string) handler {
	return func(w http.ResponseWriter, company *Applicant) {
		links := s.api.links[company.ID]
		i := slices.IndexFunc(links, func(b Beneficiary) bool { return b.ID == linkID })
		if i < 0 {
			WriteError(w, http.StatusNotFound, 0, "Company beneficiary not found: "+linkID)
			return
		}
		s.api.links[company.ID] = slices.Delete(links, i, i+1)
		writeJSON(w, map[string]int{"ok": 1})
	}
}

func writeStatus(w http.ResponseWriter, a *Applicant) {
	writeJSON(w, map[string]any{"levelName": a.LevelName, "reviewStatus": a.ReviewStatus})
}

func (s *Server) patchProfile(in map[string]any) (handler, string) {
	id, _ := in["id"].(string)
	if id == "" {
		return nil, "id is required"
	}
	return func(w http.ResponseWriter, _ *Applicant) {
		a := s.api.byID[id]
		if a == nil {
			WriteError(w, http.StatusNotFound, 0, "Applicant not found")
			return
		}
		if v, ok := in["email"].(string); ok {
			a.Email = v
		}
		if v, ok := in["phone"].(string); ok {
			a.Phone = v
		}
		s.writeApplicant(w, a)
	}, ""
}

// patchInfo merges in into the applicant's fixedInfo (company: its
// companyInfo); null fields are ignored, as Sumsub documents.
func patchInfo(company bool, in map[string]any) handler {
	return func(w http.ResponseWriter, a *Applicant) {
		if company != (a.Type == "company") {
			WriteError(w, http.StatusBadRequest, 0, "Use fixedInfo for individuals and fixedInfo/companyInfo for companies")
			return
		}
		target := a.FixedInfo
		if company {
			ci, _ := target["companyInfo"].(map[string]any)
			if ci == nil {
				ci = map[string]any{}
				target["companyInfo"] = ci
			}
			target = ci
		}
		for k, v := range cloneMap(in) {
			if v != nil {
				target[k] = v
			}
		}
		writeJSON(w, target)
	}
}

// upload is a document upload's form, parsed.
type upload struct {
	meta        map[string]any
	content     []byte
	contentType string
}

// parseUpload reads the multipart form as Sumsub would: a metadata part
// (JSON with idDocType and an alpha-3 country) and a content part (the
// file), other parts ignored.
func parseUpload(r *http.Request, body []byte) (upload, map[string]any, string) {
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" || params["boundary"] == "" {
		return upload{}, nil, "Content-Type must be multipart/form-data with a boundary"
	}
	var up upload
	var rawMeta []byte
	var haveContent bool
	mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return upload{}, nil, "malformed multipart body"
		}
		b, err := io.ReadAll(p)
		if err != nil {
			return upload{}, nil, "malformed multipart body"
		}
		switch p.FormName() {
		case "metadata":
			rawMeta = b
		case "content":
			if p.FileName() == "" {
				return upload{}, nil, "content must be a file"
			}
			up.content, up.contentType, haveContent = b, p.Header.Get("Content-Type"), true
		}
	}
	if rawMeta == nil {
		return upload{}, nil, "metadata is required"
	}
	if err := json.Unmarshal(rawMeta, &up.meta); err != nil || up.meta == nil {
		return upload{}, nil, "metadata is not a JSON object"
	}
	typ, _ := up.meta["idDocType"].(string)
	country, _ := up.meta["country"].(string)
	sub, _ := up.meta["idDocSubType"].(string)
	switch {
	case typ == "":
		return upload{}, up.meta, "idDocType is required"
	case !alpha3.MatchString(country):
		return upload{}, up.meta, "country must be an alpha-3 code"
	case sub != "" && sub != "FRONT_SIDE" && sub != "BACK_SIDE":
		return upload{}, up.meta, "idDocSubType must be FRONT_SIDE or BACK_SIDE"
	case !haveContent:
		return upload{}, up.meta, "content is required"
	}
	return up, up.meta, ""
}

func (s *Server) addDoc(up upload, warnings bool) handler {
	return func(w http.ResponseWriter, a *Applicant) {
		switch {
		case inReview[a.ReviewStatus]:
			WriteErrorNamed(w, http.StatusConflict, 1006, "no-upload-verification-in-progress", "Applicant is being checked. Adding new data is not allowed.")
			return
		case len(up.content) == 0:
			WriteErrorNamed(w, http.StatusBadRequest, 1003, "empty-file", "Uploaded file is empty")
			return
		}
		sum := sha256.Sum256(up.content)
		hash := hex.EncodeToString(sum[:])
		if s.api.hashes[a.ID][hash] {
			WriteErrorNamed(w, http.StatusConflict, 1000, "duplicate-document", "Duplicate document (image, video) was uploaded")
			return
		}
		var verdict DocRefusal
		for i, r := range s.api.refusals {
			if r.ExternalUserID == "" || r.ExternalUserID == a.ExternalUserID {
				verdict = r
				s.api.refusals = append(s.api.refusals[:i:i], s.api.refusals[i+1:]...)
				break
			}
		}
		if verdict.Status != 0 {
			WriteErrorNamed(w, verdict.Status, verdict.ErrorCode, verdict.ErrorName, "Document refused")
			return
		}
		if s.api.hashes == nil {
			s.api.hashes = map[string]map[string]bool{}
		}
		if s.api.hashes[a.ID] == nil {
			s.api.hashes[a.ID] = map[string]bool{}
		}
		s.api.hashes[a.ID][hash] = true
		str := func(k string) string { v, _ := up.meta[k].(string); return v }
		a.Docs = append(a.Docs, Doc{IDDocType: str("idDocType"), IDDocSubType: str("idDocSubType"), Country: str("country"),
			Size: len(up.content), ContentType: up.contentType, Active: len(verdict.Errors) == 0})
		answer := map[string]any{"idDocType": str("idDocType"), "country": str("country")}
		for _, k := range []string{"idDocSubType", "number"} {
			if v := str(k); v != "" {
				answer[k] = v
			}
		}
		if warnings && verdict.Errors != nil {
			answer["errors"] = verdict.Errors
		}
		if warnings && verdict.Warnings != nil {
			answer["warnings"] = verdict.Warnings
		}
		w.Header().Set("X-Image-Id", fmt.Sprint(len(a.Docs)))
		writeJSON(w, answer)
	}
}

func (s *Server) requestReview(w http.ResponseWriter, a *Applicant) {
	a.ReviewRequests++
	if inReview[a.ReviewStatus] {
		WriteErrorNamed(w, http.StatusConflict, 3000, "applicant-already-in-the-state", fmt.Sprintf("Applicant is already in the %q state", a.ReviewStatus))
		return
	}
	missing := s.api.missingSteps
	if len(missing) == 0 && !hasActiveDoc(a) {
		missing = []string{"IDENTITY"}
		if a.Type == "company" {
			missing = []string{"COMPANY"}
		}
	}
	if len(missing) > 0 {
		WriteError(w, http.StatusConflict, 0, fmt.Sprintf("Not all required documents or data are submitted. Make sure to complete [%s] beforehand.", strings.Join(missing, ", ")))
		return
	}
	a.ReviewStatus = "pending"
	writeJSON(w, map[string]int{"ok": 1})
}

func hasActiveDoc(a *Applicant) bool {
	for _, d := range a.Docs {
		if d.Active {
			return true
		}
	}
	return false
}
