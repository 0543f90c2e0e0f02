package sumsub_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/grid-kyc/kyc-link/pkg/kyc"
	"github.com/grid-kyc/kyc-link/pkg/sumsub"
	"github.com/grid-kyc/kyc-link/pkg/sumsub/sumsubtest"
)

// A business with two beneficial owners. Their personal data, like the
// customer's in applicants_test.go, must reach Sumsub only inside signed
// bodies.
const (
	kybID  = "Customer:019542f5-b3e7-1d02-0000-0000000000b1"
	ownerA = "BeneficialOwner:019542f5-b3e7-1d02-0000-0000000000a1"
	ownerB = "BeneficialOwner:019542f5-b3e7-1d02-0000-0000000000a2"

	ownerAFirst, ownerAMiddle, ownerALast = "Imogen", "Rosalind", "Fairweather"
	ownerBFirst, ownerBLast               = "Bastien", "Lacroix-Morel"
	ownerADOB, ownerBDOB                  = "1971-02-03", "1980-11-12"
	ownerATIN, ownerBTIN                  = "123-45-6789", "FR-TAX-77665544"
	ownerAStreet, ownerBStreet            = "4 Juniper Mews", "12 Rue des Tilleuls"
	ownerAEmail, ownerBEmail              = "imogen@example.com", "bastien@example.com"
	ownerAPhone, ownerBPhone              = "+442071234567", "+33612345678"
	ownerADocNo, ownerBDocNo              = "GB-P-5550001", "FR-DL-5550002"
	kybTaxID                              = "DE-TAX-31415926"
)

// ownerPersonalData is every value the owners test sends that may appear
// only inside a signed body.
var ownerPersonalData = []string{ownerAFirst, ownerAMiddle, ownerALast, ownerBFirst, ownerBLast, ownerADOB, ownerBDOB,
	ownerATIN, ownerBTIN, ownerAStreet, ownerBStreet, ownerAEmail, ownerBEmail, ownerAPhone, ownerBPhone,
	ownerADocNo, ownerBDocNo, kybTaxID, "OWNER-FILE", "OWNER-BYTES"}

func ownerDoc(docID, holder string, typ kyc.DocumentType, side, country, number string) kyc.ProviderDocument {
	return kyc.ProviderDocument{
		Document: kyc.Document{ID: docID, Holder: holder, Type: typ, Side: side, Country: country, Number: number,
			FileName: "OWNER-FILE-" + docID + ".png", ContentType: kyc.ContentTypePNG},
		Content: []byte("\x89PNG\r\n\x1a\nOWNER-BYTES-" + docID),
	}
}

// kybSubmission is business id with its document and two owners: A a UBO
// (60 %) and director with a passport, B an officer and control person
// (no share) with both sides of a driver's license.
func kybSubmission(id string) kyc.ProviderSubmission {
	c := kyc.Customer{ID: id, PlatformID: "p1", Type: kyc.Business, Email: "office@example.com",
		BusinessInfo: &kyc.BusinessInfo{LegalName: company, Country: "DE", RegistrationNumber: regNumber, IncorporatedOn: "2019-01-02"},
		Address:      &kyc.Address{Line1: "Unter den Linden 1", City: "Berlin", PostalCode: "10117", Country: "DE"}}
	a := kyc.BeneficialOwner{ID: ownerA, Roles: []string{kyc.RoleUBO, kyc.RoleDirector}, OwnershipPercentage: 60,
		FirstName: ownerAFirst, MiddleName: ownerAMiddle, LastName: ownerALast, BirthDate: ownerADOB, Nationality: "GB",
		Email: ownerAEmail, PhoneNumber: ownerAPhone, IDType: "SSN",
		Address: kyc.Address{Line1: ownerAStreet, City: "London", PostalCode: "N1 9GU", Country: "GB"}}
	b := kyc.BeneficialOwner{ID: ownerB, Roles: []string{kyc.RoleCompanyOfficer, kyc.RoleControlPerson},
		FirstName: ownerBFirst, LastName: ownerBLast, BirthDate: ownerBDOB, Nationality: "FR",
		Email: ownerBEmail, PhoneNumber: ownerBPhone, IDType: "NON_US_TAX_ID",
		Address: kyc.Address{Line1: ownerBStreet, City: "Lyon", PostalCode: "69002", Country: "FR"}}
	return kyc.ProviderSubmission{Customer: c, TaxID: kybTaxID,
		Documents: []kyc.ProviderDocument{ownerDoc("Document:inc", id, "CERTIFICATE_OF_INCORPORATION", "", "DE", "")},
		Owners: []kyc.ProviderOwner{
			{Owner: a, Identifier: ownerATIN, Documents: []kyc.ProviderDocument{
				ownerDoc("Document:a-pass", ownerA, "PASSPORT", "", "GB", ownerADocNo)}},
			{Owner: b, Identifier: ownerBTIN, Documents: []kyc.ProviderDocument{
				ownerDoc("Document:b-front", ownerB, "DRIVERS_LICENSE", kyc.SideFront, "FR", ownerBDocNo),
				ownerDoc("Document:b-back", ownerB, "DRIVERS_LICENSE", kyc.SideBack, "FR", ownerBDocNo)}},
		}}
}

