package sumsub_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/grid-kyc/kyc-link/pkg/kyc"
	"github.com/grid-kyc/kyc-link/pkg/sumsub"
	"github.com/grid-kyc/kyc-link/pkg/sumsub/sumsubtest"
)

func client(srv *sumsubtest.Server) *sumsub.Client {
	return &sumsub.Client{BaseURL: srv.URL, HTTP: srv.Client(), Now: time.Now}
}

// Personal data used below: none of it may appear in an error.
const (
	firstName = "Zelda"
	lastName  = "Quartermaine"
	dob       = "1987-06-05"
	tin       = "TIN-998877"
	street    = "17 Cherry Tree Lane"
	email     = "zelda@example.com"
	phone     = "+14155550123"
	docNumber = "P7654321"
	fileName  = "zelda-quartermaine-passport.png"
	company   = "Quartermaine Holdings Ltd"
	regNumber = "REG-424242"
)

// docBytes marks the document's content so a leak would show.
var docBytes = []byte("\x89PNG\r\n\x1a\nDOCUMENT-CONTENT-OF-ZELDA")

func individual(ext string) sumsub.ApplicantData {
	return sumsub.ApplicantData{
		ExternalUserID: ext, LevelName: "basic kyc level", Email: email, Phone: phone,
		FirstName: firstName, LastName: lastName, DOB: dob, Nationality: "GBR", Country: "GBR", TIN: tin,
		Address: &sumsub.ApplicantAddress{Street: street, Town: "London", PostCode: "W1 1AA", Country: "GBR"},
	}
}

func business(ext string) sumsub.ApplicantData {
	return sumsub.ApplicantData{
		ExternalUserID: ext, LevelName: "kyb-level", Type: sumsub.ApplicantCompany, Email: email,
		CompanyName: company, RegistrationNumber: regNumber, IncorporatedOn: "2019-01-02", CompanyCountry: "DEU", TIN: tin,
		Address: &sumsub.ApplicantAddress{Street: street, Town: "Berlin", PostCode: "10115", Country: "DEU"},
	}
}

func passport() sumsub.IDDoc {
	return sumsub.IDDoc{IDDocType: "PASSPORT", Country: "GBR", Number: docNumber, FileName: fileName, ContentType: "image/png", Content: docBytes}
}

// requests lists the accepted requests as "METHOD path".
func requests(srv *sumsubtest.Server) []string {
	var out []string
	for _, r := range srv.Accepted() {
		out = append(out, r.Method+" "+r.Path)
	}
	return out
}

