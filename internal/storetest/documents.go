package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/grid-kyc/kyc-link/pkg/kyc"
)

// docAt is when the suites' documents are created: each a millisecond
// after the one before, so their list order is the order they are made.
var docAt = time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)

// docID is the id of the suites' document n.
func docID(n int) string { return fmt.Sprintf("Document:019ac0de-0000-7000-8000-%012d", n) }

// custID is the id of the suites' customer n.
func custID(n int) string { return fmt.Sprintf("Customer:019ac0de-0000-7000-9000-%012d", n) }

// newDoc is document n of holder on platform, version 1, with every
// field set.
func newDoc(n int, platform, holder string) kyc.Document {
	at := docAt.Add(time.Duration(n) * time.Millisecond)
	return kyc.Document{ID: docID(n), PlatformID: platform, Holder: holder, Type: "DRIVERS_LICENSE", Side: kyc.SideFront,
		Country: "US", Number: fmt.Sprintf("D%07d", n), IssuingAuthority: "CA DMV", FileName: "license.png",
		ContentType: kyc.ContentTypePNG, Size: int64(1000 + n), FileKey: kyc.FileKey(docID(n), 1),
		CreatedAt: at, UpdatedAt: at, Version: 1}
}

func ids(docs []kyc.Document) []string {
	out := []string{}
	for _, d := range docs {
		out = append(out, d.ID)
	}
	return out
}

// walkDocs reads q's range page by page (q.Limit each) and returns the
// ids in order; every page but the last must say more, the last must not.
func walkDocs(t *testing.T, s kyc.DocumentRecords, q kyc.DocumentRange) []string {
	t.Helper()
	out := []string{}
	for pages := 0; ; pages++ {
		docs, more, err := s.DocumentRange(context.Background(), q)
		if err != nil {
			t.Fatalf("DocumentRange(%+v) = %v", q, err)
		}
		out = append(out, ids(docs)...)
		if !more {
			return out
		}
		if len(docs) == 0 || pages > 100 {
			t.Fatalf("DocumentRange(%+v): more without documents", q)
		}
		q.After = docs[len(docs)-1].ListPosition()
	}
}