// wire records what goes over the wire to Sumsub: each request's method,
// URL and headers (what a proxy or an access log would see). With
// crashAfter set, the job crashes once request number crashAfter has been
// carried out: its answer is lost and the job's context ends.
type wire struct {
	base       http.RoundTripper
	crashAfter int
	crash      context.CancelFunc

	mu   sync.Mutex
	n    int
	seen []string
}

func (w *wire) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := w.base.RoundTrip(r)
	w.mu.Lock()
	w.n++
	w.seen = append(w.seen, r.Method+" "+r.URL.String()+" "+fmt.Sprint(r.Header))
	crash := w.crashAfter > 0 && w.n == w.crashAfter
	w.mu.Unlock()
	if crash {
		if err == nil {
			io.Copy(io.Discard, resp.Body) // the fake has acted and answered
			resp.Body.Close()
		}
		w.crash()
		return nil, errors.New("the job crashed after the request was carried out")
	}
	return resp, err
}

func (w *wire) requests() (int, []string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.n, append([]string(nil), w.seen...)
}

func ownersReviewer(srv *sumsubtest.Server, w *wire) *sumsub.Reviewer {
	if w.base == nil {
		w.base = srv.Client().Transport
	}
	return &sumsub.Reviewer{Client: &sumsub.Client{BaseURL: srv.URL, HTTP: &http.Client{Transport: w}, Now: time.Now},
		Credentials: fixedCreds(srv.Creds),
		Levels:      map[kyc.CustomerType]string{kyc.Individual: "basic-kyc-level", kyc.Business: "kyb-level"}}
}

// lockedBuffer is a log destination safe for concurrent writers.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// captureLogs sends the process's logs (slog's default logger and the log
// package's, which the fake's HTTP server writes to) to a buffer for the
// rest of the test.
func captureLogs(t *testing.T) *lockedBuffer {
	t.Helper()
	buf := &lockedBuffer{}
	prev, prevOut, prevFlags := slog.Default(), log.Writer(), log.Flags()
	slog.SetDefault(slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug})))
	t.Cleanup(func() {
		slog.SetDefault(prev)
		log.SetOutput(prevOut)
		log.SetFlags(prevFlags)
	})
	return buf
}

// submitted is what Sumsub holds of a submission, by externalUserId
// (applicant ids differ from one fake to another).
type submitted struct {
	Applicants map[string]appState
	// Links are the company's beneficiaries: the linked applicant's
	// externalUserId, types and share.
	Links []string
}

type appState struct {
	Type, Level, ReviewStatus string
	FixedInfo                 map[string]any
	Email, Phone              string
	Docs                      []string
}

func stateOf(t *testing.T, srv *sumsubtest.Server, ids ...string) submitted {
	t.Helper()
	st := submitted{Applicants: map[string]appState{}}
	ext := map[string]string{} // applicant id → externalUserId
	var companyID string
	for _, id := range ids {
		a, ok := srv.Applicant(id)
		if !ok {
			t.Fatalf("no applicant for %s", id)
		}
		ext[a.ID] = id
		if a.Type == sumsub.ApplicantCompany {
			companyID = a.ID
		}
		s := appState{Type: a.Type, Level: a.LevelName, ReviewStatus: a.ReviewStatus, FixedInfo: a.FixedInfo, Email: a.Email, Phone: a.Phone}
		for _, d := range srv.Docs(a.ID) {
			s.Docs = append(s.Docs, fmt.Sprintf("%s/%s/%s/active=%t", d.IDDocType, d.IDDocSubType, d.Country, d.Active))
		}
		st.Applicants[id] = s
	}
	for _, b := range srv.Beneficiaries(companyID) {
		share := "-"
		if b.ShareSize != nil {
			share = fmt.Sprint(*b.ShareSize)
		}
		name, ok := ext[b.ApplicantID]
		if !ok {
			name = "unknown applicant " + b.ApplicantID
		}
		st.Links = append(st.Links, fmt.Sprintf("%s %v %s", name, b.Types, share))
	}
	return st
}

// linkPosts counts the link requests Sumsub accepted, by the applicant
// they link.
func linkPosts(srv *sumsubtest.Server) map[string]int {
	n := map[string]int{}
	for _, r := range srv.Accepted() {
		if r.Method == http.MethodPost && strings.HasSuffix(r.Path, sumsubtest.BeneficiariesSuffix) {
			id, _ := r.Body["applicantId"].(string)
			n[id]++
		}
	}
	return n
}

// unlinks lists the links (their own ids) Sumsub was asked to remove, in
// order, repeats included.
func unlinks(srv *sumsubtest.Server) []string {
	var ids []string
	for _, r := range srv.Accepted() {
		if r.Method == http.MethodDelete {
			dir, id, _ := strings.Cut(r.Path, sumsubtest.BeneficiariesSuffix+"/")
			if !strings.HasPrefix(dir, sumsubtest.ApplicantsPath+"/") || id == "" {
				id = "not an unlink: " + r.Path
			}
			ids = append(ids, id)
		}
	}
	return ids
}