func TestEnsureApplicantCreates(t *testing.T) {
	for _, tc := range []struct {
		name      string
		data      sumsub.ApplicantData
		wantType  string
		wantInfo  map[string]any
		wantLevel string
	}{
		{
			name: "individual", data: individual("Customer:0195a1"), wantType: "individual", wantLevel: "basic kyc level",
			wantInfo: map[string]any{
				"firstName": firstName, "lastName": lastName, "dob": dob, "nationality": "GBR", "country": "GBR", "tin": tin,
				"addresses": []any{map[string]any{"street": street, "town": "London", "postCode": "W1 1AA", "country": "GBR"}},
			},
		},
		{
			name: "company", data: business("Customer:0195b2"), wantType: "company", wantLevel: "kyb-level",
			wantInfo: map[string]any{"companyInfo": map[string]any{
				"companyName": company, "registrationNumber": regNumber, "country": "DEU", "incorporatedOn": "2019-01-02",
				"taxId": tin, "legalAddress": street + ", Berlin, 10115, DEU",
			}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := sumsubtest.NewServer(creds)
			defer srv.Close()
			id, err := client(srv).EnsureApplicant(context.Background(), creds, tc.data)
			if err != nil {
				t.Fatal(err)
			}
			got, ok := srv.Applicant(tc.data.ExternalUserID)
			if !ok || got.ID != id {
				t.Fatalf("the fake has %+v (found %t); want applicant %s", got, ok, id)
			}
			want := sumsubtest.Applicant{
				ID: id, ExternalUserID: tc.data.ExternalUserID, LevelName: tc.wantLevel, Type: tc.wantType,
				Email: tc.data.Email, Phone: tc.data.Phone, FixedInfo: tc.wantInfo, ReviewStatus: "init",
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("applicant (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]string{"POST /resources/applicants"}, requests(srv)); diff != "" {
				t.Errorf("requests (-want +got):\n%s", diff)
			}
			if n := srv.Rejected(); n != 0 {
				t.Errorf("the fake refused %d requests' signatures", n)
			}
		})
	}
}

// A second call (409) reads the applicant and patches its data: the same
// id and, for the same data, the same applicant.
func TestEnsureApplicantIsIdempotent(t *testing.T) {
	for _, tc := range []struct {
		name      string
		data      sumsub.ApplicantData
		wantPatch string
	}{
		{"individual", individual("Customer:0195c3"), "PATCH /resources/applicants/%s/fixedInfo"},
		{"company", business("Customer:0195d4"), "PATCH /resources/applicants/%s/fixedInfo/companyInfo"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := sumsubtest.NewServer(creds)
			defer srv.Close()
			c := client(srv)
			first, err := c.EnsureApplicant(context.Background(), creds, tc.data)
			if err != nil {
				t.Fatal(err)
			}
			before, _ := srv.Applicant(tc.data.ExternalUserID)
			second, err := c.EnsureApplicant(context.Background(), creds, tc.data)
			if err != nil || second != first {
				t.Fatalf("second call = %q, %v; want %q", second, err, first)
			}
			after, _ := srv.Applicant(tc.data.ExternalUserID)
			if diff := cmp.Diff(before, after); diff != "" {
				t.Errorf("the same data twice changed the applicant (-first +second):\n%s", diff)
			}
			want := []string{
				"POST /resources/applicants",
				"POST /resources/applicants",
				"GET /resources/applicants/-;externalUserId=" + tc.data.ExternalUserID + "/one",
				fmt.Sprintf(tc.wantPatch, first),
			}
			if diff := cmp.Diff(want, requests(srv)); diff != "" {
				t.Errorf("requests (-want +got):\n%s", diff)
			}
		})
	}
}

func TestEnsureApplicantUpdatesAnExistingApplicant(t *testing.T) {
	srv := sumsubtest.NewServer(creds)
	defer srv.Close()
	c := client(srv)
	d := individual("Customer:0195e5")
	id, err := c.EnsureApplicant(context.Background(), creds, d)
	if err != nil {
		t.Fatal(err)
	}
	d.LastName, d.Email, d.Address = "Quartermaine-Smith", "zelda.q@example.com", &sumsub.ApplicantAddress{Street: "1 New Road", Country: "FRA"}
	if again, err := c.EnsureApplicant(context.Background(), creds, d); err != nil || again != id {
		t.Fatalf("update = %q, %v; want %q", again, err, id)
	}
	got, _ := srv.Applicant(d.ExternalUserID)
	if got.Email != d.Email || got.FixedInfo["lastName"] != d.LastName || got.FixedInfo["firstName"] != firstName {
		t.Errorf("after the update: email %q, fixedInfo %v", got.Email, got.FixedInfo)
	}
	if diff := cmp.Diff([]any{map[string]any{"street": "1 New Road", "country": "FRA"}}, got.FixedInfo["addresses"]); diff != "" {
		t.Errorf("addresses (-want +got):\n%s", diff)
	}
	if n := srv.Count("/resources/applicants"); n != 3 { // two creates and the email's PATCH
		t.Errorf("%d requests to /resources/applicants; want 3", n)
	}
}

