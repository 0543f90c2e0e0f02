package kyc_test

// Defects a review of issue 25's change found: each test failed on the
// change as reviewed.

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/grid-kyc/kyc-link/pkg/gridhook"

	"github.com/grid-kyc/kyc-link/pkg/kyc"
)

// landsThenFails stores an insert and then reports an outage, as a write
// whose answer was lost does.
type landsThenFails struct {
	kyc.DocumentRecords
	once sync.Once
}

func (s *landsThenFails) InsertDocument(ctx context.Context, d kyc.Document) error {
	err := s.DocumentRecords.InsertDocument(ctx, d)
	lost := false
	s.once.Do(func() { lost = true })
	if err == nil && lost {
		return kyc.Unavailable(kyc.DepStore, "The document store is temporarily unavailable.", 0, errors.New("answer lost"))
	}
	return err
}

// The 50th upload's answer is lost; the retry under the same intent (what
// the idempotency guard runs after an abandoned attempt) is refused for the
// holder's count, and deletes the file of the document the first attempt
// stored.
func TestFoundRetryOfLandedUploadDeletesItsFile(t *testing.T) {
	e := newVerifyEnv(t)
	ctx := context.Background()
	c := create(t, e.customers, "p1", individual)
	for i := 0; i < kyc.MaxDocumentsPerHolder-1; i++ {
		e.upload(t, "p1", c.ID, "SELFIE", "", pngFile)
	}
	docs := *e.documents
	docs.Store = &landsThenFails{DocumentRecords: e.store}
	in := kyc.DocumentInput{Holder: c.ID, Type: "PASSPORT", Country: "US"}
	const intent = "019ac0de-2222-7000-8000-000000000001"
	if _, err := docs.Upload(ctx, "p1", in, kyc.DocumentFile{Content: pdfFile}, intent); err == nil {
		t.Fatal("first attempt: want the lost answer's error")
	}
	v, err := docs.Upload(ctx, "p1", in, kyc.DocumentFile{Content: pdfFile}, intent)
	d, _ := e.store.DocumentRecord(ctx, kyc.DocumentIDPrefix+intent)
	has := slices.Contains(e.files.Keys(), d.FileKey)
	if err != nil || !has {
		t.Errorf("retry = %+v, %v; document %s stored: file %s present: %v (want the stored document answered and its file kept)", v, err, d.ID, d.FileKey, has)
	}
}

// gate holds ReplaceDocument calls until the test lets each go.
type gate struct {
	kyc.DocumentRecords
	mu      sync.Mutex
	n       int
	arrived [2]chan struct{}
	release [2]chan struct{}
}

func (g *gate) ReplaceDocument(ctx context.Context, prev, next kyc.Document) error {
	g.mu.Lock()
	i := g.n
	g.n++
	g.mu.Unlock()
	if i < 2 {
		close(g.arrived[i])
		<-g.release[i]
	}
	return g.DocumentRecords.ReplaceDocument(ctx, prev, next)
}