// wantKYB is what Sumsub holds once kybSubmission(kybID) is submitted.
func wantKYB() submitted {
	return submitted{
		Applicants: map[string]appState{
			kybID: {Type: "company", Level: "kyb-level", ReviewStatus: "pending", Email: "office@example.com",
				FixedInfo: map[string]any{"companyInfo": map[string]any{"companyName": company, "registrationNumber": regNumber,
					"country": "DEU", "incorporatedOn": "2019-01-02", "taxId": kybTaxID, "legalAddress": "Unter den Linden 1, Berlin, 10117, DEU"}},
				Docs: []string{"INCORPORATION_CERT//DEU/active=true"}},
			ownerA: {Type: "individual", Level: "basic-kyc-level", ReviewStatus: "pending", Email: ownerAEmail, Phone: ownerAPhone,
				FixedInfo: map[string]any{"firstName": ownerAFirst, "middleName": ownerAMiddle, "lastName": ownerALast, "dob": ownerADOB,
					"nationality": "GBR", "country": "GBR", "tin": ownerATIN,
					"addresses": []any{map[string]any{"street": ownerAStreet, "town": "London", "postCode": "N1 9GU", "country": "GBR"}}},
				Docs: []string{"PASSPORT//GBR/active=true"}},
			ownerB: {Type: "individual", Level: "basic-kyc-level", ReviewStatus: "pending", Email: ownerBEmail, Phone: ownerBPhone,
				FixedInfo: map[string]any{"firstName": ownerBFirst, "lastName": ownerBLast, "dob": ownerBDOB,
					"nationality": "FRA", "country": "FRA", "tin": ownerBTIN,
					"addresses": []any{map[string]any{"street": ownerBStreet, "town": "Lyon", "postCode": "69002", "country": "FRA"}}},
				Docs: []string{"DRIVERS/FRONT_SIDE/FRA/active=true", "DRIVERS/BACK_SIDE/FRA/active=true"}},
		},
		// A: UBO and director, its 60 % share; B: officer and control
		// person, one representative, no share.
		Links: []string{ownerA + " [ubo director] 60", ownerB + " [representative] -"},
	}
}

// TestReviewerSubmitsOwners: a business with two owners is three
// applicants: the company's, and one per owner at the individual level
// with its data and its own documents, linked to the company's with the
// types and share its roles say. The owners' reviews are asked for before
// the company's, after the links. The identifiers travel only inside
// signed bodies: never in a URL or header, never logged. A repeat of the
// whole job changes nothing and links nobody twice.
func TestReviewerSubmitsOwners(t *testing.T) {
	logs := captureLogs(t)
	srv := sumsubtest.NewServer(sumsub.Credentials{AppToken: "tok", SecretKey: "key"})
	defer srv.Close()
	w := &wire{}
	r := ownersReviewer(srv, w)
	s := kybSubmission(kybID)
	for range 2 {
		if err := r.SubmitForReview(context.Background(), s); err != nil {
			t.Fatal(err)
		}
	}
	if diff := cmp.Diff(wantKYB(), stateOf(t, srv, kybID, ownerA, ownerB)); diff != "" {
		t.Errorf("Sumsub holds (-want +got):\n%s", diff)
	}
	company, _ := srv.Applicant(kybID)
	a, _ := srv.Applicant(ownerA)
	b, _ := srv.Applicant(ownerB)
	if diff := cmp.Diff(map[string]int{a.ID: 1, b.ID: 1}, linkPosts(srv)); diff != "" {
		t.Errorf("links sent per applicant (-want +got):\n%s", diff)
	}
	if got := unlinks(srv); len(got) != 0 {
		t.Errorf("links removed though the owners did not change: %v", got)
	}

	// The first run's order: links, then the owners' reviews, then the
	// company's.
	var order []string
	for _, req := range srv.Accepted() {
		switch {
		case strings.HasSuffix(req.Path, sumsubtest.BeneficiariesSuffix):
			order = append(order, "link")
		case strings.HasSuffix(req.Path, sumsubtest.PendingSuffix):
			who := map[string]string{company.ID: "company", a.ID: "A", b.ID: "B"}[strings.Split(req.Path, "/")[3]]
			order = append(order, "review "+who)
		}
	}
	if len(order) < 5 {
		t.Fatalf("links and reviews asked for: %v", order)
	}
	if diff := cmp.Diff([]string{"link", "link", "review A", "review B", "review company"}, order[:5]); diff != "" {
		t.Errorf("order of the first run (-want +got):\n%s", diff)
	}

	// Each identifier went in the signed body that created its owner's
	// applicant, and nowhere a proxy or a log would see it.
	created := map[string]any{}
	for _, req := range srv.Accepted() {
		if req.Method == http.MethodPost && req.Path == sumsubtest.ApplicantsPath {
			info, _ := req.Body["fixedInfo"].(map[string]any)
			created[req.Body["externalUserId"].(string)] = info["tin"]
		}
	}
	if diff := cmp.Diff(map[string]any{kybID: nil, ownerA: ownerATIN, ownerB: ownerBTIN}, created); diff != "" {
		t.Errorf("tin in the create bodies (-want +got):\n%s", diff)
	}
	_, seen := w.requests()
	for _, line := range append(seen, logs.String()) {
		for _, secret := range ownerPersonalData {
			if strings.Contains(line, secret) {
				t.Errorf("%q is outside a body: %s", secret, line)
			}
		}
	}
}