// Sumsub creates the applicant but its answer is lost (502): the retry's
// 409 leads to the same applicant, never a second one.
func TestEnsureApplicantAfterALostAnswer(t *testing.T) {
	srv := sumsubtest.NewServer(creds)
	defer srv.Close()
	srv.LoseNextAnswer(http.MethodPost, sumsubtest.ApplicantsPath, http.StatusBadGateway)
	d := individual("Customer:0195f6")
	id, err := client(srv).EnsureApplicant(context.Background(), creds, d)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := srv.Applicant(d.ExternalUserID); got.ID != id {
		t.Fatalf("answered %q; the fake has %q", id, got.ID)
	}
}

func TestEnsureApplicantRefusals(t *testing.T) {
	srv := sumsubtest.NewServer(creds)
	defer srv.Close()
	c := client(srv)
	if _, err := c.EnsureApplicant(context.Background(), creds, individual("Customer:0195g7")); err != nil {
		t.Fatal(err)
	}
	company := business("Customer:0195g7")
	_, err := c.EnsureApplicant(context.Background(), creds, company)
	if !errors.Is(err, sumsub.ErrApplicantType) {
		t.Errorf("a company where an individual exists = %v; want ErrApplicantType", err)
	}
	for name, d := range map[string]sumsub.ApplicantData{
		"no external id": {LevelName: "l"},
		"no level":       {ExternalUserID: "Customer:1"},
		"unknown type":   {ExternalUserID: "Customer:1", LevelName: "l", Type: "trust"},
	} {
		_, err := c.EnsureApplicant(context.Background(), creds, d)
		if !errors.Is(err, sumsub.ErrInvalidRequest) || kyc.AsError(sumsub.Classify(err)).Code != kyc.CodeInternal {
			t.Errorf("%s: %v; want ErrInvalidRequest, an internal error", name, err)
		}
	}
}

func TestUploadIDDoc(t *testing.T) {
	srv := sumsubtest.NewServer(creds)
	defer srv.Close()
	c := client(srv)
	id, err := c.EnsureApplicant(context.Background(), creds, individual("Customer:0195h8"))
	if err != nil {
		t.Fatal(err)
	}
	srv.RefuseNextDoc(sumsubtest.DocRefusal{Warnings: []any{"badPhoto", map[string]any{"code": "screenshot", "description": "the image of " + firstName}}})
	w, err := c.UploadIDDoc(context.Background(), creds, id, passport())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(sumsub.DocWarnings{Warnings: []string{"badPhoto", "screenshot"}}, w); diff != "" {
		t.Errorf("warnings (-want +got):\n%s", diff)
	}
	back := sumsub.IDDoc{IDDocType: "ID_CARD", IDDocSubType: "BACK_SIDE", Country: "FRA", Content: []byte("other side")}
	if _, err := c.UploadIDDoc(context.Background(), creds, id, back); err != nil {
		t.Fatal(err)
	}
	want := []sumsubtest.Doc{
		{IDDocType: "PASSPORT", Country: "GBR", Size: len(docBytes), ContentType: "image/png", Active: true},
		{IDDocType: "ID_CARD", IDDocSubType: "BACK_SIDE", Country: "FRA", Size: len("other side"), ContentType: "application/octet-stream", Active: true},
	}
	if diff := cmp.Diff(want, srv.Docs(id)); diff != "" {
		t.Errorf("documents (-want +got):\n%s", diff)
	}
	var metas []map[string]any
	for _, r := range srv.Accepted() {
		if strings.HasSuffix(r.Path, sumsubtest.IDDocSuffix) {
			metas = append(metas, r.Body)
		}
	}
	wantMeta := []map[string]any{
		{"idDocType": "PASSPORT", "country": "GBR", "number": docNumber},
		{"idDocType": "ID_CARD", "idDocSubType": "BACK_SIDE", "country": "FRA"},
	}
	if diff := cmp.Diff(wantMeta, metas); diff != "" {
		t.Errorf("metadata parts (-want +got):\n%s", diff)
	}
}

