package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/grid-kyc/kyc-link/pkg/kyc"
)

// VerificationEnv is one verification store under test, with the stores
// of the customers and documents a submission changes and the reviews
// that move a verification, all over the same data, and the notices
// recorded (the outbox; any order).
type VerificationEnv struct {
	Verifications kyc.VerificationRecords
	Documents     kyc.DocumentRecords
	Customers     kyc.CustomerRecords
	Reviews       kyc.ReviewStore
	Notices       func(t *testing.T) []kyc.Notice
}

// verificationID is the id of the suite's verification n.
func verificationID(n int) string {
	return fmt.Sprintf("Verification:019ac0de-0000-7000-a000-%012d", n)
}

// notice is a notice of platform with a fresh id.
func notice(n int, platform, typ string) kyc.Notice {
	return kyc.Notice{ID: fmt.Sprintf("Webhook:019ac0de-0000-7000-b000-%012d", n), PlatformID: platform, Type: typ,
		CreatedAt: docAt.Add(time.Duration(n) * time.Second), Body: []byte(fmt.Sprintf(`{"n":%d}`, n))}
}

func noticeIDs(ns []kyc.Notice) []string {
	out := []string{}
	for _, n := range ns {
		out = append(out, n.ID)
	}
	slices.Sort(out)
	return out
}