// DocumentRecords is the conformance suite of kyc.DocumentRecords;
// newStore makes a fresh, empty store.
func DocumentRecords(t *testing.T, newStore func(t *testing.T) kyc.DocumentRecords) {
	ctx := context.Background()

	t.Run("insert and read back", func(t *testing.T) {
		s := newStore(t)
		d := newDoc(1, "p1", custID(1))
		if err := s.InsertDocument(ctx, d); err != nil {
			t.Fatal(err)
		}
		got, err := s.DocumentRecord(ctx, d.ID)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(d, got); diff != "" {
			t.Errorf("DocumentRecord after InsertDocument (-inserted +read):\n%s", diff)
		}
		// Optional fields absent read back empty.
		bare := kyc.Document{ID: docID(2), PlatformID: "p1", Holder: custID(1), Type: "PASSPORT", Country: "FR",
			FileName: "p.pdf", ContentType: kyc.ContentTypePDF, Size: 5, FileKey: kyc.FileKey(docID(2), 1),
			CreatedAt: docAt, UpdatedAt: docAt, Version: 1}
		if err := s.InsertDocument(ctx, bare); err != nil {
			t.Fatal(err)
		}
		if got, err := s.DocumentRecord(ctx, bare.ID); err != nil || !cmp.Equal(got, bare) {
			t.Errorf("DocumentRecord = %+v, %v; want %+v", got, err, bare)
		}
		docs, more, err := s.DocumentRange(ctx, kyc.DocumentRange{PlatformID: "p1", Holder: custID(1), Limit: 10})
		if err != nil || more || len(docs) != 2 {
			t.Fatalf("holder range = %v, %v, %v; want both documents", ids(docs), more, err)
		}
		// A range's documents are whole (the lock aside: DocumentRecord's).
		if diff := cmp.Diff([]kyc.Document{bare, d}, docs); diff != "" {
			t.Errorf("holder range (-inserted +read):\n%s", diff)
		}
		if _, err := s.DocumentRecord(ctx, docID(99)); kyc.AsError(err).Code != kyc.CodeReferenceNotFound {
			t.Errorf("unknown document = %v; want REFERENCE_NOT_FOUND", err)
		}
	})

	t.Run("an id is inserted once", func(t *testing.T) {
		s := newStore(t)
		d := newDoc(1, "p1", custID(1))
		if err := s.InsertDocument(ctx, d); err != nil {
			t.Fatal(err)
		}
		// Another attempt of the same upload: same id, a later time.
		again := d
		again.CreatedAt, again.UpdatedAt, again.FileName = d.CreatedAt.Add(time.Second), d.UpdatedAt.Add(time.Second), "other.png"
		if err := s.InsertDocument(ctx, again); !errors.Is(err, kyc.ErrDocumentExists) {
			t.Fatalf("second InsertDocument = %v; want ErrDocumentExists", err)
		}
		if got, _ := s.DocumentRecord(ctx, d.ID); !cmp.Equal(got, d) {
			t.Errorf("after the refused insert: %+v; want the first", got)
		}
		if got := walkDocs(t, s, kyc.DocumentRange{PlatformID: "p1", Holder: custID(1), Limit: 10}); !cmp.Equal(got, []string{d.ID}) {
			t.Errorf("holder range %v; want the first document once", got)
		}
	})

	t.Run("a holder has at most MaxDocumentsPerHolder, under concurrent inserts", func(t *testing.T) {
		s := newStore(t)
		const before = kyc.MaxDocumentsPerHolder - 5
		for i := range before {
			if err := s.InsertDocument(ctx, newDoc(100+i, "p1", custID(1))); err != nil {
				t.Fatal(err)
			}
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		var landed, full int
		for i := range 12 {
			wg.Go(func() {
				err := s.InsertDocument(ctx, newDoc(200+i, "p1", custID(1)))
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					landed++
				case errors.Is(err, kyc.ErrHolderFull):
					full++
				default:
					t.Errorf("InsertDocument = %v", err)
				}
			})
		}
		wg.Wait()
		if landed != 5 || full != 7 {
			t.Errorf("%d inserts landed, %d refused as full; want 5 and 7", landed, full)
		}
		// A delete makes room for one more; another holder is not full.
		d, err := s.DocumentRecord(ctx, docID(100))
		if err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteDocument(ctx, d); err != nil {
			t.Fatal(err)
		}
		if err := s.InsertDocument(ctx, newDoc(300, "p1", custID(1))); err != nil {
			t.Errorf("an insert after a delete = %v", err)
		}
		if err := s.InsertDocument(ctx, newDoc(301, "p1", custID(1))); !errors.Is(err, kyc.ErrHolderFull) {
			t.Errorf("the next = %v; want ErrHolderFull", err)
		}
		if err := s.InsertDocument(ctx, newDoc(302, "p1", custID(2))); err != nil {
			t.Errorf("another holder's = %v", err)
		}
	})

	t.Run("the insert completing a direct upload marks it, in the same write", func(t *testing.T) {
		s := newStore(t)
		ups, ok := s.(kyc.UploadRecords)
		if !ok {
			t.Fatalf("%T keeps no direct uploads", s)
		}
		up := kyc.Upload{ID: "DocumentUpload:019ac0de-0000-7000-8000-000000000077", PlatformID: "p1", Holder: custID(1),
			FileKey: "incoming/019ac0de-0000-7000-8000-000000000077", CreatedAt: docAt, ExpiresAt: docAt.Add(kyc.UploadTTL)}
		if err := ups.PutUpload(ctx, up); err != nil {
			t.Fatal(err)
		}
		if got, err := ups.UploadRecord(ctx, up.ID); err != nil || got.Completed {
			t.Fatalf("before: %+v, %v", got, err)
		}
		d := newDoc(77, "p1", custID(1))
		d.Upload = up.ID
		if err := s.InsertDocument(ctx, d); err != nil {
			t.Fatal(err)
		}
		if got, err := ups.UploadRecord(ctx, up.ID); err != nil || !got.Completed || got.PlatformID != "p1" || got.Holder != custID(1) {
			t.Errorf("after the insert: %+v, %v; want it completed", got, err)
		}
		// A refused insert (the holder full, say) marks nothing.
		for i := range kyc.MaxDocumentsPerHolder - 1 {
			if err := s.InsertDocument(ctx, newDoc(400+i, "p1", custID(3))); err != nil {
				t.Fatal(err)
			}
		}
		other := up
		other.ID, other.Holder = "DocumentUpload:019ac0de-0000-7000-8000-000000000078", custID(3)
		ups.PutUpload(ctx, other)
		full := newDoc(78, "p1", custID(3))
		full.Upload = other.ID
		if err := s.InsertDocument(ctx, newDoc(79, "p1", custID(3))); err != nil {
			t.Fatal(err)
		}
		if err := s.InsertDocument(ctx, full); !errors.Is(err, kyc.ErrHolderFull) {
			t.Fatalf("the 51st = %v; want ErrHolderFull", err)
		}
		if got, _ := ups.UploadRecord(ctx, other.ID); got.Completed {
			t.Error("a refused insert marked its upload completed")
		}
	})

	t.Run("ranges by holder and by platform, in list order", func(t *testing.T) {
		s := newStore(t)
		holders := map[string][]string{}
		// Interleaved: two holders of p1, one of p2.
		for n := 1; n <= 12; n++ {
			platform, holder := "p1", custID(1+n%2)
			if n%4 == 0 {
				platform, holder = "p2", custID(3)
			}
			d := newDoc(n, platform, holder)
			if n == 7 {
				d.CreatedAt = newDoc(6, "", "").CreatedAt // same millisecond as 6: the id orders them
			}
			if err := s.InsertDocument(ctx, d); err != nil {
				t.Fatal(err)
			}
			holders[holder] = append(holders[holder], d.ID)
			holders[platform] = append(holders[platform], d.ID)
		}
		for _, limit := range []int{1, 2, 3, 4, 100} {
			for _, h := range []string{custID(1), custID(2)} {
				if got := walkDocs(t, s, kyc.DocumentRange{PlatformID: "p1", Holder: h, Limit: limit}); !cmp.Equal(got, holders[h]) {
					t.Errorf("holder %s by %d: %v; want %v", h, limit, got, holders[h])
				}
			}
			for _, p := range []string{"p1", "p2"} {
				if got := walkDocs(t, s, kyc.DocumentRange{PlatformID: p, Limit: limit}); !cmp.Equal(got, holders[p]) {
					t.Errorf("platform %s by %d: %v; want %v", p, limit, got, holders[p])
				}
			}
		}
		// A page that ends the range says so.
		n := len(holders[custID(1)])
		docs, more, err := s.DocumentRange(ctx, kyc.DocumentRange{PlatformID: "p1", Holder: custID(1), Limit: n})
		if err != nil || more || len(docs) != n {
			t.Errorf("the whole holder range in one page: %d documents, more %v, %v; want %d, false", len(docs), more, err, n)
		}
		docs, more, err = s.DocumentRange(ctx, kyc.DocumentRange{PlatformID: "p1", Holder: custID(1), Limit: n - 1})
		if err != nil || !more || len(docs) != n-1 {
			t.Errorf("all but one: %d documents, more %v, %v; want %d, true", len(docs), more, err, n-1)
		}
		last, _ := s.DocumentRecord(ctx, holders["p1"][len(holders["p1"])-1])
		if docs, more, err := s.DocumentRange(ctx, kyc.DocumentRange{PlatformID: "p1", After: last.ListPosition(), Limit: 5}); err != nil || more || len(docs) != 0 {
			t.Errorf("after the last: %v, %v, %v; want none", ids(docs), more, err)
		}
	})

	t.Run("a platform never reads another's documents", func(t *testing.T) {
		s := newStore(t)
		for n, p := range []string{"pa", "pb", "pa", "pb"} {
			if err := s.InsertDocument(ctx, newDoc(n+1, p, custID(n%2+1))); err != nil {
				t.Fatal(err)
			}
		}
		for _, q := range []kyc.DocumentRange{
			{PlatformID: "pa", Limit: 10},
			{PlatformID: "pa", Holder: custID(2), Limit: 10}, // pb's customer
			{PlatformID: "pa", Holder: custID(1), Limit: 10},
		} {
			docs, _, err := s.DocumentRange(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range docs {
				if d.PlatformID != "pa" {
					t.Errorf("range %+v returned %s of %s", q, d.ID, d.PlatformID)
				}
			}
		}
		if got := walkDocs(t, s, kyc.DocumentRange{PlatformID: "pa", Holder: custID(2), Limit: 10}); len(got) != 0 {
			t.Errorf("pa's range of pb's customer: %v; want none", got)
		}
	})

	t.Run("replace and delete are conditional on the version", func(t *testing.T) {
		s := newStore(t)
		v1 := newDoc(1, "p1", custID(1))
		if err := s.InsertDocument(ctx, v1); err != nil {
			t.Fatal(err)
		}
		v2 := v1
		v2.Type, v2.Side, v2.Number, v2.IssuingAuthority, v2.FileName = "PASSPORT", "", "", "", "passport.pdf"
		v2.ContentType, v2.Size, v2.FileKey = kyc.ContentTypePDF, 77, kyc.FileKey(v1.ID, 2)
		v2.UpdatedAt, v2.Version = v1.UpdatedAt.Add(time.Minute), 2
		if err := s.ReplaceDocument(ctx, v1, v2); err != nil {
			t.Fatal(err)
		}
		got, err := s.DocumentRecord(ctx, v1.ID)
		if err != nil || !cmp.Equal(got, v2) {
			t.Fatalf("after replace: %+v, %v; want %+v", got, err, v2)
		}
		// The holder's list reads the new version at once (consistent).
		docs, _, err := s.DocumentRange(ctx, kyc.DocumentRange{PlatformID: "p1", Holder: v1.Holder, Limit: 10})
		if err != nil || len(docs) != 1 || !cmp.Equal(docs[0], v2) {
			t.Errorf("holder range after replace: %+v, %v; want %+v", docs, err, v2)
		}
		// A writer that read v1 lost.
		stale := v2
		stale.FileName = "stale.pdf"
		if err := s.ReplaceDocument(ctx, v1, stale); !errors.Is(err, kyc.ErrChanged) {
			t.Errorf("replace of a stale version = %v; want ErrChanged", err)
		}
		if err := s.DeleteDocument(ctx, v1); !errors.Is(err, kyc.ErrChanged) {
			t.Errorf("delete of a stale version = %v; want ErrChanged", err)
		}
		if got, _ := s.DocumentRecord(ctx, v1.ID); !cmp.Equal(got, v2) {
			t.Errorf("after the refused writes: %+v; want %+v", got, v2)
		}
		if err := s.DeleteDocument(ctx, v2); err != nil {
			t.Fatal(err)
		}
		if _, err := s.DocumentRecord(ctx, v1.ID); kyc.AsError(err).Code != kyc.CodeReferenceNotFound {
			t.Errorf("deleted document = %v; want REFERENCE_NOT_FOUND", err)
		}
		for _, q := range []kyc.DocumentRange{{PlatformID: "p1", Holder: v1.Holder, Limit: 10}, {PlatformID: "p1", Limit: 10}} {
			if got := walkDocs(t, s, q); len(got) != 0 {
				t.Errorf("range %+v after delete: %v; want none", q, got)
			}
		}
		if err := s.ReplaceDocument(ctx, v2, v2); !errors.Is(err, kyc.ErrChanged) {
			t.Errorf("replace of a deleted document = %v; want ErrChanged", err)
		}
		if err := s.DeleteDocument(ctx, v2); !errors.Is(err, kyc.ErrChanged) {
			t.Errorf("delete of a deleted document = %v; want ErrChanged", err)
		}
		// Gone means gone: the id can be inserted again (nothing of it
		// was left behind).
		if err := s.InsertDocument(ctx, v1); err != nil {
			t.Errorf("insert after delete = %v", err)
		}
	})

	t.Run("a submitted document can be neither replaced nor deleted", func(t *testing.T) {
		s := newStore(t)
		d := newDoc(1, "p1", custID(1))
		d.SubmittedIn = "Verification:019ac0de-0000-7000-8000-000000000001"
		if err := s.InsertDocument(ctx, d); err != nil {
			t.Fatal(err)
		}
		if got, err := s.DocumentRecord(ctx, d.ID); err != nil || got.SubmittedIn != d.SubmittedIn {
			t.Fatalf("DocumentRecord = %+v, %v; want submitted in %s", got, err, d.SubmittedIn)
		}
		next := d
		next.FileName, next.Version, next.SubmittedIn = "new.png", 2, ""
		if err := s.ReplaceDocument(ctx, d, next); !errors.Is(err, kyc.ErrChanged) {
			t.Errorf("replace of a submitted document = %v; want ErrChanged", err)
		}
		if err := s.DeleteDocument(ctx, d); !errors.Is(err, kyc.ErrChanged) {
			t.Errorf("delete of a submitted document = %v; want ErrChanged", err)
		}
		if got, _ := s.DocumentRecord(ctx, d.ID); !cmp.Equal(got, d) {
			t.Errorf("after the refused writes: %+v; want %+v", got, d)
		}
	})
}