// tamper changes one byte of an upload's body after it was signed.
type tamper struct {
	base http.RoundTripper
	edit func(body []byte) // nil: resend the bytes unchanged
}

func (t tamper) RoundTrip(r *http.Request) (*http.Response, error) {
	if !strings.HasSuffix(r.URL.Path, sumsubtest.IDDocSuffix) {
		return t.base.RoundTrip(r)
	}
	b, err := io.ReadAll(r.Body)
	r.Body.Close()
	if err != nil {
		return nil, err
	}
	if t.edit != nil {
		t.edit(b)
	}
	r = r.Clone(r.Context())
	r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(b)), int64(len(b))
	return t.base.RoundTrip(r)
}

// The signature covers the whole multipart body, boundaries included:
// one byte changed anywhere after signing is a 401 (errorCode 4003).
func TestUploadSignatureCoversTheExactMultipartBytes(t *testing.T) {
	flip := func(find string) func([]byte) {
		return func(b []byte) {
			i := bytes.Index(b, []byte(find))
			if i < 0 {
				panic("no " + find + " in the body")
			}
			b[i] ^= 0x01
		}
	}
	for _, tc := range []struct {
		name string
		edit func([]byte)
		want int
	}{
		{"unchanged", nil, 200},
		{"a byte of the file", flip("DOCUMENT-CONTENT"), 401},
		{"a byte of the metadata", flip("PASSPORT"), 401},
		{"a byte of a boundary", func(b []byte) { b[2] ^= 0x01 }, 401},
		{"the last byte", func(b []byte) { b[len(b)-1] ^= 0x01 }, 401},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := sumsubtest.NewServer(creds)
			defer srv.Close()
			id, err := client(srv).EnsureApplicant(context.Background(), creds, individual("Customer:0195i9"))
			if err != nil {
				t.Fatal(err)
			}
			c := &sumsub.Client{BaseURL: srv.URL, HTTP: &http.Client{Transport: tamper{srv.Client().Transport, tc.edit}}, Now: time.Now}
			_, err = c.UploadIDDoc(context.Background(), creds, id, passport())
			if tc.want == 200 {
				if err != nil || len(srv.Docs(id)) != 1 {
					t.Fatalf("the untouched upload = %v with %d documents; want it stored", err, len(srv.Docs(id)))
				}
				return
			}
			var apiErr *sumsub.APIError
			if !errors.As(err, &apiErr) || apiErr.Status != 401 || apiErr.ErrorCode != 4003 {
				t.Fatalf("tampered upload = %v; want HTTP 401, errorCode 4003", err)
			}
			if srv.Rejected() != 1 || len(srv.Docs(id)) != 0 {
				t.Errorf("rejected %d, stored %d documents; want 1 rejected, none stored", srv.Rejected(), len(srv.Docs(id)))
			}
		})
	}
}

