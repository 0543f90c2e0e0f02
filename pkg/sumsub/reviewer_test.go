package sumsub_test

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/grid-kyc/kyc-link/pkg/kyc"
	"github.com/grid-kyc/kyc-link/pkg/sumsub"
	"github.com/grid-kyc/kyc-link/pkg/sumsub/sumsubtest"
)

type fixedCreds sumsub.Credentials

func (c fixedCreds) Get(context.Context) (sumsub.Credentials, error) {
	return sumsub.Credentials(c), nil
}

func reviewer(srv *sumsubtest.Server) *sumsub.Reviewer {
	return &sumsub.Reviewer{Client: client(srv), Credentials: fixedCreds(srv.Creds),
		Levels: map[kyc.CustomerType]string{kyc.Individual: "basic-kyc-level", kyc.Business: "kyb-level"}}
}

func submission(id string) kyc.ProviderSubmission {
	c := kyc.Customer{ID: id, PlatformID: "p1", Type: kyc.Individual, FullName: "Zelda Ann " + lastName, BirthDate: dob,
		Nationality: "GB", Email: email, PhoneNumber: phone,
		Address: &kyc.Address{Line1: street, City: "London", PostalCode: "W1 1AA", Country: "GB"}}
	doc := func(docID string, typ kyc.DocumentType, side string) kyc.ProviderDocument {
		return kyc.ProviderDocument{Document: kyc.Document{ID: docID, Type: typ, Side: side, Country: "GB", Number: docNumber,
			FileName: fileName, ContentType: kyc.ContentTypePNG}, Content: append(append([]byte(nil), docBytes...), side...)}
	}
	return kyc.ProviderSubmission{Customer: c, Identifier: tin, Documents: []kyc.ProviderDocument{
		doc("Document:a", "NATIONAL_ID", kyc.SideFront), doc("Document:b", "NATIONAL_ID", kyc.SideBack)}}
}

// TestReviewerSubmits: the applicant carries the customer's data, each
// document its type and side, and the review is asked for; a repeat of the
// whole job changes nothing.
func TestReviewerSubmits(t *testing.T) {
	srv := sumsubtest.NewServer(sumsub.Credentials{AppToken: "tok", SecretKey: "key"})
	defer srv.Close()
	r := reviewer(srv)
	s := submission("Customer:r1")
	for range 2 {
		if err := r.SubmitForReview(context.Background(), s); err != nil {
			t.Fatal(err)
		}
	}
	a, ok := srv.Applicant("Customer:r1")
	if !ok {
		t.Fatal("no applicant")
	}
	fi := a.FixedInfo
	if fi["firstName"] != "Zelda Ann" || fi["lastName"] != lastName || fi["dob"] != dob || fi["nationality"] != "GBR" || fi["tin"] != tin {
		t.Errorf("fixedInfo = %v", fi)
	}
	var docs []string
	for _, d := range srv.Docs(a.ID) {
		docs = append(docs, d.IDDocType+"/"+d.IDDocSubType+"/"+d.Country)
	}
	if diff := cmp.Diff([]string{"ID_CARD/FRONT_SIDE/GBR", "ID_CARD/BACK_SIDE/GBR"}, docs); diff != "" {
		t.Errorf("documents (-want +got):\n%s", diff)
	}
	if a.ReviewStatus != "pending" || a.LevelName != "basic-kyc-level" {
		t.Errorf("review status %q, level %q", a.ReviewStatus, a.LevelName)
	}
}

func TestReviewerRefusals(t *testing.T) {
	srv := sumsubtest.NewServer(sumsub.Credentials{AppToken: "tok", SecretKey: "key"})
	defer srv.Close()
	r := reviewer(srv)

	// A document Sumsub refuses names the document.
	srv.RefuseNextDoc(sumsubtest.DocRefusal{Errors: []any{"dataNotReadable"}})
	err := r.SubmitForReview(context.Background(), submission("Customer:r2"))
	var refusal *kyc.ProviderRefusal
	if !errors.As(err, &refusal) || len(refusal.Problems) != 1 || refusal.Problems[0].ResourceID != "Document:a" ||
		refusal.Problems[0].Type != kyc.ErrUnreadableDocument {
		t.Fatalf("refused document: %v %+v", err, refusal)
	}

	// Steps Sumsub still misses are missing documents.
	srv.SetMissingSteps("PROOF_OF_RESIDENCE")
	err = r.SubmitForReview(context.Background(), submission("Customer:r3"))
	if !errors.As(err, &refusal) || len(refusal.Problems) != 1 || refusal.Problems[0].Type != kyc.ErrMissingProofOfAddressDoc {
		t.Fatalf("missing steps: %v %+v", err, refusal)
	}
	srv.SetMissingSteps()

	// An outage is a 503 to retry, not a refusal.
	for range 5 {
		srv.FailNext(http.MethodPost, "/info/idDoc", http.StatusInternalServerError)
	}
	err = r.SubmitForReview(context.Background(), submission("Customer:r4"))
	if errors.As(err, &refusal) || kyc.AsError(err).Code != kyc.CodeUnavailable {
		t.Fatalf("outage: %v", err)
	}
}

// TestReviewerRepeatAfterACrash: a job run again after it uploaded the
// documents (and crashed before its mark) meets Sumsub's duplicate-document
// answer for each: uploaded already, not a refusal; the review is asked.
func TestReviewerRepeatAfterACrash(t *testing.T) {
	srv := sumsubtest.NewServer(sumsub.Credentials{AppToken: "tok", SecretKey: "key"})
	defer srv.Close()
	r := reviewer(srv)
	s := submission("Customer:r5")
	c := client(srv)
	id, err := c.EnsureApplicant(context.Background(), sumsub.Credentials(srv.Creds), sumsub.ApplicantData{ExternalUserID: "Customer:r5",
		LevelName: "basic-kyc-level", FirstName: "Zelda Ann", LastName: lastName})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range s.Documents { // the crashed run's uploads
		if _, err := c.UploadIDDoc(context.Background(), sumsub.Credentials(srv.Creds), id, sumsub.IDDoc{IDDocType: "ID_CARD",
			IDDocSubType: map[string]string{kyc.SideFront: "FRONT_SIDE", kyc.SideBack: "BACK_SIDE"}[d.Side], Country: "GBR",
			FileName: d.FileName, ContentType: d.ContentType, Content: d.Content}); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.SubmitForReview(context.Background(), s); err != nil {
		t.Fatalf("the repeat = %v; want success", err)
	}
	if a, _ := srv.Applicant("Customer:r5"); a.ReviewStatus != "pending" || len(srv.Docs(a.ID)) != 2 {
		t.Errorf("review %q, %d documents; want pending with the two", a.ReviewStatus, len(srv.Docs(a.ID)))
	}
}
