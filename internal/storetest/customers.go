// Package storetest holds the conformance suites the platform API's
// stores pass: one per interface (kyc.CustomerRecords with the reviews'
// and the link route's view of the same customers, kyc.PlatformStore,
// kyc.Sealer), run against the memory stores (pkg/memstore) and against
// DynamoDB and KMS on moto (pkg/awsstore).
package storetest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"github.com/grid-kyc/kyc-link/pkg/kyc"
)

// Env is one customer store under test.
type Env struct {
	Records kyc.CustomerRecords
	// Links and Reviews are the link route's and the reviews' stores over
	// the same customers.
	Links   kyc.CustomerStore
	Reviews kyc.ReviewStore
	Sealer  kyc.Sealer
	// Stored returns everything the store keeps of customer id (every
	// attribute value of its item, flattened to strings), for the check
	// that no plaintext identifier is kept.
	Stored func(t *testing.T, id string) []string
	// RangeReads counts the store's range reads (DynamoDB: Query calls on
	// the index) and Scans counts full reads (DynamoDB Scan), which must
	// stay 0.
	RangeReads, Scans func() int64
}

// Plaintext the suite sends and looks for in storage.
const (
	ssn   = "123-45-6789"
	taxID = "47-1234567"
)

const (
	individualBody = `{"customerType":"INDIVIDUAL","platformCustomerId":"user-1","region":"US","currencies":["USD"],
		"fullName":"Jane Smith","birthDate":"1990-01-15","nationality":"US","email":"jane@example.com",
		"phoneNumber":"+14155551234","idType":"SSN","identifier":"` + ssn + `",
		"address":{"line1":"1 Main St","postalCode":"98101","country":"US"}}`
	businessBody = `{"customerType":"BUSINESS","platformCustomerId":"biz-1","email":"ops@acme.example",
		"businessInfo":{"legalName":"Acme","country":"US","taxId":"` + taxID + `","incorporatedOn":"2018-03-14",
		"countriesOfOperation":["US","MX"],"entityType":"LLC"}}`
)

// clock is a test clock that moves a millisecond per reading, so every
// customer has its own creation time (and the list an order the test
// knows); concurrent readers each get a distinct time.
type clock struct{ ms atomic.Int64 }

func (c *clock) now() time.Time {
	return time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC).Add(time.Duration(c.ms.Add(1)) * time.Millisecond)
}

func newCustomers(e Env) *kyc.Customers {
	c := &clock{}
	key := []byte("storetest cursor key, 32 bytes!!")
	return &kyc.Customers{Store: e.Records, Sealer: e.Sealer, Now: c.now, UmaDomain: "uma.example.com",
		CursorKey: func(context.Context) ([]byte, error) { return key, nil }}
}

func input(t *testing.T, body string) kyc.CustomerInput {
	t.Helper()
	in, err := kyc.ParseCustomerInput([]byte(body))
	if err != nil {
		t.Fatalf("ParseCustomerInput(%s) = %v", body, err)
	}
	return in
}

func mustCreate(t *testing.T, c *kyc.Customers, platform, body string) kyc.CustomerView {
	t.Helper()
	v, err := c.Create(context.Background(), platform, input(t, body), "")
	if err != nil {
		t.Fatalf("Create(%s) = %v", body, err)
	}
	return v
}

// walk lists every page of platform's customers with limit and returns
// the ids in order and the number of pages.
func walk(t *testing.T, c *kyc.Customers, platform string, q kyc.ListQuery) (ids []string, pages int) {
	t.Helper()
	for {
		page, err := c.List(context.Background(), platform, q)
		if err != nil {
			t.Fatalf("List page %d: %v", pages+1, err)
		}
		pages++
		for _, v := range page.Data {
			ids = append(ids, v.ID)
		}
		if !page.HasMore {
			if page.NextCursor != "" {
				t.Errorf("last page has a nextCursor")
			}
			return ids, pages
		}
		if page.NextCursor == "" {
			t.Fatalf("page %d hasMore without nextCursor", pages)
		}
		q.Cursor = page.NextCursor
		if pages > 1000 {
			t.Fatal("the walk does not end")
		}
	}
}