// A refused document is a *DocRejected; an outage never is.
func TestUploadRefusalOrOutage(t *testing.T) {
	for _, tc := range []struct {
		name    string
		setup   func(srv *sumsubtest.Server, id string)
		timeout time.Duration
		creds   *sumsub.Credentials // instead of the right ones
		// want
		rejected *sumsub.DocRejected
		warnings sumsub.DocWarnings
		is       error
		code     kyc.Code // of Classify, when not a refusal
		docs     int      // stored
	}{
		{
			name: "Fastfail errors as tags",
			setup: func(srv *sumsubtest.Server, _ string) {
				srv.RefuseNextDoc(sumsubtest.DocRefusal{Errors: []any{"forbiddenDocument", "dataNotReadable"}, Warnings: []any{"badPhoto"}})
			},
			rejected: &sumsub.DocRejected{Tags: []string{"forbiddenDocument", "dataNotReadable"}, Status: 200},
			warnings: sumsub.DocWarnings{Errors: []string{"forbiddenDocument", "dataNotReadable"}, Warnings: []string{"badPhoto"}},
			docs:     1,
		},
		{
			name: "Fastfail errors as objects",
			setup: func(srv *sumsubtest.Server, _ string) {
				srv.RefuseNextDoc(sumsubtest.DocRefusal{Errors: []any{
					map[string]any{"tag": "expiredDoc", "description": "expired on " + dob},
					map[string]any{"code": 17},
					map[string]any{"description": "the name " + lastName + " does not match"},
				}})
			},
			rejected: &sumsub.DocRejected{Tags: []string{"expiredDoc", "17", "unrecognised"}, Status: 200},
			warnings: sumsub.DocWarnings{Errors: []string{"expiredDoc", "17", "unrecognised"}},
			docs:     1,
		},
		{
			name: "upload error on the file",
			setup: func(srv *sumsubtest.Server, _ string) {
				srv.RefuseNextDoc(sumsubtest.DocRefusal{Status: 400, ErrorCode: 1004, ErrorName: "corrupted-file"})
			},
			rejected: &sumsub.DocRejected{Tags: []string{"corrupted-file"}, Status: 400, ErrorCode: 1004},
		},
		{
			name: "the same file twice",
			setup: func(srv *sumsubtest.Server, id string) {
				if _, err := client(srv).UploadIDDoc(context.Background(), creds, id, passport()); err != nil {
					panic(err)
				}
			},
			rejected: &sumsub.DocRejected{Tags: []string{"duplicate-document"}, Status: 409, ErrorCode: 1000},
			docs:     1,
		},
		{
			name:  "the applicant is in review",
			setup: func(srv *sumsubtest.Server, id string) { srv.SetReviewStatus(id, "queued") },
			is:    sumsub.ErrNotAccepting,
		},
		{
			name: "one 503 is retried",
			setup: func(srv *sumsubtest.Server, _ string) {
				srv.FailNext(http.MethodPost, sumsubtest.IDDocSuffix, 503)
			},
			docs: 1,
		},
		{
			name: "a lost answer is retried into the stored document",
			setup: func(srv *sumsubtest.Server, _ string) {
				srv.LoseNextAnswer(http.MethodPost, sumsubtest.IDDocSuffix, 502)
			},
			docs: 1,
		},
		{
			name: "a lasting outage",
			setup: func(srv *sumsubtest.Server, _ string) {
				srv.FailNext(http.MethodPost, sumsubtest.IDDocSuffix, 500)
				srv.FailNext(http.MethodPost, sumsubtest.IDDocSuffix, 502)
			},
			code: kyc.CodeUnavailable,
		},
		{
			name:    "a timeout",
			setup:   func(srv *sumsubtest.Server, _ string) { srv.SetDelay(5 * time.Second) },
			timeout: 300 * time.Millisecond,
			code:    kyc.CodeUnavailable,
		},
		{
			name:  "our credentials refused",
			setup: func(*sumsubtest.Server, string) {},
			creds: &sumsub.Credentials{AppToken: creds.AppToken, SecretKey: "rotated"},
			code:  kyc.CodeInternal,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := sumsubtest.NewServer(creds)
			defer srv.Close()
			id, err := client(srv).EnsureApplicant(context.Background(), creds, individual("Customer:0195j1"))
			if err != nil {
				t.Fatal(err)
			}
			tc.setup(srv, id)
			ctx := context.Background()
			if tc.timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tc.timeout)
				defer cancel()
			}
			use := creds
			if tc.creds != nil {
				use = *tc.creds
			}
			w, err := client(srv).UploadIDDoc(ctx, use, id, passport())
			var rejected *sumsub.DocRejected
			errors.As(err, &rejected)
			if rejected != nil {
				rejected.CorrelationID = "" // random
			}
			if diff := cmp.Diff(tc.rejected, rejected); diff != "" {
				t.Errorf("refusal (-want +got):\n%s\nerr = %v", diff, err)
			}
			if diff := cmp.Diff(tc.warnings, w); diff != "" {
				t.Errorf("warnings (-want +got):\n%s", diff)
			}
			switch {
			case tc.is != nil && !errors.Is(err, tc.is):
				t.Errorf("err = %v; want %v", err, tc.is)
			case tc.code != "" && kyc.AsError(sumsub.Classify(err)).Code != tc.code:
				t.Errorf("Classify(%v) = %v; want %s", err, sumsub.Classify(err), tc.code)
			case tc.rejected == nil && tc.is == nil && tc.code == "" && err != nil:
				t.Errorf("err = %v; want success", err)
			}
			if tc.rejected != nil && sumsub.Classify(err) != err {
				t.Errorf("Classify changed a refusal: %v", sumsub.Classify(err))
			}
			if tc.timeout == 0 && len(srv.Docs(id)) != tc.docs {
				t.Errorf("%d documents stored; want %d", len(srv.Docs(id)), tc.docs)
			}
		})
	}
}