// TestReviewerOwnersRepeatAfterEachCrash: the job crashes after each of
// its requests in turn (Sumsub acted; the answer and the rest of the job
// are lost), then runs again: Sumsub ends up holding exactly what one
// clean run leaves, with each owner linked by one request only.
func TestReviewerOwnersRepeatAfterEachCrash(t *testing.T) {
	s := kybSubmission(kybID)
	clean := sumsubtest.NewServer(sumsub.Credentials{AppToken: "tok", SecretKey: "key"})
	w := &wire{}
	if err := ownersReviewer(clean, w).SubmitForReview(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	clean.Close()
	total, _ := w.requests()
	if total < 12 {
		t.Fatalf("a clean run made %d requests; want at least the 12 steps", total)
	}
	for k := 1; k <= total; k++ {
		t.Run(fmt.Sprintf("crash after request %d of %d", k, total), func(t *testing.T) {
			srv := sumsubtest.NewServer(sumsub.Credentials{AppToken: "tok", SecretKey: "key"})
			defer srv.Close()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			err := ownersReviewer(srv, &wire{crashAfter: k, crash: cancel}).SubmitForReview(ctx, s)
			if err == nil {
				t.Fatal("the crashed run succeeded")
			}
			if errors.As(err, new(*kyc.ProviderRefusal)) {
				t.Fatalf("the crash is a refusal: %v", err)
			}
			if err := ownersReviewer(srv, &wire{}).SubmitForReview(context.Background(), s); err != nil {
				t.Fatalf("the repeat = %v; want success", err)
			}
			if diff := cmp.Diff(wantKYB(), stateOf(t, srv, kybID, ownerA, ownerB)); diff != "" {
				t.Errorf("Sumsub holds (-want +got):\n%s", diff)
			}
			a, _ := srv.Applicant(ownerA)
			b, _ := srv.Applicant(ownerB)
			if diff := cmp.Diff(map[string]int{a.ID: 1, b.ID: 1}, linkPosts(srv)); diff != "" {
				t.Errorf("links sent per applicant (-want +got):\n%s", diff)
			}
		})
	}
}

// TestReviewerLinkAnswerLost: a link whose answer is lost (Sumsub linked)
// is not sent again: the retry reads the company's beneficiaries first.
// A link Sumsub did not make (an outage) is made by the next run.
func TestReviewerLinkAnswerLost(t *testing.T) {
	srv := sumsubtest.NewServer(sumsub.Credentials{AppToken: "tok", SecretKey: "key"})
	defer srv.Close()
	srv.LoseNextAnswer(http.MethodPost, sumsubtest.BeneficiariesSuffix, http.StatusBadGateway)
	if err := ownersReviewer(srv, &wire{}).SubmitForReview(context.Background(), kybSubmission(kybID)); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(wantKYB(), stateOf(t, srv, kybID, ownerA, ownerB)); diff != "" {
		t.Errorf("Sumsub holds (-want +got):\n%s", diff)
	}
	a, _ := srv.Applicant(ownerA)
	b, _ := srv.Applicant(ownerB)
	if diff := cmp.Diff(map[string]int{a.ID: 1, b.ID: 1}, linkPosts(srv)); diff != "" {
		t.Errorf("links sent per applicant (-want +got):\n%s", diff)
	}

	const other = "Customer:019542f5-b3e7-1d02-0000-0000000000b2"
	s := kybSubmission(other)
	for range 2 { // both attempts of the first link
		srv.FailNext(http.MethodPost, sumsubtest.BeneficiariesSuffix, http.StatusServiceUnavailable)
	}
	err := ownersReviewer(srv, &wire{}).SubmitForReview(context.Background(), s)
	if kyc.AsError(err).Code != kyc.CodeUnavailable {
		t.Fatalf("an outage of the links = %v; want unavailable", err)
	}
	if c, _ := srv.Applicant(other); c.ReviewRequests != 0 || len(srv.Beneficiaries(c.ID)) != 0 {
		t.Fatalf("after the outage: %d review requests, links %v; want none", c.ReviewRequests, srv.Beneficiaries(c.ID))
	}
	if err := ownersReviewer(srv, &wire{}).SubmitForReview(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	want := wantKYB()
	want.Applicants[other] = want.Applicants[kybID]
	delete(want.Applicants, kybID)
	if diff := cmp.Diff(want, stateOf(t, srv, other, ownerA, ownerB)); diff != "" {
		t.Errorf("Sumsub holds (-want +got):\n%s", diff)
	}
}

// TestLinkBeneficiaryConflict: a 409 to a link is "linked already" only
// when the company's beneficiaries show it.
func TestLinkBeneficiaryConflict(t *testing.T) {
	srv := sumsubtest.NewServer(creds)
	defer srv.Close()
	c := client(srv)
	ctx := context.Background()
	companyID, err := c.EnsureApplicant(ctx, creds, business("Customer:0195l1"))
	if err != nil {
		t.Fatal(err)
	}
	linked, err := c.EnsureApplicant(ctx, creds, individual(ownerA))
	if err != nil {
		t.Fatal(err)
	}
	other, err := c.EnsureApplicant(ctx, creds, individual(ownerB))
	if err != nil {
		t.Fatal(err)
	}
	share := 25.0
	if err := c.LinkBeneficiary(ctx, creds, companyID, sumsub.Beneficiary{ApplicantID: linked, Types: []string{sumsub.BeneficiaryUBO}, ShareSize: &share}); err != nil {
		t.Fatal(err)
	}
	srv.SetFail(func(w http.ResponseWriter, r *http.Request) bool {
		return failOn(w, r, "/resources/applicants/"+companyID+sumsubtest.BeneficiariesSuffix, http.StatusConflict)
	})
	if err := c.LinkBeneficiary(ctx, creds, companyID, sumsub.Beneficiary{ApplicantID: linked, Types: []string{sumsub.BeneficiaryUBO}}); err != nil {
		t.Errorf("409 for an applicant linked = %v; want linked", err)
	}
	err = c.LinkBeneficiary(ctx, creds, companyID, sumsub.Beneficiary{ApplicantID: other, Types: []string{sumsub.BeneficiaryDirector}})
	var apiErr *sumsub.APIError
	if !errors.As(err, &apiErr) || apiErr.Status != http.StatusConflict {
		t.Errorf("409 for an applicant not linked = %v; want the 409", err)
	}
	got, err := c.Beneficiaries(ctx, creds, companyID)
	link := srv.Beneficiaries(companyID)[0].ID
	if diff := cmp.Diff([]sumsub.Beneficiary{{ID: link, ApplicantID: linked, Types: []string{"ubo"}, ShareSize: &share}}, got); err != nil || diff != "" {
		t.Errorf("Beneficiaries = %v (-want +got):\n%s", err, diff)
	}
}

// TestReviewerOwnerRefusals: an owner's document Sumsub refuses names the
// document, and steps Sumsub still misses for an owner name the owner;
// either way the company is not sent to review. The platform fixes it and
// submits again.
func TestReviewerOwnerRefusals(t *testing.T) {
	srv := sumsubtest.NewServer(sumsub.Credentials{AppToken: "tok", SecretKey: "key"})
	defer srv.Close()
	r := ownersReviewer(srv, &wire{})
	ctx := context.Background()

	// B's front side is refused; the company's document and A's pass.
	s := kybSubmission(kybID)
	srv.RefuseNextDoc(sumsubtest.DocRefusal{ExternalUserID: ownerB, Errors: []any{"expiredDoc"}})
	err := r.SubmitForReview(ctx, s)
	var refusal *kyc.ProviderRefusal
	if !errors.As(err, &refusal) {
		t.Fatalf("refused document: %v", err)
	}
	want := []kyc.VerificationError{{ResourceID: "Document:b-front", Type: kyc.ErrExpiredDocument,
		Reason: "The provider refused this document (expiredDoc): upload a better one and submit again"}}
	if diff := cmp.Diff(want, refusal.Problems); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
	noOwnerData(t, refusal)
	for _, id := range []string{kybID, ownerA, ownerB} {
		if a, _ := srv.Applicant(id); a.ReviewRequests != 0 {
			t.Errorf("%s: %d review requests; want none while a document is refused", id, a.ReviewRequests)
		}
	}
	if company, _ := srv.Applicant(kybID); len(srv.Beneficiaries(company.ID)) != 0 {
		t.Errorf("links made while a document is refused: %v", srv.Beneficiaries(company.ID))
	}

	// B uploads a new front side; A and the company are unchanged.
	s.Owners[1].Documents[0] = ownerDoc("Document:b-front2", ownerB, "DRIVERS_LICENSE", kyc.SideFront, "FR", ownerBDocNo)
	if err := r.SubmitForReview(ctx, s); err != nil {
		t.Fatalf("the fixed submission = %v", err)
	}
	if b, _ := srv.Applicant(ownerB); b.ReviewStatus != "pending" {
		t.Errorf("B's review status %q; want pending", b.ReviewStatus)
	}

	// An owner with no identity document: Sumsub misses its IDENTITY
	// step, which names the owner; the company waits.
	const other = "Customer:019542f5-b3e7-1d02-0000-0000000000b3"
	const ownerC = "BeneficialOwner:019542f5-b3e7-1d02-0000-0000000000a3"
	s2 := kybSubmission(other)
	s2.Owners = s2.Owners[:1]
	s2.Owners[0].Owner.ID = ownerC
	docs := s2.Owners[0].Documents
	s2.Owners[0].Documents = nil
	err = r.SubmitForReview(ctx, s2)
	if !errors.As(err, &refusal) {
		t.Fatalf("missing steps: %v", err)
	}
	want = []kyc.VerificationError{{ResourceID: ownerC, Type: kyc.ErrMissingIdentityDoc,
		AcceptedDocumentTypes: kyc.IdentityDocuments, Reason: "The provider needs more for its review: IDENTITY"}}
	if diff := cmp.Diff(want, refusal.Problems); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
	noOwnerData(t, refusal)
	if c, _ := srv.Applicant(other); c.ReviewRequests != 0 {
		t.Errorf("the company's review was asked for (%d) while an owner misses documents", c.ReviewRequests)
	}
	s2.Owners[0].Documents = docs
	if err := r.SubmitForReview(ctx, s2); err != nil {
		t.Fatalf("the fixed submission = %v", err)
	}
	if c, _ := srv.Applicant(other); c.ReviewStatus != "pending" {
		t.Errorf("the company's review status %q; want pending", c.ReviewStatus)
	}

}

// noOwnerData fails the test if a refusal carries the owners' personal
// data.
func noOwnerData(t *testing.T, r *kyc.ProviderRefusal) {
	t.Helper()
	text := fmt.Sprintf("%v %+v", r, r.Problems)
	for _, secret := range ownerPersonalData {
		if strings.Contains(text, secret) {
			t.Errorf("the refusal carries %q: %s", secret, text)
		}
	}
}

// TestFakeBeneficiaries: the fake's link checks the signature as every
// call's, and refuses what KYB 2.0 refuses; nothing refused is linked.
func TestFakeBeneficiaries(t *testing.T) {
	srv := sumsubtest.NewServer(creds)
	defer srv.Close()
	c := client(srv)
	ctx := context.Background()
	companyID, err := c.EnsureApplicant(ctx, creds, business("Customer:0195f1"))
	if err != nil {
		t.Fatal(err)
	}
	person, err := c.EnsureApplicant(ctx, creds, individual(ownerA))
	if err != nil {
		t.Fatal(err)
	}
	share := func(v float64) *float64 { return &v }
	wrongKey := sumsub.Credentials{AppToken: creds.AppToken, SecretKey: "not-the-key"}
	for _, tc := range []struct {
		name      string
		creds     sumsub.Credentials
		companyID string
		b         sumsub.Beneficiary
		status    int
	}{
		{"wrong signature", wrongKey, companyID, sumsub.Beneficiary{ApplicantID: person, Types: []string{"ubo"}}, http.StatusUnauthorized},
		{"unknown type", creds, companyID, sumsub.Beneficiary{ApplicantID: person, Types: []string{"owner"}}, http.StatusBadRequest},
		{"share over 100", creds, companyID, sumsub.Beneficiary{ApplicantID: person, Types: []string{"ubo"}, ShareSize: share(150)}, http.StatusBadRequest},
		{"negative share", creds, companyID, sumsub.Beneficiary{ApplicantID: person, Types: []string{"ubo"}, ShareSize: share(-1)}, http.StatusBadRequest},
		{"to an individual", creds, person, sumsub.Beneficiary{ApplicantID: companyID, Types: []string{"ubo"}}, http.StatusBadRequest},
		{"to itself", creds, companyID, sumsub.Beneficiary{ApplicantID: companyID, Types: []string{"ubo"}}, http.StatusBadRequest},
		{"unknown applicant", creds, companyID, sumsub.Beneficiary{ApplicantID: "nobody", Types: []string{"ubo"}}, http.StatusNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := c.LinkBeneficiary(ctx, tc.creds, tc.companyID, tc.b)
			var apiErr *sumsub.APIError
			if !errors.As(err, &apiErr) || apiErr.Status != tc.status {
				t.Fatalf("LinkBeneficiary = %v; want HTTP %d", err, tc.status)
			}
		})
	}
	if srv.Rejected() != 1 {
		t.Errorf("%d requests failed authentication; want the one wrongly signed", srv.Rejected())
	}
	if got := srv.Beneficiaries(companyID); len(got) != 0 {
		t.Errorf("refused links were kept: %+v", got)
	}
	if err := c.LinkBeneficiary(ctx, creds, companyID, sumsub.Beneficiary{ApplicantID: person, Types: []string{"ubo", "director"}, ShareSize: share(42.5)}); err != nil {
		t.Fatal(err)
	}
	want := []sumsubtest.Beneficiary{{ApplicantID: person, Types: []string{"ubo", "director"}, ShareSize: share(42.5)}}
	if diff := cmp.Diff(want, srv.Beneficiaries(companyID), cmpopts.IgnoreFields(sumsubtest.Beneficiary{}, "ID")); diff != "" {
		t.Errorf("links (-want +got):\n%s", diff)
	}
}

// changedOwners is kybSubmission(id) after the platform's PATCHes of the
// owners: A now only the control person with no share, B a 70 % UBO.
func changedOwners(id string) kyc.ProviderSubmission {
	s := kybSubmission(id)
	s.Owners[0].Owner.Roles, s.Owners[0].Owner.OwnershipPercentage = []string{kyc.RoleControlPerson}, 0
	s.Owners[1].Owner.Roles, s.Owners[1].Owner.OwnershipPercentage = []string{kyc.RoleUBO}, 70
	return s
}

// TestReviewerRelinksChangedOwnersOnly: an owner whose share changed
// loses its link and is linked anew with its share; the owner that did
// not change keeps its link (the same link id), untouched.
func TestReviewerRelinksChangedOwnersOnly(t *testing.T) {
	srv := sumsubtest.NewServer(sumsub.Credentials{AppToken: "tok", SecretKey: "key"})
	defer srv.Close()
	r := ownersReviewer(srv, &wire{})
	ctx := context.Background()
	s := kybSubmission(kybID)
	if err := r.SubmitForReview(ctx, s); err != nil {
		t.Fatal(err)
	}
	company, _ := srv.Applicant(kybID)
	before := srv.Beneficiaries(company.ID)
	s.Owners[0].Owner.OwnershipPercentage = 55
	if err := r.SubmitForReview(ctx, s); err != nil {
		t.Fatal(err)
	}
	want := []string{ownerB + " [representative] -", ownerA + " [ubo director] 55"}
	if diff := cmp.Diff(want, stateOf(t, srv, kybID, ownerA, ownerB).Links); diff != "" {
		t.Errorf("the company's beneficiaries (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{before[0].ID}, unlinks(srv)); diff != "" {
		t.Errorf("links removed (-want +got):\n%s", diff)
	}
	if after := srv.Beneficiaries(company.ID); after[0].ID != before[1].ID {
		t.Errorf("B's link is %s, was %s; want it kept", after[0].ID, before[1].ID)
	}
}

// TestReviewerRelinkRepeatAfterEachCrash: a submission sent back after
// the links (Sumsub missed steps), the owners' roles and shares changed,
// then the submission again, crashing after each of its requests in turn
// (the unlinks and the new links among them), then once more: Sumsub ends
// up with each owner linked once, as its new roles say, each old link
// removed by one request and each owner linked anew by one.
func TestReviewerRelinkRepeatAfterEachCrash(t *testing.T) {
	first := func(t *testing.T, srv *sumsubtest.Server) {
		t.Helper()
		srv.SetMissingSteps("IDENTITY")
		if err := ownersReviewer(srv, &wire{}).SubmitForReview(context.Background(), kybSubmission(kybID)); !errors.As(err, new(*kyc.ProviderRefusal)) {
			t.Fatalf("first submission = %v; want a refusal after the links", err)
		}
		srv.SetMissingSteps()
	}
	s := changedOwners(kybID)
	want := wantKYB()
	want.Links = []string{ownerA + " [representative] -", ownerB + " [ubo] 70"}

	clean := sumsubtest.NewServer(sumsub.Credentials{AppToken: "tok", SecretKey: "key"})
	first(t, clean)
	w := &wire{}
	if err := ownersReviewer(clean, w).SubmitForReview(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, stateOf(t, clean, kybID, ownerA, ownerB)); diff != "" {
		t.Errorf("a clean run leaves (-want +got):\n%s", diff)
	}
	clean.Close()
	total, seen := w.requests()
	var deletes int
	for _, line := range seen {
		if strings.HasPrefix(line, http.MethodDelete+" ") {
			deletes++
		}
	}
	if deletes != 2 {
		t.Fatalf("a clean run sent %d unlinks; want one per owner", deletes)
	}
	for k := 1; k <= total; k++ {
		t.Run(fmt.Sprintf("crash after request %d of %d", k, total), func(t *testing.T) {
			srv := sumsubtest.NewServer(sumsub.Credentials{AppToken: "tok", SecretKey: "key"})
			defer srv.Close()
			first(t, srv)
			old := srv.Beneficiaries(func() string { c, _ := srv.Applicant(kybID); return c.ID }())
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			err := ownersReviewer(srv, &wire{crashAfter: k, crash: cancel}).SubmitForReview(ctx, s)
			if err == nil {
				t.Fatal("the crashed run succeeded")
			}
			if errors.As(err, new(*kyc.ProviderRefusal)) {
				t.Fatalf("the crash is a refusal: %v", err)
			}
			if err := ownersReviewer(srv, &wire{}).SubmitForReview(context.Background(), s); err != nil {
				t.Fatalf("the repeat = %v; want success", err)
			}
			if diff := cmp.Diff(want, stateOf(t, srv, kybID, ownerA, ownerB)); diff != "" {
				t.Errorf("Sumsub holds (-want +got):\n%s", diff)
			}
			a, _ := srv.Applicant(ownerA)
			b, _ := srv.Applicant(ownerB)
			if diff := cmp.Diff(map[string]int{a.ID: 2, b.ID: 2}, linkPosts(srv)); diff != "" {
				t.Errorf("links sent per applicant, first submission's included (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]string{old[0].ID, old[1].ID}, unlinks(srv)); diff != "" {
				t.Errorf("links removed (-want +got):\n%s", diff)
			}
		})
	}
}

// TestUnlinkBeneficiary: an unlink is signed like every call and removes
// only the link named; it is safe to repeat, an unknown link (Sumsub's 404)
// being gone already, and an answer lost on the way back is retried to
// that 404. The fake answers the unlink as Sumsub does.
func TestUnlinkBeneficiary(t *testing.T) {
	srv := sumsubtest.NewServer(creds)
	defer srv.Close()
	c := client(srv)
	ctx := context.Background()
	companyID, err := c.EnsureApplicant(ctx, creds, business("Customer:0195u1"))
	if err != nil {
		t.Fatal(err)
	}
	var people []string
	for _, ext := range []string{ownerA, ownerB} {
		id, err := c.EnsureApplicant(ctx, creds, individual(ext))
		if err != nil {
			t.Fatal(err)
		}
		if err := c.LinkBeneficiary(ctx, creds, companyID, sumsub.Beneficiary{ApplicantID: id, Types: []string{sumsub.BeneficiaryDirector}}); err != nil {
			t.Fatal(err)
		}
		people = append(people, id)
	}
	links, err := c.Beneficiaries(ctx, creds, companyID)
	if err != nil || len(links) != 2 || links[0].ID == "" || links[1].ID == "" {
		t.Fatalf("Beneficiaries = %+v, %v; want both links with their ids", links, err)
	}
	remaining := func() []string {
		var ids []string
		for _, b := range srv.Beneficiaries(companyID) {
			ids = append(ids, b.ApplicantID)
		}
		return ids
	}

	wrongKey := sumsub.Credentials{AppToken: creds.AppToken, SecretKey: "not-the-key"}
	var apiErr *sumsub.APIError
	if err := c.UnlinkBeneficiary(ctx, wrongKey, companyID, links[0].ID); !errors.As(err, &apiErr) || apiErr.Status != http.StatusUnauthorized {
		t.Errorf("unlink wrongly signed = %v; want HTTP 401", err)
	}
	if err := c.UnlinkBeneficiary(ctx, creds, companyID, ""); !errors.Is(err, sumsub.ErrInvalidRequest) {
		t.Errorf("unlink without a link id = %v; want ErrInvalidRequest", err)
	}
	if diff := cmp.Diff(people, remaining()); diff != "" {
		t.Errorf("links after refused unlinks (-want +got):\n%s", diff)
	}

	// The first link by its id (not its applicant's), then again.
	for range 2 {
		if err := c.UnlinkBeneficiary(ctx, creds, companyID, links[0].ID); err != nil {
			t.Fatalf("unlink = %v", err)
		}
		if diff := cmp.Diff(people[1:], remaining()); diff != "" {
			t.Errorf("links after the unlink (-want +got):\n%s", diff)
		}
	}

	// What the fake answers: 404 for the link it no longer has, ok for one
	// it has (the answer lost on the way back, then the retry's 404).
	raw := func(link string) (int, map[string]any) {
		t.Helper()
		path := "/resources/applicants/" + companyID + sumsubtest.BeneficiariesSuffix + "/" + link
		ts := strconv.FormatInt(time.Now().Unix(), 10)
		req, _ := http.NewRequest(http.MethodDelete, srv.URL+path, nil)
		req.Header.Set("X-App-Token", creds.AppToken)
		req.Header.Set("X-App-Access-Ts", ts)
		req.Header.Set("X-App-Access-Sig", sumsub.Sign(creds.SecretKey, ts, http.MethodDelete, path, nil))
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body map[string]any
		json.NewDecoder(resp.Body).Decode(&body)
		return resp.StatusCode, body
	}
	if status, body := raw(links[0].ID); status != http.StatusNotFound || !strings.HasPrefix(fmt.Sprint(body["description"]), "Company beneficiary not found") {
		t.Errorf("unlink of an unknown link: HTTP %d %v; want 404 Company beneficiary not found", status, body)
	}
	n := len(unlinks(srv))
	srv.LoseNextAnswer(http.MethodDelete, sumsubtest.BeneficiariesSuffix, http.StatusBadGateway)
	if err := c.UnlinkBeneficiary(ctx, creds, companyID, links[1].ID); err != nil {
		t.Fatalf("unlink whose answer was lost = %v", err)
	}
	if got := len(unlinks(srv)) - n; got != 2 || len(remaining()) != 0 {
		t.Errorf("lost answer: %d requests, links %v; want the retry, no link left", got, remaining())
	}

	// An outage (twice: both attempts) leaves the link; it is the error.
	if err := c.LinkBeneficiary(ctx, creds, companyID, sumsub.Beneficiary{ApplicantID: people[0], Types: []string{sumsub.BeneficiaryUBO}}); err != nil {
		t.Fatal(err)
	}
	link := srv.Beneficiaries(companyID)[0].ID
	for range 2 {
		srv.FailNext(http.MethodDelete, sumsubtest.BeneficiariesSuffix, http.StatusServiceUnavailable)
	}
	if err := c.UnlinkBeneficiary(ctx, creds, companyID, link); !errors.As(err, &apiErr) || apiErr.Status != http.StatusServiceUnavailable {
		t.Errorf("unlink in an outage = %v; want HTTP 503", err)
	}
	if status, body := raw(link); status != http.StatusOK || fmt.Sprint(body["ok"]) != "1" {
		t.Errorf("unlink of a link: HTTP %d %v; want 200 {\"ok\":1}", status, body)
	}
	if got := remaining(); len(got) != 0 {
		t.Errorf("links left: %v", got)
	}
}