// CustomerRecords runs the suite against the stores newEnv makes (a fresh,
// empty store each time).
func CustomerRecords(t *testing.T, newEnv func(t *testing.T) Env) {
	ctx := context.Background()

	t.Run("create and read back", func(t *testing.T) {
		e := newEnv(t)
		c := newCustomers(e)
		for _, body := range []string{individualBody, businessBody} {
			v := mustCreate(t, c, "p1", body)
			got, err := c.Get(ctx, "p1", v.ID)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(v, got); diff != "" {
				t.Errorf("Get after Create (-created +read):\n%s", diff)
			}
			r, err := e.Records.CustomerRecord(ctx, v.ID)
			if err != nil || r.Version != 1 || r.PlatformID != "p1" || r.CreatedAt.IsZero() {
				t.Errorf("record = %+v, %v", r, err)
			}
		}
		if _, err := e.Records.CustomerRecord(ctx, "Customer:019ac0de-0000-7000-8000-000000000000"); kyc.AsError(err).Code != kyc.CodeNotFound {
			t.Errorf("unknown customer = %v; want USER_NOT_FOUND", err)
		}
	})

	t.Run("the link route and the reviews read created customers", func(t *testing.T) {
		e := newEnv(t)
		c := newCustomers(e)
		v := mustCreate(t, c, "p1", individualBody)
		// One customer: the link route reads what the platform API keeps.
		want, err := e.Records.CustomerRecord(ctx, v.ID)
		if err != nil || want.KYCStatus != kyc.StatusUnverified || want.Email != "jane@example.com" ||
			want.PlatformCustomerID != "user-1" || !want.CreatedAt.Equal(parse(t, v.CreatedAt)) {
			t.Fatalf("CustomerRecord = %+v, %v", want, err)
		}
		got, err := e.Links.FindCustomer(ctx, v.ID)
		if diff := cmp.Diff(want, got); err != nil || diff != "" {
			t.Errorf("FindCustomer = %v (-the platform API's +the link route's):\n%s", err, diff)
		}
		// A review, then an update: the update keeps the review's status.
		reviewed := parse(t, v.UpdatedAt).Add(time.Second)
		if err := e.Reviews.ApplyChange(ctx, kyc.Change{CustomerID: v.ID, Type: kyc.Individual, Status: kyc.StatusPending,
			ReviewAt: reviewed, UpdatedAt: reviewed, WasStatus: kyc.StatusUnverified}, nil); err != nil {
			t.Fatalf("ApplyChange on a created customer: %v", err)
		}
		u, err := c.Update(ctx, "p1", v.ID, input(t, `{"customerType":"INDIVIDUAL","fullName":"Jane Q. Smith"}`))
		if err != nil || u.KYCStatus != kyc.StatusPending || u.FullName != "Jane Q. Smith" {
			t.Fatalf("Update after a review = %+v, %v; want PENDING kept", u, err)
		}
		if got, _ := e.Links.FindCustomer(ctx, v.ID); got.KYCStatus != "PENDING" || !got.LastReviewAt.Equal(reviewed) {
			t.Errorf("after the update the reviews see %+v", got)
		}
		// A review after the update still applies (the update left the
		// reviews' attributes alone).
		if err := e.Reviews.ApplyChange(ctx, kyc.Change{CustomerID: v.ID, Type: kyc.Individual, Status: kyc.StatusApproved,
			ReviewAt: reviewed.Add(time.Second), UpdatedAt: reviewed.Add(time.Second), WasStatus: kyc.StatusPending, WasReviewAt: reviewed}, nil); err != nil {
			t.Fatalf("ApplyChange after an update: %v", err)
		}
		if g, _ := c.Get(ctx, "p1", v.ID); g.KYCStatus != kyc.StatusApproved || g.FullName != "Jane Q. Smith" {
			t.Errorf("Get = %+v", g)
		}
		if _, err := c.Delete(ctx, "p1", v.ID); err != nil {
			t.Fatal(err)
		}
		if got, _ := e.Links.FindCustomer(ctx, v.ID); !got.IsDeleted {
			t.Errorf("the link route sees a deleted customer as %+v", got)
		}
	})

	t.Run("20 concurrent creates with one platformCustomerId: one wins", func(t *testing.T) {
		e := newEnv(t)
		c := newCustomers(e)
		var wg sync.WaitGroup
		var won, conflicts atomic.Int64
		errs := make(chan error, 20)
		for i := range 20 {
			wg.Go(func() {
				_, err := c.Create(ctx, "p1", input(t, fmt.Sprintf(`{"customerType":"INDIVIDUAL","platformCustomerId":"same","email":"u%d@example.com"}`, i)), "")
				switch e := kyc.AsError(err); {
				case err == nil:
					won.Add(1)
				case e.Code == kyc.CodeConflict && e.Details["reason"] == kyc.ReasonPlatformCustomerIDExists:
					conflicts.Add(1)
				default:
					errs <- err
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Errorf("concurrent create: %v", err)
		}
		if won.Load() != 1 || conflicts.Load() != 19 {
			t.Errorf("%d created, %d CONFLICT; want 1 and 19", won.Load(), conflicts.Load())
		}
		ids, _ := walk(t, c, "p1", kyc.ListQuery{IncludeDeleted: true})
		if len(ids) != 1 {
			t.Errorf("%d customers stored; want 1", len(ids))
		}
		// Another platform has its own platformCustomerIds.
		mustCreate(t, c, "p2", `{"customerType":"INDIVIDUAL","platformCustomerId":"same"}`)
	})

	t.Run("walking all pages under concurrent inserts returns each customer once", func(t *testing.T) {
		e := newEnv(t)
		c := newCustomers(e)
		var before []string
		for range 23 {
			before = append(before, mustCreate(t, c, "p1", `{"customerType":"INDIVIDUAL"}`).ID)
		}
		mustCreate(t, c, "p2", `{"customerType":"INDIVIDUAL"}`)
		stop := make(chan struct{})
		var inserted []string
		var mu sync.Mutex
		var wg sync.WaitGroup
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				v, err := c.Create(ctx, "p1", input(t, `{"customerType":"BUSINESS","businessInfo":{"legalName":"N","country":"US","taxId":"1","incorporatedOn":"2020-01-01"}}`), "")
				if err != nil {
					t.Errorf("concurrent insert: %v", err)
					return
				}
				mu.Lock()
				inserted = append(inserted, v.ID)
				mu.Unlock()
				if i == 30 {
					return
				}
			}
		})
		ids, pages := walk(t, c, "p1", kyc.ListQuery{Limit: 4})
		close(stop)
		wg.Wait()
		seen := map[string]int{}
		for _, id := range ids {
			seen[id]++
		}
		for id, n := range seen {
			if n != 1 {
				t.Errorf("%s listed %d times", id, n)
			}
		}
		for _, id := range before {
			if seen[id] != 1 {
				t.Errorf("%s (there all along) listed %d times", id, seen[id])
			}
		}
		mu.Lock()
		defer mu.Unlock()
		for id := range seen {
			if !slices.Contains(before, id) && !slices.Contains(inserted, id) {
				t.Errorf("%s listed: not p1's", id)
			}
		}
		if pages < 6 {
			t.Errorf("%d pages of 4 for %d customers", pages, len(ids))
		}
		// In order: creation time, then id.
		if !slices.IsSortedFunc(ids[:len(before)], func(a, b string) int { return slices.Index(before, a) - slices.Index(before, b) }) {
			t.Errorf("pages out of creation order: %v", ids)
		}
	})

	t.Run("a page costs one range read and never a scan", func(t *testing.T) {
		e := newEnv(t)
		c := newCustomers(e)
		for range 7 {
			mustCreate(t, c, "p1", `{"customerType":"INDIVIDUAL"}`)
		}
		if e.RangeReads == nil || e.Scans == nil {
			t.Fatal("the env counts no reads")
		}
		r0 := e.RangeReads()
		_, pages := walk(t, c, "p1", kyc.ListQuery{Limit: 3})
		if got := e.RangeReads() - r0; pages != 3 || got != 3 {
			t.Errorf("%d pages cost %d range reads; want 3 and 3", pages, got)
		}
		r0 = e.RangeReads()
		list, err := c.List(ctx, "p1", kyc.ListQuery{PlatformCustomerID: "none"})
		if err != nil || len(list.Data) != 0 || e.RangeReads() != r0 {
			t.Errorf("a platformCustomerId lookup = %+v, %v, %d range reads; want none", list, err, e.RangeReads()-r0)
		}
		if e.Scans() != 0 {
			t.Errorf("%d scans", e.Scans())
		}
	})

	t.Run("cursors are bound to their platform and cannot be forged", func(t *testing.T) {
		e := newEnv(t)
		c := newCustomers(e)
		for range 3 {
			mustCreate(t, c, "p1", `{"customerType":"INDIVIDUAL"}`)
		}
		page, err := c.List(ctx, "p1", kyc.ListQuery{Limit: 1})
		if err != nil || page.NextCursor == "" {
			t.Fatal(page, err)
		}
		for name, tc := range map[string]struct {
			platform, cursor string
		}{
			"other platform": {"p2", page.NextCursor},
			"forged":         {"p1", "MjAyNi0xMS0yNlQwOTowMDowMC4wMDFaI0N1c3RvbWVyOng.AAAA"},
			"truncated":      {"p1", page.NextCursor[:len(page.NextCursor)-2]},
		} {
			_, err := c.List(ctx, tc.platform, kyc.ListQuery{Limit: 1, Cursor: tc.cursor})
			if e := kyc.AsError(err); e.Code != kyc.CodeInvalid || e.Details["field"] != "cursor" {
				t.Errorf("%s cursor: %v; want INVALID_INPUT cursor", name, err)
			}
		}
	})

	t.Run("tenant isolation", func(t *testing.T) {
		e := newEnv(t)
		c := newCustomers(e)
		a := mustCreate(t, c, "p1", individualBody)
		b := mustCreate(t, c, "p2", individualBody)
		for _, tc := range []struct {
			platform, own, other string
		}{{"p1", a.ID, b.ID}, {"p2", b.ID, a.ID}} {
			ids, _ := walk(t, c, tc.platform, kyc.ListQuery{IncludeDeleted: true})
			if diff := cmp.Diff([]string{tc.own}, ids); diff != "" {
				t.Errorf("%s lists (-want +got):\n%s", tc.platform, diff)
			}
			list, err := c.List(ctx, tc.platform, kyc.ListQuery{PlatformCustomerID: "user-1"})
			if err != nil || len(list.Data) != 1 || list.Data[0].ID != tc.own {
				t.Errorf("%s by platformCustomerId = %+v, %v", tc.platform, list, err)
			}
			_, errGet := c.Get(ctx, tc.platform, tc.other)
			_, errUpdate := c.Update(ctx, tc.platform, tc.other, input(t, `{"fullName":"Mallory"}`))
			_, errDelete := c.Delete(ctx, tc.platform, tc.other)
			for name, err := range map[string]error{"get": errGet, "update": errUpdate, "delete": errDelete} {
				if e := kyc.AsError(err); e.Code != kyc.CodeNotFound || e.Message != kyc.CustomerNotFound().Message || e.Details != nil {
					t.Errorf("%s of another platform's customer = %#v; want the unknown customer's answer", name, err)
				}
			}
		}
		for _, v := range []kyc.CustomerView{a, b} {
			if got, _ := e.Records.CustomerRecord(ctx, v.ID); got.FullName != "Jane Smith" || got.IsDeleted {
				t.Errorf("another platform changed %s: %+v", v.ID, got)
			}
		}
	})

	t.Run("concurrent updates of different fields all survive", func(t *testing.T) {
		e := newEnv(t)
		c := newCustomers(e)
		v := mustCreate(t, c, "p1", individualBody)
		patches := []string{
			`{"fullName":"New Name"}`, `{"email":"new@example.com"}`, `{"birthDate":"1991-02-03"}`,
			`{"currencies":["EUR"]}`, `{"address":{"line1":"2 New St","postalCode":"10001","country":"US"}}`,
		}
		var wg sync.WaitGroup
		for _, p := range patches {
			wg.Go(func() {
				if _, err := c.Update(ctx, "p1", v.ID, input(t, p)); err != nil {
					t.Errorf("Update(%s): %v", p, err)
				}
			})
		}
		wg.Wait()
		got, err := c.Get(ctx, "p1", v.ID)
		if err != nil {
			t.Fatal(err)
		}
		want := v
		want.FullName, want.Email, want.BirthDate, want.Currencies = "New Name", "new@example.com", "1991-02-03", []string{"EUR"}
		want.Address = &kyc.Address{Line1: "2 New St", PostalCode: "10001", Country: "US"}
		want.UpdatedAt = got.UpdatedAt
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("after concurrent updates (-want +got):\n%s", diff)
		}
		if got.UpdatedAt <= v.UpdatedAt {
			t.Errorf("updatedAt %s did not move from %s", got.UpdatedAt, v.UpdatedAt)
		}
		if r, _ := e.Records.CustomerRecord(ctx, v.ID); r.Version != int64(1+len(patches)) {
			t.Errorf("version %d after %d updates", r.Version, len(patches))
		}
	})

	t.Run("a create retried under its intent answers the first customer", func(t *testing.T) {
		// The idempotency guard hands every attempt of one key and body
		// the same intent: a retry after a lost answer must find the
		// customer the first attempt made, whatever happened to it since
		// and whether its platformCustomerId was given or generated.
		e := newEnv(t)
		c := newCustomers(e)
		for _, body := range []string{individualBody, `{"customerType":"INDIVIDUAL","fullName":"No Id Given"}`} {
			intent := uuid.Must(uuid.NewV7()).String()
			first, err := c.Create(ctx, "p1", input(t, body), intent)
			if err != nil || first.ID != kyc.CustomerIDPrefix+intent {
				t.Fatalf("Create under intent %s = %s, %v", intent, first.ID, err)
			}
			again, err := c.Create(ctx, "p1", input(t, body), intent)
			if err != nil {
				t.Fatalf("Create retried under its intent = %v; want the first customer", err)
			}
			if diff := cmp.Diff(first, again); diff != "" {
				t.Errorf("retried Create (-first +retry):\n%s", diff)
			}
			if ids, _ := walk(t, c, "p1", kyc.ListQuery{}); slices.Index(ids, first.ID) < 0 || len(ids) > 2 {
				t.Errorf("customers after the retries: %v; want one per create", ids)
			}
		}
		// Another platform never gets a customer through an intent.
		intent := uuid.Must(uuid.NewV7()).String()
		mustCreateAs := func(platform string) error {
			_, err := c.Create(ctx, platform, input(t, `{"customerType":"INDIVIDUAL"}`), intent)
			return err
		}
		if err := mustCreateAs("p1"); err != nil {
			t.Fatal(err)
		}
		if err := mustCreateAs("p2"); kyc.AsError(err).Code != kyc.CodeInternal {
			t.Errorf("another platform's create under p1's intent = %v; want INTERNAL_ERROR", err)
		}
	})

	t.Run("two writers that read one version in one millisecond both land", func(t *testing.T) {
		// A frozen clock and a gate that lets both writers read before
		// either writes: the second write's version condition fails on an
		// item with the very version and updatedAt it would write itself.
		// It is not its own landed write (issue 27: deciding that by
		// version and time lost acknowledged PATCHes and DELETEs).
		for _, second := range []string{"update", "delete"} {
			t.Run(second, func(t *testing.T) {
				e := newEnv(t)
				frozen := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
				gate := &pairGate{CustomerRecords: e.Records, both: make(chan struct{})}
				key := []byte("storetest cursor key, 32 bytes!!")
				c := &kyc.Customers{Store: gate, Sealer: e.Sealer, Now: func() time.Time { return frozen },
					CursorKey: func(context.Context) ([]byte, error) { return key, nil }}
				v := mustCreate(t, c, "p1", individualBody)
				var errA, errB error
				var wg sync.WaitGroup
				wg.Go(func() { _, errA = c.Update(ctx, "p1", v.ID, input(t, `{"fullName":"New Name"}`)) })
				wg.Go(func() {
					if second == "delete" {
						_, errB = c.Delete(ctx, "p1", v.ID)
					} else {
						_, errB = c.Update(ctx, "p1", v.ID, input(t, `{"email":"new@example.com"}`))
					}
				})
				wg.Wait()
				got, err := c.Get(ctx, "p1", v.ID)
				if err != nil {
					t.Fatal(err)
				}
				if second == "delete" {
					if errB != nil || !got.IsDeleted {
						t.Errorf("Delete = %v; the customer isDeleted %v; want deleted", errB, got.IsDeleted)
					}
					if _, found, _ := e.Records.ActiveCustomerID(ctx, "p1", "user-1"); found {
						t.Error("the deleted customer's platformCustomerId is still taken")
					}
					if errA != nil && kyc.AsError(errA).Code != kyc.CodeCustomerDeleted {
						t.Errorf("Update beside Delete = %v; want success or CUSTOMER_DELETED", errA)
					}
				} else if errA != nil || errB != nil || got.Email != "new@example.com" {
					t.Errorf("Update, Update = %v, %v; email %q; want both landed", errA, errB, got.Email)
				}
				if errA == nil && got.FullName != "New Name" {
					t.Errorf("Update succeeded; fullName %q, want New Name", got.FullName)
				}
			})
		}
	})

	t.Run("soft delete, then 410, and the platformCustomerId is free", func(t *testing.T) {
		e := newEnv(t)
		c := newCustomers(e)
		v := mustCreate(t, c, "p1", individualBody)
		var wg sync.WaitGroup
		var deleted, gone atomic.Int64
		for range 5 {
			wg.Go(func() {
				d, err := c.Delete(ctx, "p1", v.ID)
				switch {
				case err == nil && d.IsDeleted:
					deleted.Add(1)
				case kyc.AsError(err).Code == kyc.CodeCustomerDeleted:
					gone.Add(1)
				default:
					t.Errorf("Delete = %+v, %v", d, err)
				}
			})
		}
		wg.Wait()
		if deleted.Load() != 1 || gone.Load() != 4 {
			t.Errorf("%d deleted, %d CUSTOMER_DELETED; want 1 and 4", deleted.Load(), gone.Load())
		}
		got, err := c.Get(ctx, "p1", v.ID)
		if err != nil || !got.IsDeleted || got.FullName != "Jane Smith" {
			t.Errorf("Get of a deleted customer = %+v, %v", got, err)
		}
		if _, err := c.Update(ctx, "p1", v.ID, input(t, `{"fullName":"X"}`)); kyc.AsError(err).Code != kyc.CodeCustomerDeleted {
			t.Errorf("Update of a deleted customer = %v", err)
		}
		if ids, _ := walk(t, c, "p1", kyc.ListQuery{}); len(ids) != 0 {
			t.Errorf("deleted customer listed: %v", ids)
		}
		if ids, _ := walk(t, c, "p1", kyc.ListQuery{IncludeDeleted: true}); len(ids) != 1 {
			t.Errorf("isIncludingDeleted lists %v", ids)
		}
		again := mustCreate(t, c, "p1", individualBody)
		list, _ := c.List(ctx, "p1", kyc.ListQuery{PlatformCustomerID: "user-1"})
		if len(list.Data) != 1 || list.Data[0].ID != again.ID {
			t.Errorf("platformCustomerId lookup after re-create = %+v", list)
		}
	})

	t.Run("no plaintext identifier or tax id is stored", func(t *testing.T) {
		e := newEnv(t)
		c := newCustomers(e)
		for _, body := range []string{individualBody, businessBody} {
			v := mustCreate(t, c, "p1", body)
			stored := e.Stored(t, v.ID)
			if len(stored) < 5 {
				t.Fatalf("Stored(%s) = %v: the check would see nothing", v.ID, stored)
			}
			all := strings.Join(stored, "\n")
			if !strings.Contains(all, v.Email) {
				t.Fatalf("Stored(%s) does not show the email: it cannot see plaintext", v.ID)
			}
			for _, secret := range []string{ssn, taxID, "123456789", "471234567"} {
				if strings.Contains(all, secret) {
					t.Errorf("the store keeps %q in plaintext:\n%s", secret, all)
				}
			}
		}
		v := mustCreate(t, c, "p1", `{"customerType":"INDIVIDUAL","idType":"SSN","identifier":"123456789"}`)
		if _, err := c.Update(ctx, "p1", v.ID, input(t, `{"idType":"ITIN","identifier":"912-70-1234"}`)); err != nil {
			t.Fatal(err)
		}
		all := strings.Join(e.Stored(t, v.ID), "\n")
		for _, secret := range []string{ssn, "123456789", "912-70-1234", "912701234"} {
			if strings.Contains(all, secret) {
				t.Errorf("after an update the store keeps %q in plaintext", secret)
			}
		}
	})
}

func parse(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// pairGate holds the first two UpdateCustomer calls until both have
// arrived, so both writers have read the customer before either writes.
type pairGate struct {
	kyc.CustomerRecords
	mu    sync.Mutex
	calls int
	both  chan struct{}
}

func (g *pairGate) UpdateCustomer(ctx context.Context, prev, next kyc.Customer) error {
	g.mu.Lock()
	g.calls++
	n := g.calls
	if n == 2 {
		close(g.both)
	}
	g.mu.Unlock()
	if n <= 2 {
		select {
		case <-g.both:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return g.CustomerRecords.UpdateCustomer(ctx, prev, next)
}