// The fake reads the form as Sumsub does: metadata and content required.
func TestFakeUploadForm(t *testing.T) {
	srv := sumsubtest.NewServer(creds)
	defer srv.Close()
	id, err := client(srv).EnsureApplicant(context.Background(), creds, individual("Customer:0195k2"))
	if err != nil {
		t.Fatal(err)
	}
	const boundary = "b0undary"
	part := func(name, filename, body string) string {
		disp := `form-data; name="` + name + `"`
		if filename != "" {
			disp += `; filename="` + filename + `"`
		}
		return "--" + boundary + "\r\nContent-Disposition: " + disp + "\r\n\r\n" + body + "\r\n"
	}
	meta := part("metadata", "", `{"idDocType":"PASSPORT","country":"GBR"}`)
	content := part("content", "p.png", "bytes")
	end := "--" + boundary + "--\r\n"
	for _, tc := range []struct {
		name, contentType, body string
		want                    int
	}{
		{"metadata and content", "multipart/form-data; boundary=" + boundary, meta + content + end, 200},
		{"no metadata", "multipart/form-data; boundary=" + boundary, content + end, 400},
		{"no content", "multipart/form-data; boundary=" + boundary, meta + end, 400},
		{"content not a file", "multipart/form-data; boundary=" + boundary, meta + part("content", "", "bytes") + end, 400},
		{"metadata not JSON", "multipart/form-data; boundary=" + boundary, part("metadata", "", "PASSPORT") + content + end, 400},
		{"alpha-2 country", "multipart/form-data; boundary=" + boundary, part("metadata", "", `{"idDocType":"PASSPORT","country":"GB"}`) + content + end, 400},
		{"JSON instead of a form", "application/json", `{"idDocType":"PASSPORT","country":"GBR"}`, 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := "/resources/applicants/" + id + sumsubtest.IDDocSuffix
			req, _ := http.NewRequest(http.MethodPost, srv.URL+path, strings.NewReader(tc.body))
			ts := strconv.FormatInt(time.Now().Unix(), 10)
			req.Header.Set("Content-Type", tc.contentType)
			req.Header.Set("X-App-Token", creds.AppToken)
			req.Header.Set("X-App-Access-Ts", ts)
			req.Header.Set("X-App-Access-Sig", sumsub.Sign(creds.SecretKey, ts, http.MethodPost, path, []byte(tc.body)))
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Errorf("status = %d; want %d", resp.StatusCode, tc.want)
			}
		})
	}
}