// VerificationRecords is the conformance suite of kyc.VerificationRecords
// (with kyc.ReviewStore's move of a verification); newEnv makes fresh,
// empty stores.
func VerificationRecords(t *testing.T, newEnv func(t *testing.T) VerificationEnv) {
	ctx := context.Background()
	equal := cmpopts.EquateEmpty()

	// customer inserts customer n of platform, as the platform API
	// creates one (version 1, UNVERIFIED).
	customer := func(t *testing.T, e VerificationEnv, n int, platform string, typ kyc.CustomerType) kyc.Customer {
		t.Helper()
		c := kyc.Customer{ID: custID(n), PlatformID: platform, PlatformCustomerID: fmt.Sprintf("u%d", n), Type: typ,
			Email: fmt.Sprintf("c%d@example.com", n), CreatedAt: docAt, UpdatedAt: docAt, Version: 1}
		if err := e.Customers.InsertCustomer(ctx, c); err != nil {
			t.Fatal(err)
		}
		got, err := e.Customers.CustomerRecord(ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	// docs inserts documents from..to of customer c.
	docs := func(t *testing.T, e VerificationEnv, c kyc.Customer, from, to int) []kyc.Document {
		t.Helper()
		var out []kyc.Document
		for n := from; n <= to; n++ {
			d := newDoc(n, c.PlatformID, c.ID)
			if err := e.Documents.InsertDocument(ctx, d); err != nil {
				t.Fatal(err)
			}
			out = append(out, d)
		}
		return out
	}
	// submission is verification n of c, IN_PROGRESS with ds, and its
	// write (the verification's notice and the customer's).
	submission := func(n int, c kyc.Customer, ds []kyc.Document) kyc.VerificationWrite {
		at := docAt.Add(time.Duration(n) * time.Minute)
		v := kyc.Verification{ID: verificationID(n), PlatformID: c.PlatformID, CustomerID: c.ID,
			Status: kyc.VerificationInProgress, Documents: ids(ds), CreatedAt: at, UpdatedAt: at}
		return kyc.VerificationWrite{Verification: v,
			Notices:    []kyc.Notice{notice(2*n, c.PlatformID, "VERIFICATION.IN_PROGRESS"), notice(2*n+1, c.PlatformID, "CUSTOMER.KYC_PENDING")},
			Submission: &kyc.Submission{Customer: c, Status: kyc.StatusPending, UpdatedAt: at, Documents: ds}}
	}
	// unchanged checks that a refused write left everything as it was.
	unchanged := func(t *testing.T, e VerificationEnv, w kyc.VerificationWrite, c kyc.Customer, notices []string) {
		t.Helper()
		if _, err := e.Verifications.VerificationRecord(ctx, w.Verification.ID); kyc.AsError(err).Code != kyc.CodeReferenceNotFound {
			t.Errorf("the refused verification = %v; want REFERENCE_NOT_FOUND (nothing written)", err)
		}
		got, err := e.Customers.CustomerRecord(ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.StatusOf() != c.StatusOf() || got.VerificationID != c.VerificationID || got.Version != c.Version || !got.UpdatedAt.Equal(c.UpdatedAt) {
			t.Errorf("customer after the refused write: status %s, verification %q, version %d, updated %s; want %s, %q, %d, %s",
				got.StatusOf(), got.VerificationID, got.Version, got.UpdatedAt, c.StatusOf(), c.VerificationID, c.Version, c.UpdatedAt)
		}
		for _, d := range w.Submission.Documents {
			if got, err := e.Documents.DocumentRecord(ctx, d.ID); err == nil && got.SubmittedIn == w.Verification.ID {
				t.Errorf("document %s locked by the refused verification", d.ID)
			}
		}
		if got := noticeIDs(e.Notices(t)); !cmp.Equal(got, notices, equal) {
			t.Errorf("notices after the refused write: %v; want %v", got, notices)
		}
	}

	t.Run("a verification with errors: itself and its notice", func(t *testing.T) {
		e := newEnv(t)
		c := customer(t, e, 1, "p1", kyc.Individual)
		v := kyc.Verification{ID: verificationID(1), PlatformID: "p1", CustomerID: c.ID, Status: kyc.VerificationResolveErrors,
			Errors: []kyc.VerificationError{
				{ResourceID: c.ID, Type: kyc.ErrMissingField, Field: "customer.fullName", Reason: "Full name is required"},
				{ResourceID: c.ID, Type: kyc.ErrMissingIdentityDoc, AcceptedDocumentTypes: kyc.IdentityDocuments, Reason: "Identity document is required"},
			},
			CreatedAt: docAt, UpdatedAt: docAt}
		n := notice(1, "p1", "VERIFICATION.RESOLVE_ERRORS")
		if err := e.Verifications.WriteVerification(ctx, kyc.VerificationWrite{Verification: v, Notices: []kyc.Notice{n}}); err != nil {
			t.Fatal(err)
		}
		got, err := e.Verifications.VerificationRecord(ctx, v.ID)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(v, got, equal); diff != "" {
			t.Errorf("VerificationRecord (-written +read):\n%s", diff)
		}
		ns := e.Notices(t)
		if len(ns) != 1 || !cmp.Equal(ns[0], n) {
			t.Errorf("notices %+v; want %+v", ns, n)
		}
		after, _ := e.Customers.CustomerRecord(ctx, c.ID)
		if after.StatusOf() != kyc.StatusUnverified || after.VerificationID != "" || after.Version != 1 {
			t.Errorf("customer %+v; want it untouched by a verification without submission", after)
		}
		if _, err := e.Verifications.VerificationRecord(ctx, verificationID(2)); kyc.AsError(err).Code != kyc.CodeReferenceNotFound {
			t.Errorf("unknown verification = %v; want REFERENCE_NOT_FOUND", err)
		}
	})

	t.Run("an id is written once", func(t *testing.T) {
		e := newEnv(t)
		c := customer(t, e, 1, "p1", kyc.Individual)
		ds := docs(t, e, c, 1, 2)
		first := kyc.VerificationWrite{Verification: kyc.Verification{ID: verificationID(1), PlatformID: "p1", CustomerID: c.ID,
			Status: kyc.VerificationResolveErrors, Errors: []kyc.VerificationError{{ResourceID: c.ID, Type: kyc.ErrMissingField, Reason: "r"}},
			CreatedAt: docAt, UpdatedAt: docAt}, Notices: []kyc.Notice{notice(1, "p1", "VERIFICATION.RESOLVE_ERRORS")}}
		if err := e.Verifications.WriteVerification(ctx, first); err != nil {
			t.Fatal(err)
		}
		// Another attempt of the same request, this time complete.
		again := submission(1, c, ds)
		if err := e.Verifications.WriteVerification(ctx, again); !errors.Is(err, kyc.ErrVerificationExists) {
			t.Fatalf("second WriteVerification = %v; want ErrVerificationExists", err)
		}
		if got, _ := e.Verifications.VerificationRecord(ctx, first.Verification.ID); !cmp.Equal(got, first.Verification, equal) {
			t.Errorf("after the refused write: %+v; want the first", got)
		}
		// Nothing of the second attempt was written.
		after, _ := e.Customers.CustomerRecord(ctx, c.ID)
		if after.StatusOf() != kyc.StatusUnverified || after.VerificationID != "" {
			t.Errorf("customer %s %q; want UNVERIFIED, no verification", after.StatusOf(), after.VerificationID)
		}
		for _, d := range ds {
			if got, _ := e.Documents.DocumentRecord(ctx, d.ID); got.SubmittedIn != "" {
				t.Errorf("document %s locked in %s", d.ID, got.SubmittedIn)
			}
		}
		if got := noticeIDs(e.Notices(t)); !cmp.Equal(got, []string{first.Notices[0].ID}) {
			t.Errorf("notices %v; want the first's alone", got)
		}
	})

	t.Run("a submission: the customer, its documents and the notices in one write", func(t *testing.T) {
		e := newEnv(t)
		c := customer(t, e, 1, "p1", kyc.Individual)
		other := customer(t, e, 2, "p1", kyc.Individual)
		// A fixable rejection came first: the submission clears its reasons.
		if err := e.Reviews.ApplyChange(ctx, kyc.Change{CustomerID: c.ID, Type: kyc.Individual, Status: kyc.StatusRejected,
			ReviewAt: docAt, RejectType: "RETRY", RejectLabels: []string{"BAD_SELFIE"}, UpdatedAt: docAt,
			WasStatus: kyc.StatusUnverified}, nil); err != nil {
			t.Fatal(err)
		}
		c, _ = e.Customers.CustomerRecord(ctx, c.ID)
		if c.RejectType != "RETRY" {
			t.Fatalf("setup: customer %+v; want REJECTED RETRY", c)
		}
		ds := docs(t, e, c, 1, 3)
		kept := docs(t, e, other, 4, 4)[0]
		w := submission(1, c, ds)
		if err := e.Verifications.WriteVerification(ctx, w); err != nil {
			t.Fatal(err)
		}
		if got, err := e.Verifications.VerificationRecord(ctx, w.Verification.ID); err != nil || !cmp.Equal(got, w.Verification, equal) {
			t.Errorf("VerificationRecord = %+v, %v; want %+v", got, err, w.Verification)
		}
		got, _ := e.Customers.CustomerRecord(ctx, c.ID)
		if got.KYCStatus != kyc.StatusPending || got.VerificationID != w.Verification.ID || !got.UpdatedAt.Equal(w.Submission.UpdatedAt) ||
			got.RejectType != "" || len(got.RejectLabels) != 0 || got.Version != c.Version || !got.LastReviewAt.Equal(c.LastReviewAt) {
			t.Errorf("customer after the submission: %+v; want PENDING, verification %s, updated %s, no reject reasons, version %d, last review kept",
				got, w.Verification.ID, w.Submission.UpdatedAt, c.Version)
		}
		for _, d := range ds {
			got, err := e.Documents.DocumentRecord(ctx, d.ID)
			if err != nil || got.SubmittedIn != w.Verification.ID || got.Version != d.Version {
				t.Errorf("document %s: submitted in %q, version %d, %v; want %s, %d", d.ID, got.SubmittedIn, got.Version, err, w.Verification.ID, d.Version)
			}
			// Locked: the platform can no longer change it.
			next := d
			next.Version, next.FileName = d.Version+1, "late.png"
			if err := e.Documents.ReplaceDocument(ctx, d, next); !errors.Is(err, kyc.ErrChanged) {
				t.Errorf("replace of submitted %s = %v; want ErrChanged", d.ID, err)
			}
			if err := e.Documents.DeleteDocument(ctx, d); !errors.Is(err, kyc.ErrChanged) {
				t.Errorf("delete of submitted %s = %v; want ErrChanged", d.ID, err)
			}
		}
		if got, _ := e.Documents.DocumentRecord(ctx, kept.ID); got.SubmittedIn != "" {
			t.Errorf("another customer's document locked in %s", got.SubmittedIn)
		}
		if got, want := noticeIDs(e.Notices(t)), noticeIDs(w.Notices); !cmp.Equal(got, want) {
			t.Errorf("notices %v; want %v", got, want)
		}
		// A business's status is kybStatus.
		b := customer(t, e, 3, "p1", kyc.Business)
		if err := e.Verifications.WriteVerification(ctx, submission(3, b, nil)); err != nil {
			t.Fatal(err)
		}
		if got, _ := e.Customers.CustomerRecord(ctx, b.ID); got.KYBStatus != kyc.StatusPending || got.KYCStatus != "" || got.VerificationID != verificationID(3) {
			t.Errorf("business after its submission: kyb %q, kyc %q, verification %q; want PENDING, none, %s", got.KYBStatus, got.KYCStatus, got.VerificationID, verificationID(3))
		}
	})

	t.Run("a document locked before stays locked by its first verification", func(t *testing.T) {
		e := newEnv(t)
		c := customer(t, e, 1, "p1", kyc.Individual)
		ds := docs(t, e, c, 1, 2)
		// (Another customer's submission locks them first: this one
		// stays as read.)
		if err := e.Verifications.WriteVerification(ctx, submission(7, customer(t, e, 2, "p1", kyc.Individual), ds)); err != nil {
			t.Fatal(err)
		}
		if err := e.Verifications.WriteVerification(ctx, submission(1, c, ds)); err != nil {
			t.Fatalf("a submission with documents locked already = %v", err)
		}
		for _, d := range ds {
			if got, err := e.Documents.DocumentRecord(ctx, d.ID); err != nil || got.SubmittedIn != verificationID(7) {
				t.Errorf("document %s submitted in %q, %v; want %s", d.ID, got.SubmittedIn, err, verificationID(7))
			}
		}
	})

	t.Run("a submission is all or nothing", func(t *testing.T) {
		for _, tc := range []struct {
			name string
			// move changes something after c and ds were read.
			move func(t *testing.T, e VerificationEnv, c kyc.Customer, ds []kyc.Document)
		}{
			{"a document replaced", func(t *testing.T, e VerificationEnv, c kyc.Customer, ds []kyc.Document) {
				next := ds[2]
				next.Version, next.FileName = ds[2].Version+1, "replaced.png"
				if err := e.Documents.ReplaceDocument(ctx, ds[2], next); err != nil {
					t.Fatal(err)
				}
			}},
			{"a document deleted", func(t *testing.T, e VerificationEnv, c kyc.Customer, ds []kyc.Document) {
				if err := e.Documents.DeleteDocument(ctx, ds[1]); err != nil {
					t.Fatal(err)
				}
			}},
			{"the customer updated", func(t *testing.T, e VerificationEnv, c kyc.Customer, ds []kyc.Document) {
				next := c
				next.Email, next.UpdatedAt = "new@example.com", c.UpdatedAt.Add(time.Second)
				if err := e.Customers.UpdateCustomer(ctx, c, next); err != nil {
					t.Fatal(err)
				}
			}},
			{"the customer deleted", func(t *testing.T, e VerificationEnv, c kyc.Customer, ds []kyc.Document) {
				next := c
				next.IsDeleted, next.DeletedAt, next.UpdatedAt = true, c.UpdatedAt.Add(time.Second), c.UpdatedAt.Add(time.Second)
				if err := e.Customers.UpdateCustomer(ctx, c, next); err != nil {
					t.Fatal(err)
				}
			}},
			{"the customer's status moved", func(t *testing.T, e VerificationEnv, c kyc.Customer, ds []kyc.Document) {
				if err := e.Reviews.ApplyChange(ctx, kyc.Change{CustomerID: c.ID, Type: c.Type, Status: kyc.StatusHold,
					ReviewAt: docAt, UpdatedAt: docAt, WasStatus: kyc.StatusUnverified}, nil); err != nil {
					t.Fatal(err)
				}
			}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				e := newEnv(t)
				c := customer(t, e, 1, "p1", kyc.Individual)
				ds := docs(t, e, c, 1, 3)
				tc.move(t, e, c, ds)
				before := noticeIDs(e.Notices(t))
				w := submission(1, c, ds)
				if err := e.Verifications.WriteVerification(ctx, w); !errors.Is(err, kyc.ErrChanged) {
					t.Fatalf("WriteVerification = %v; want ErrChanged", err)
				}
				now, err := e.Customers.CustomerRecord(ctx, c.ID)
				if err != nil {
					t.Fatal(err)
				}
				if now.VerificationID == w.Verification.ID || now.KYCStatus == kyc.StatusPending && c.KYCStatus != kyc.StatusPending {
					t.Errorf("customer moved by the refused write: %+v", now)
				}
				if _, err := e.Verifications.VerificationRecord(ctx, w.Verification.ID); kyc.AsError(err).Code != kyc.CodeReferenceNotFound {
					t.Errorf("the refused verification = %v; want REFERENCE_NOT_FOUND", err)
				}
				for _, d := range ds {
					if got, err := e.Documents.DocumentRecord(ctx, d.ID); err == nil && got.SubmittedIn == w.Verification.ID {
						t.Errorf("document %s locked by the refused verification", d.ID)
					}
				}
				if got := noticeIDs(e.Notices(t)); !cmp.Equal(got, before, equal) {
					t.Errorf("notices %v; want %v (none of the refused write)", got, before)
				}
			})
		}
		t.Run("the customer's current verification moved", func(t *testing.T) {
			e := newEnv(t)
			c := customer(t, e, 1, "p1", kyc.Individual)
			ds := docs(t, e, c, 1, 2)
			if err := e.Verifications.WriteVerification(ctx, submission(1, c, ds[:1])); err != nil {
				t.Fatal(err)
			}
			// A decision sent it back (RESOLVE_ERRORS): the customer is
			// REJECTED again, its current verification the first.
			if err := e.Reviews.ApplyChange(ctx, kyc.Change{CustomerID: c.ID, Type: c.Type, Status: kyc.StatusRejected,
				RejectType: "RETRY", ReviewAt: docAt, UpdatedAt: docAt, WasStatus: kyc.StatusPending}, nil); err != nil {
				t.Fatal(err)
			}
			read, _ := e.Customers.CustomerRecord(ctx, c.ID)
			stale := read
			stale.VerificationID = "" // as if read before the first submission
			before := noticeIDs(e.Notices(t))
			w := submission(2, stale, ds[1:])
			if err := e.Verifications.WriteVerification(ctx, w); !errors.Is(err, kyc.ErrChanged) {
				t.Fatalf("WriteVerification with a stale current verification = %v; want ErrChanged", err)
			}
			unchanged(t, e, w, read, before)
			// As read, it goes through.
			w = submission(2, read, ds[1:])
			if err := e.Verifications.WriteVerification(ctx, w); err != nil {
				t.Fatal(err)
			}
			if got, _ := e.Customers.CustomerRecord(ctx, c.ID); got.VerificationID != w.Verification.ID || got.KYCStatus != kyc.StatusPending {
				t.Errorf("customer %q %s; want %s, PENDING", got.VerificationID, got.KYCStatus, w.Verification.ID)
			}
		})
	})

	t.Run("an update keeps the current verification", func(t *testing.T) {
		e := newEnv(t)
		c := customer(t, e, 1, "p1", kyc.Individual)
		w := submission(1, c, nil)
		if err := e.Verifications.WriteVerification(ctx, w); err != nil {
			t.Fatal(err)
		}
		prev, _ := e.Customers.CustomerRecord(ctx, c.ID)
		next := prev
		next.Email, next.UpdatedAt, next.VerificationID, next.KYCStatus = "new@example.com", prev.UpdatedAt.Add(time.Second), "", ""
		if err := e.Customers.UpdateCustomer(ctx, prev, next); err != nil {
			t.Fatal(err)
		}
		got, _ := e.Customers.CustomerRecord(ctx, c.ID)
		if got.Email != "new@example.com" || got.VerificationID != w.Verification.ID || got.KYCStatus != kyc.StatusPending || got.Version != prev.Version+1 {
			t.Errorf("after an update: %+v; want the new email, verification %s, PENDING, version %d", got, w.Verification.ID, prev.Version+1)
		}
	})

	t.Run("a review moves the current verification in its write", func(t *testing.T) {
		e := newEnv(t)
		c := customer(t, e, 1, "p1", kyc.Individual)
		w := submission(1, c, nil)
		if err := e.Verifications.WriteVerification(ctx, w); err != nil {
			t.Fatal(err)
		}
		notices := noticeIDs(e.Notices(t))
		at := docAt.Add(time.Hour)
		errs := []kyc.VerificationError{{ResourceID: c.ID, Type: kyc.ErrPoorQualityDocument, AcceptedDocumentTypes: kyc.IdentityDocuments, Reason: "blurry"}}
		move := func(was kyc.VerificationStatus, n int) kyc.Change {
			vn := notice(n, "p1", "VERIFICATION.RESOLVE_ERRORS")
			return kyc.Change{CustomerID: c.ID, Type: c.Type, Status: kyc.StatusRejected, RejectType: "RETRY",
				ReviewAt: at, UpdatedAt: at, WasStatus: kyc.StatusPending,
				Verification: &kyc.VerificationMove{ID: w.Verification.ID, Status: kyc.VerificationResolveErrors, Errors: errs,
					WasStatus: was, ReviewAt: at, UpdatedAt: at.Add(time.Millisecond), Notice: &vn}}
		}
		// Read as RESOLVE_ERRORS while it is IN_PROGRESS: the whole change
		// is refused, the customer's status and both notices with it.
		cn := notice(100, "p1", "CUSTOMER.KYC_REJECTED")
		if err := e.Reviews.ApplyChange(ctx, move(kyc.VerificationResolveErrors, 101), &cn); !errors.Is(err, kyc.ErrChanged) {
			t.Fatalf("ApplyChange with a stale verification status = %v; want ErrChanged", err)
		}
		if got, _ := e.Customers.CustomerRecord(ctx, c.ID); got.KYCStatus != kyc.StatusPending || !got.LastReviewAt.IsZero() {
			t.Errorf("customer after the refused change: %s, last review %s; want PENDING, none", got.KYCStatus, got.LastReviewAt)
		}
		if got, _ := e.Verifications.VerificationRecord(ctx, w.Verification.ID); !cmp.Equal(got, w.Verification, equal) {
			t.Errorf("verification after the refused change: %+v; want %+v", got, w.Verification)
		}
		if got := noticeIDs(e.Notices(t)); !cmp.Equal(got, notices) {
			t.Errorf("notices after the refused change: %v; want %v", got, notices)
		}
		ch := move(kyc.VerificationInProgress, 102)
		if err := e.Reviews.ApplyChange(ctx, ch, &cn); err != nil {
			t.Fatal(err)
		}
		want := w.Verification
		want.Status, want.Errors, want.LastReviewAt, want.UpdatedAt = kyc.VerificationResolveErrors, errs, at, at.Add(time.Millisecond)
		if got, err := e.Verifications.VerificationRecord(ctx, want.ID); err != nil || !cmp.Equal(got, want, equal) {
			t.Errorf("moved verification = %+v, %v; want %+v", got, err, want)
		}
		if got, _ := e.Customers.CustomerRecord(ctx, c.ID); got.KYCStatus != kyc.StatusRejected || !got.LastReviewAt.Equal(at) || got.VerificationID != want.ID {
			t.Errorf("customer %s, last review %s, verification %q; want REJECTED, %s, %s", got.KYCStatus, got.LastReviewAt, got.VerificationID, at, want.ID)
		}
		notices = append(notices, cn.ID, ch.Verification.Notice.ID)
		slices.Sort(notices)
		if got := noticeIDs(e.Notices(t)); !cmp.Equal(got, notices) {
			t.Errorf("notices %v; want %v (the customer's and the verification's)", got, notices)
		}
		// Approved later: its errors go, and a move without a notice
		// records none.
		later := at.Add(time.Hour)
		if err := e.Reviews.ApplyChange(ctx, kyc.Change{CustomerID: c.ID, Type: c.Type, Status: kyc.StatusApproved, ReviewAt: later,
			UpdatedAt: later, WasStatus: kyc.StatusRejected, WasReviewAt: at,
			Verification: &kyc.VerificationMove{ID: want.ID, Status: kyc.VerificationApproved, WasStatus: kyc.VerificationResolveErrors,
				ReviewAt: later, UpdatedAt: later}}, nil); err != nil {
			t.Fatal(err)
		}
		want.Status, want.Errors, want.LastReviewAt, want.UpdatedAt = kyc.VerificationApproved, nil, later, later
		if got, err := e.Verifications.VerificationRecord(ctx, want.ID); err != nil || !cmp.Equal(got, want, equal) {
			t.Errorf("approved verification = %+v, %v; want %+v", got, err, want)
		}
		if got := noticeIDs(e.Notices(t)); !cmp.Equal(got, notices) {
			t.Errorf("notices %v; want %v (none for a move without one)", got, notices)
		}
	})

	t.Run("ranges by platform and by customer, in list order", func(t *testing.T) {
		e := newEnv(t)
		cs := []kyc.Customer{customer(t, e, 1, "pa", kyc.Individual), customer(t, e, 2, "pa", kyc.Individual),
			customer(t, e, 3, "pb", kyc.Individual)}
		want := map[string][]string{}
		for n := 1; n <= 9; n++ {
			c := cs[n%3]
			at := docAt.Add(time.Duration(n) * time.Millisecond)
			if n == 5 {
				at = at.Add(-time.Millisecond) // same millisecond as 4: the id orders them
			}
			v := kyc.Verification{ID: verificationID(n), PlatformID: c.PlatformID, CustomerID: c.ID, Status: kyc.VerificationResolveErrors,
				Errors: []kyc.VerificationError{{ResourceID: c.ID, Type: kyc.ErrMissingField, Reason: "r"}}, CreatedAt: at, UpdatedAt: at}
			if err := e.Verifications.WriteVerification(ctx, kyc.VerificationWrite{Verification: v}); err != nil {
				t.Fatal(err)
			}
			want[c.PlatformID] = append(want[c.PlatformID], v.ID)
			want[c.ID] = append(want[c.ID], v.ID)
		}
		walk := func(q kyc.VerificationRange) []string {
			out := []string{}
			for pages := 0; ; pages++ {
				vs, more, err := e.Verifications.VerificationRange(ctx, q)
				if err != nil {
					t.Fatal(err)
				}
				for _, v := range vs {
					out = append(out, v.ID)
				}
				if !more {
					return out
				}
				if len(vs) == 0 || pages > 100 {
					t.Fatalf("VerificationRange(%+v): more without verifications", q)
				}
				q.After = vs[len(vs)-1].ListPosition()
			}
		}
		for _, limit := range []int{1, 2, 4, 100} {
			for _, p := range []string{"pa", "pb"} {
				if got := walk(kyc.VerificationRange{PlatformID: p, Limit: limit}); !cmp.Equal(got, want[p], equal) {
					t.Errorf("platform %s by %d: %v; want %v", p, limit, got, want[p])
				}
			}
			for _, c := range cs {
				if got := walk(kyc.VerificationRange{PlatformID: c.PlatformID, CustomerID: c.ID, Limit: limit}); !cmp.Equal(got, want[c.ID], equal) {
					t.Errorf("customer %s by %d: %v; want %v", c.ID, limit, got, want[c.ID])
				}
			}
		}
		n := len(want["pa"])
		if vs, more, err := e.Verifications.VerificationRange(ctx, kyc.VerificationRange{PlatformID: "pa", Limit: n}); err != nil || more || len(vs) != n {
			t.Errorf("the whole range in one page: %d, more %v, %v; want %d, false", len(vs), more, err, n)
		}
		// Tenant data: pa's range of pb's customer is empty.
		if vs, _, err := e.Verifications.VerificationRange(ctx, kyc.VerificationRange{PlatformID: "pa", CustomerID: cs[2].ID, Limit: 10}); err != nil || len(vs) != 0 {
			t.Errorf("pa's range of pb's customer: %d verifications, %v; want none", len(vs), err)
		}
		vs, _, _ := e.Verifications.VerificationRange(ctx, kyc.VerificationRange{PlatformID: "pa", Limit: 100})
		for _, v := range vs {
			if v.PlatformID != "pa" {
				t.Errorf("pa's range returned %s of %s", v.ID, v.PlatformID)
			}
		}
	})
}