// Two PUTs of one document from the same version write the same file key
// (documents/<id>/v2): the second's bytes replace the first's under the
// winner's metadata, and the loser then deletes the winner's file. With a
// submission in between, the submitted document has no file.
func TestFoundConcurrentReplacesShareAFileKey(t *testing.T) {
	e := newVerifyEnv(t)
	ctx := context.Background()
	c := create(t, e.customers, "p1", individual)
	d := e.upload(t, "p1", c.ID, "PASSPORT", "", pdfFile)
	g := &gate{DocumentRecords: e.store}
	for i := range 2 {
		g.arrived[i], g.release[i] = make(chan struct{}), make(chan struct{})
	}
	docs := *e.documents
	docs.Store = g
	in := kyc.DocumentInput{Type: "PASSPORT", Country: "US"}
	errs := make(chan error, 2)
	go func() {
		_, err := docs.Replace(ctx, "p1", d.ID, in, kyc.DocumentFile{Name: "a.png", Content: pngFile})
		errs <- err
	}()
	<-g.arrived[0]
	go func() {
		_, err := docs.Replace(ctx, "p1", d.ID, in, kyc.DocumentFile{Name: "b.jpg", Content: jpegFile})
		errs <- err
	}()
	<-g.arrived[1]
	close(g.release[0]) // the PNG's write wins
	if err := <-errs; err != nil {
		t.Fatal(err)
	}
	cur, _ := e.store.DocumentRecord(ctx, d.ID)
	content, _ := e.files.ReadFile(ctx, cur.FileKey)
	if got := kyc.DetectContentType(content); got != cur.ContentType {
		t.Errorf("document %s v%d says %s (%s); its file is %s", cur.ID, cur.Version, cur.ContentType, cur.FileName, got)
	}
	// The customer is submitted with the document as it stands (v2).
	v, err := e.verifications.Submit(ctx, "p1", c.ID, "")
	if err != nil || v.VerificationStatus != kyc.VerificationInProgress {
		t.Fatalf("Submit = %+v, %v", v, err)
	}
	close(g.release[1]) // the JPEG's write fails: its retry meets the lock
	err = <-errs
	cur, _ = e.store.DocumentRecord(ctx, d.ID)
	_, rerr := e.files.ReadFile(ctx, cur.FileKey)
	if rerr != nil {
		t.Errorf("second Replace = %v; the submitted document v%d (locked by %s) has no file: %v", err, cur.Version, cur.SubmittedIn, rerr)
	}
}

// verificationLost stores a verification and then reports an outage.
type verificationLost struct {
	kyc.VerificationRecords
	lose bool
}

func (s *verificationLost) WriteVerification(ctx context.Context, w kyc.VerificationWrite) error {
	err := s.VerificationRecords.WriteVerification(ctx, w)
	if err == nil && s.lose {
		s.lose = false
		return kyc.Unavailable(kyc.DepStore, "The verification store is temporarily unavailable.", 0, errors.New("answer lost"))
	}
	return err
}