func TestRequestReview(t *testing.T) {
	srv := sumsubtest.NewServer(creds)
	defer srv.Close()
	c := client(srv)
	ext := "Customer:0195l3"
	id, err := c.EnsureApplicant(context.Background(), creds, individual(ext))
	if err != nil {
		t.Fatal(err)
	}

	err = c.RequestReview(context.Background(), creds, id)
	var missing *sumsub.MissingDocuments
	if !errors.Is(err, sumsub.ErrMissingDocuments) || !errors.As(err, &missing) {
		t.Fatalf("review without documents = %v; want ErrMissingDocuments", err)
	}
	if diff := cmp.Diff([]string{"IDENTITY"}, missing.Steps); diff != "" {
		t.Errorf("missing steps (-want +got):\n%s", diff)
	}
	if sumsub.Classify(err) != err {
		t.Errorf("Classify changed a refusal: %v", sumsub.Classify(err))
	}

	if _, err := c.UploadIDDoc(context.Background(), creds, id, passport()); err != nil {
		t.Fatal(err)
	}
	srv.SetMissingSteps("SELFIE", "APPLICANT_DATA")
	if err := c.RequestReview(context.Background(), creds, id); !errors.As(err, &missing) || !cmp.Equal(missing.Steps, []string{"SELFIE", "APPLICANT_DATA"}) {
		t.Fatalf("review with steps missing = %v; want SELFIE and APPLICANT_DATA missing", err)
	}
	srv.SetMissingSteps()

	srv.FailNext(http.MethodPost, sumsubtest.PendingSuffix, 503) // retried
	if err := c.RequestReview(context.Background(), creds, id); err != nil {
		t.Fatal(err)
	}
	// Again, now that the applicant is pending (Sumsub: errorCode 3000).
	if err := c.RequestReview(context.Background(), creds, id); err != nil {
		t.Fatalf("a repeated review request = %v; want success", err)
	}
	got, _ := srv.Applicant(ext)
	if got.ReviewStatus != "pending" || got.ReviewRequests != 4 {
		t.Errorf("review status %q after %d requests; want pending after 4", got.ReviewStatus, got.ReviewRequests)
	}
}

// Sumsub may answer a repeat with a bare 409: the applicant's status,
// read then, tells it from missing documents.
func TestRequestReviewBare409(t *testing.T) {
	for _, tc := range []struct {
		status      string
		wantMissing bool
	}{
		{"queued", false},
		{"onHold", false},
		{"init", true},
		{"completed", true},
	} {
		t.Run(tc.status, func(t *testing.T) {
			srv := sumsubtest.NewServer(creds)
			defer srv.Close()
			id, err := client(srv).EnsureApplicant(context.Background(), creds, individual("Customer:0195m4"))
			if err != nil {
				t.Fatal(err)
			}
			srv.SetReviewStatus(id, tc.status)
			srv.SetFail(func(w http.ResponseWriter, r *http.Request) bool {
				return failOn(w, r, "/resources/applicants/"+id+sumsubtest.PendingSuffix, http.StatusConflict)
			})
			err = client(srv).RequestReview(context.Background(), creds, id)
			if got := errors.Is(err, sumsub.ErrMissingDocuments); got != tc.wantMissing || (!got && err != nil) {
				t.Errorf("bare 409 with the applicant %s = %v; want missing documents %t", tc.status, err, tc.wantMissing)
			}
		})
	}
}

// No error these calls return carries personal data: Sumsub's
// descriptions (which can quote what we sent) are dropped.
func TestNoPersonalDataInErrors(t *testing.T) {
	srv := sumsubtest.NewServer(creds)
	defer srv.Close()
	c := client(srv)
	var errs []error
	collect := func(err error) {
		if err == nil {
			t.Fatal("want an error")
		}
		errs = append(errs, err)
	}

	// The fake's 400s quote the value refused.
	bad := individual("Customer:0195n5")
	bad.DOB = "05.06." + dob
	_, err := c.EnsureApplicant(context.Background(), creds, bad)
	collect(err)
	id, err := c.EnsureApplicant(context.Background(), creds, individual("Customer:0195n5"))
	if err != nil {
		t.Fatal(err)
	}
	bad.DOB, bad.Nationality = dob, "Quartermainian"
	_, err = c.EnsureApplicant(context.Background(), creds, bad) // the PATCH is refused
	collect(err)

	srv.RefuseNextDoc(sumsubtest.DocRefusal{Errors: []any{map[string]any{"description": lastName + " " + docNumber}}})
	_, err = c.UploadIDDoc(context.Background(), creds, id, passport())
	collect(err)
	srv.RefuseNextDoc(sumsubtest.DocRefusal{Status: 400, ErrorCode: 1005, ErrorName: "unsupported-file-format"})
	_, err = c.UploadIDDoc(context.Background(), creds, id, sumsub.IDDoc{IDDocType: "PASSPORT", Country: "GBR", FileName: fileName, Content: []byte(tin)})
	collect(err)
	tampered := &sumsub.Client{BaseURL: srv.URL, HTTP: &http.Client{Transport: tamper{srv.Client().Transport, func(b []byte) { b[len(b)-3] ^= 1 }}}, Now: time.Now}
	_, err = tampered.UploadIDDoc(context.Background(), creds, id, passport())
	collect(err)
	collect(c.RequestReview(context.Background(), creds, id+"0")) // no such applicant

	srv.SetMissingSteps("IDENTITY")
	collect(c.RequestReview(context.Background(), creds, id))

	secrets := []string{firstName, lastName, dob, tin, street, email, phone, docNumber, fileName, "Quartermainian", string(docBytes), "DOCUMENT-CONTENT"}
	for _, err := range errs {
		for _, s := range []string{err.Error(), kyc.AsError(sumsub.Classify(err)).Error()} {
			for _, secret := range secrets {
				if strings.Contains(s, secret) {
					t.Errorf("error %q contains %q", s, secret)
				}
			}
			if !strings.Contains(s, "HTTP ") {
				t.Errorf("error %q does not say Sumsub's status", s)
			}
		}
	}
}

// Sumsub's errors and warnings are read leniently, keeping tags only.
func TestUploadReadsDocWarningsLeniently(t *testing.T) {
	for _, tc := range []struct {
		answer string
		want   sumsub.DocWarnings
	}{
		{`{"idDocType":"PASSPORT"}`, sumsub.DocWarnings{}},
		{`{"errors":null,"warnings":[]}`, sumsub.DocWarnings{}},
		{`{"errors":"forbiddenDocument"}`, sumsub.DocWarnings{Errors: []string{"forbiddenDocument"}}},
		{`{"warnings":[{"name":"badSelfie","value":"Zelda"}, 3, "a sentence with spaces", ["x"]]}`,
			sumsub.DocWarnings{Warnings: []string{"badSelfie", "3", "unrecognised", "unrecognised"}}},
		{`{"errors":{"errorCode":"differentDocTypeOrCountry"}}`, sumsub.DocWarnings{Errors: []string{"differentDocTypeOrCountry"}}},
	} {
		t.Run(tc.answer, func(t *testing.T) {
			srv := sumsubtest.NewServer(creds)
			defer srv.Close()
			var calls atomic.Int32
			srv.SetFail(func(w http.ResponseWriter, r *http.Request) bool {
				if !strings.HasSuffix(r.URL.Path, sumsubtest.IDDocSuffix) || r.Header.Get("X-Return-Doc-Warnings") != "true" {
					return false
				}
				calls.Add(1)
				w.Write([]byte(tc.answer))
				return true
			})
			w, err := client(srv).UploadIDDoc(context.Background(), creds, "applicant-1", passport())
			if calls.Load() != 1 {
				t.Fatalf("the upload was not sent with X-Return-Doc-Warnings: true")
			}
			if diff := cmp.Diff(tc.want, w); diff != "" {
				t.Errorf("warnings (-want +got):\n%s", diff)
			}
			if (len(tc.want.Errors) > 0) != errors.As(err, new(*sumsub.DocRejected)) {
				t.Errorf("err = %v with errors %v", err, tc.want.Errors)
			}
		})
	}
}