// A verification whose answer was lost, retried under its intent once the
// customer moved on, is answered with a 409/400 instead of the verification
// it wrote.
func TestFoundRetryOfLandedVerificationAfterTheCustomerMoved(t *testing.T) {
	for _, tc := range []struct {
		name    string
		between func(t *testing.T, e *verifyEnv, c kyc.CustomerView)
	}{
		{"a RESOLVE_ERRORS verification, then another submission", func(t *testing.T, e *verifyEnv, c kyc.CustomerView) {
			e.upload(t, "p1", c.ID, "PASSPORT", "", pdfFile)
			if v, err := e.verifications.Submit(context.Background(), "p1", c.ID, ""); err != nil || v.VerificationStatus != kyc.VerificationInProgress {
				t.Fatalf("second Submit = %+v, %v", v, err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newVerifyEnv(t)
			ctx := context.Background()
			c := create(t, e.customers, "p1", individual) // no document yet: RESOLVE_ERRORS
			vs := *e.verifications
			vs.Store = &verificationLost{VerificationRecords: e.store, lose: true}
			const intent = "019ac0de-3333-7000-8000-000000000001"
			if _, err := vs.Submit(ctx, "p1", c.ID, intent); err == nil {
				t.Fatal("first attempt: want the lost answer")
			}
			tc.between(t, e, c)
			v, err := vs.Submit(ctx, "p1", c.ID, intent)
			if err != nil || v.ID != kyc.VerificationIDPrefix+intent {
				t.Errorf("retry = %+v, %v; want %s answered", v.ID, err, kyc.VerificationIDPrefix+intent)
			}
		})
	}
}

var _ = fmt.Sprint

// capture is a provider that keeps what it was handed.
type capture struct {
	got     []kyc.ProviderSubmission
	refusal *kyc.ProviderRefusal
}

func (p *capture) SubmitForReview(_ context.Context, s kyc.ProviderSubmission) error {
	p.got = append(p.got, s)
	if p.refusal != nil {
		return p.refusal
	}
	return nil
}

func (e *verifyEnv) submissions(p kyc.ReviewSubmitter, sealer kyc.Opener) *kyc.Submissions {
	return &kyc.Submissions{Verifications: e.store, Marks: e.store, Customers: e.store, Documents: e.store,
		Files: e.files, Opener: sealer, Provider: p, Reviews: e.store, VerificationNotices: gridhook.VerificationNotice,
		Now: func() time.Time { return e.clock }}
}

// A PATCH after POST /verifications checked the customer changes what the
// provider is sent: the job reads the customer as it is when it runs.
func TestFoundSubmissionSendsDataNeverChecked(t *testing.T) {
	e := newVerifyEnv(t)
	ctx := context.Background()
	for _, tc := range []struct {
		name, patch string
		// refused: the job sends the verification back (what it found
		// missing); else the provider gets the data as now, checked.
		refused []string
		sent    string
	}{
		{"still complete", `{"customerType":"INDIVIDUAL","fullName":"Somebody Else 002","nationality":"FR"}`, nil, "Somebody Else 002"},
		{"no longer complete", `{"customerType":"INDIVIDUAL","address":{"line1":"1 Rue","postalCode":"75001","country":"FR"}}`,
			[]string{"MISSING_FIELD:customer.address.city"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := create(t, e.customers, "p1", strings.Replace(individual, `"ind-9f84e0c2"`, fmt.Sprintf("%q", tc.name), 1))
			e.upload(t, "p1", c.ID, "PASSPORT", "", pdfFile)
			v, err := e.verifications.Submit(ctx, "p1", c.ID, "")
			if err != nil || v.VerificationStatus != kyc.VerificationInProgress {
				t.Fatalf("Submit = %+v, %v", v, err)
			}
			if _, err := patch(t, e.customers, "p1", c.ID, tc.patch); err != nil {
				t.Fatalf("PATCH while PENDING = %v", err)
			}
			p := &capture{}
			out, err := e.submissions(p, e.customers.Sealer.(kyc.Opener)).Submit(ctx, v.ID)
			if err != nil {
				t.Fatal(err)
			}
			if tc.refused != nil {
				got, _ := e.verifications.Get(ctx, "p1", v.ID)
				if out != kyc.SubmitRefused || len(p.got) != 0 || !slices.Equal(errorKinds(got.Errors), tc.refused) {
					t.Errorf("job = %s, provider called %d times, verification %s %v; want refused with %v", out, len(p.got), got.VerificationStatus, errorKinds(got.Errors), tc.refused)
				}
				return
			}
			if len(p.got) != 1 || p.got[0].Customer.FullName != tc.sent {
				t.Errorf("the provider got %d submissions; want one with fullName %q", len(p.got), tc.sent)
			}
		})
	}
}

// pendingThenRefuse is a provider whose applicantPending event lands (the
// receiver applies it) while it refuses the submission.
type pendingThenRefuse struct {
	e *verifyEnv
}

func (p *pendingThenRefuse) SubmitForReview(ctx context.Context, s kyc.ProviderSubmission) error {
	if _, err := p.e.reviews.Apply(ctx, kyc.Review{CustomerID: s.Customer.ID, Status: kyc.StatusPending, At: p.e.clock.Add(-time.Second)}); err != nil {
		return err
	}
	return &kyc.ProviderRefusal{Problems: []kyc.VerificationError{{Type: kyc.ErrUnreadableDocument, Reason: "x"}}}
}

// The provider's refusal is dropped when any review (even a pending one)
// landed since the job read the customer: the verification stays
// IN_PROGRESS and the customer PENDING, and the job reports no error, so
// nothing retries it.
func TestFoundRefusalDroppedAfterAPendingEvent(t *testing.T) {
	e := newVerifyEnv(t)
	ctx := context.Background()
	c := create(t, e.customers, "p1", individual)
	e.upload(t, "p1", c.ID, "PASSPORT", "", pdfFile)
	v, err := e.verifications.Submit(ctx, "p1", c.ID, "")
	if err != nil || v.VerificationStatus != kyc.VerificationInProgress {
		t.Fatalf("Submit = %+v, %v", v, err)
	}
	out, err := e.submissions(&pendingThenRefuse{e: e}, e.customers.Sealer.(kyc.Opener)).Submit(ctx, v.ID)
	got, _ := e.store.VerificationRecord(ctx, v.ID)
	cur, _ := e.store.CustomerRecord(ctx, c.ID)
	if got.Status != kyc.VerificationResolveErrors {
		t.Errorf("job = %s, %v; verification %s, customer %s (want RESOLVE_ERRORS / UNVERIFIED, or an error so the job is retried)", out, err, got.Status, cur.StatusOf())
	}
}

// A retry of an upload whose document was replaced since rewrites the
// first version's file, which nothing refers to any more (personal data
// left in storage for good).
func TestFoundRetryAfterReplaceOrphansAFile(t *testing.T) {
	e := newVerifyEnv(t)
	ctx := context.Background()
	c := create(t, e.customers, "p1", individual)
	docs := *e.documents
	docs.Store = &landsThenFails{DocumentRecords: e.store}
	in := kyc.DocumentInput{Holder: c.ID, Type: "PASSPORT", Country: "US"}
	const intent = "019ac0de-4444-7000-8000-000000000001"
	docs.Upload(ctx, "p1", in, kyc.DocumentFile{Content: pdfFile}, intent)
	id := kyc.DocumentIDPrefix + intent
	if _, err := e.documents.Replace(ctx, "p1", id, kyc.DocumentInput{Type: "PASSPORT", Country: "US"}, kyc.DocumentFile{Content: pngFile}); err != nil {
		t.Fatal(err)
	}
	if _, err := docs.Upload(ctx, "p1", in, kyc.DocumentFile{Content: pdfFile}, intent); err != nil {
		t.Fatal(err)
	}
	cur, _ := e.store.DocumentRecord(ctx, id)
	if keys := e.files.Keys(); len(keys) != 1 || keys[0] != cur.FileKey {
		t.Errorf("files %v; want only the document's %s", keys, cur.FileKey)
	}
}

// A purge job for a customer that is not gone (a message sent by hand in
// error) destroyed its documents; it must do nothing until the customer is
// deleted and past its retention.
func TestFoundPurgeOfALiveCustomer(t *testing.T) {
	e := newVerifyEnv(t)
	ctx := context.Background()
	c := e.ready(t, "p1")
	jobs := e.submissions(&capture{}, e.customers.Sealer.(kyc.Opener))
	count := func() int {
		l, _ := e.documents.List(ctx, "p1", kyc.DocumentListQuery{Holder: c.ID})
		return len(l.Data)
	}
	for _, step := range []struct {
		name string
		do   func()
		want kyc.SubmitOutcome
		left int
	}{
		{"live", func() {}, kyc.SubmitNotNeeded, 1},
		{"another platform's name", func() {}, kyc.SubmitNotNeeded, 1},
		{"deleted, within its retention", func() {
			if _, err := e.customers.Delete(ctx, "p1", c.ID); err != nil {
				t.Fatal(err)
			}
		}, kyc.SubmitNotNeeded, 1},
		{"past its retention", func() { e.advance(kyc.DefaultDeletedRetention + time.Hour) }, kyc.Purged, 0},
	} {
		step.do()
		platform := "p1"
		if step.name == "another platform's name" {
			platform = "p2"
		}
		out, err := jobs.Purge(ctx, platform, c.ID, nil)
		if err != nil || out != step.want || count() != step.left {
			t.Errorf("%s: Purge = %s, %v, %d documents left; want %s, %d", step.name, out, err, count(), step.want, step.left)
		}
	}
}
