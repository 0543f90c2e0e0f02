package kyc_test

import (
	"context"
	"encoding/base64"
	"errors"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/grid-kyc/kyc-link/pkg/kyc"
	"github.com/grid-kyc/kyc-link/pkg/memstore"
)

func patch(t *testing.T, c *kyc.Customers, platform, id, body string) (kyc.CustomerView, error) {
	t.Helper()
	in, err := kyc.ParseCustomerInput([]byte(body))
	if err != nil {
		return kyc.CustomerView{}, err
	}
	return c.Update(context.Background(), platform, id, in)
}

func TestUpdate(t *testing.T) {
	ctx := context.Background()
	c, store, sealer := newCustomers(t)
	ind := create(t, c, "p1", individual)
	biz := create(t, c, "p1", business)
	later := now.Add(time.Minute)
	c.Now = func() time.Time { return later }

	v, err := patch(t, c, "p1", ind.ID, `{"customerType":"INDIVIDUAL","fullName":"John Smith","currencies":["USD","EUR"],
		"address":{"line1":"456 Market St","postalCode":"98101","country":"US"},"kycStatus":"UNVERIFIED","region":"US"}`)
	if err != nil {
		t.Fatal(err)
	}
	want := ind
	want.FullName, want.Currencies = "John Smith", []string{"USD", "EUR"}
	want.Address = &kyc.Address{Line1: "456 Market St", PostalCode: "98101", Country: "US"}
	want.UpdatedAt = kyc.FormatTime(later)
	if diff := cmp.Diff(want, v); diff != "" {
		t.Errorf("updated (-want +got):\n%s", diff)
	}
	if got, _ := c.Get(ctx, "p1", ind.ID); !cmp.Equal(got, v) {
		t.Errorf("Get after update = %+v; want %+v", got, v)
	}

	// A request that changes nothing writes nothing: updatedAt stays.
	c.Now = func() time.Time { return later.Add(time.Hour) }
	if v2, err := patch(t, c, "p1", ind.ID, `{"customerType":"INDIVIDUAL","fullName":"John Smith"}`); err != nil || v2.UpdatedAt != v.UpdatedAt {
		t.Errorf("no-op update = %v, updatedAt %s; want %s", err, v2.UpdatedAt, v.UpdatedAt)
	}

	// Business info merges field by field; a new tax id is sealed anew.
	before, _ := store.CustomerRecord(ctx, biz.ID)
	b, err := patch(t, c, "p1", biz.ID, `{"customerType":"BUSINESS","businessInfo":{"legalName":"New Tech LLC","taxId":"EIN-123456789"}}`)
	if err != nil {
		t.Fatal(err)
	}
	if b.BusinessInfo.LegalName != "New Tech LLC" || b.BusinessInfo.NaicsCode != "541511" || b.BusinessInfo.Country != "US" {
		t.Errorf("merged businessInfo = %+v", b.BusinessInfo)
	}
	after, _ := store.CustomerRecord(ctx, biz.ID)
	if p, err := sealer.Open(after.TaxIDSealed, biz.ID, "p1"); err != nil || string(p) != "EIN-123456789" {
		t.Errorf("tax id after update opens to %q, %v", p, err)
	}
	if string(before.TaxIDSealed) == string(after.TaxIDSealed) || after.Version != before.Version+1 {
		t.Errorf("version %d -> %d", before.Version, after.Version)
	}

	// A new identifier for the idType kept.
	if _, err := patch(t, c, "p1", ind.ID, `{"customerType":"INDIVIDUAL","identifier":"234567890"}`); err != nil {
		t.Fatal(err)
	}
	r, _ := store.CustomerRecord(ctx, ind.ID)
	if p, err := sealer.Open(r.IdentifierSealed, ind.ID, "p1"); err != nil || string(p) != "234-56-7890" {
		t.Errorf("identifier after update opens to %q, %v", p, err)
	}
}

func TestUpdateRefuses(t *testing.T) {
	c, _, _ := newCustomers(t)
	ind := create(t, c, "p1", individual)
	biz := create(t, c, "p1", business)
	cases := []struct {
		name, id, body, field string
	}{
		{"customerType", ind.ID, `{"customerType":"BUSINESS"}`, "customerType"},
		{"region", ind.ID, `{"region":"MX"}`, "region"},
		{"platformCustomerId", ind.ID, `{"platformCustomerId":"other"}`, "platformCustomerId"},
		{"id", ind.ID, `{"id":"Customer:x"}`, "id"},
		{"platformId", ind.ID, `{"platformId":"p2"}`, "platformId"},
		{"kycStatus", ind.ID, `{"kycStatus":"APPROVED"}`, "kycStatus"},
		{"kybStatus", biz.ID, `{"kybStatus":"APPROVED"}`, "kybStatus"},
		{"isDeleted", ind.ID, `{"isDeleted":true}`, "isDeleted"},
		{"createdAt", ind.ID, `{"createdAt":"2020-01-01T00:00:00Z"}`, "createdAt"},
		{"email and phone together", ind.ID, `{"email":"a@example.com","phoneNumber":"+14155550100"}`, "phoneNumber"},
		{"idType without identifier", ind.ID, `{"idType":"ITIN"}`, "identifier"},
		{"identifier not an SSN", ind.ID, `{"identifier":"912-70-1234"}`, "identifier"},
		{"business field on an individual", ind.ID, `{"businessInfo":{"legalName":"A"}}`, "businessInfo"},
		{"individual field on a business", biz.ID, `{"fullName":"A"}`, "fullName"},
		{"bad value", ind.ID, `{"email":"nope"}`, "email"},
		{"bad customer id", "Customer 1", `{}`, "customerId"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := patch(t, c, "p1", tc.id, tc.body)
			if e := kyc.AsError(err); e.Code != kyc.CodeInvalid || e.Details["field"] != tc.field {
				t.Errorf("Update(%s) = %v; want INVALID_INPUT for %s", tc.body, err, tc.field)
			}
		})
	}
	if got, _ := c.Get(context.Background(), "p1", ind.ID); !cmp.Equal(got, ind) {
		t.Errorf("refused updates changed the customer: %+v", got)
	}
}

func TestDelete(t *testing.T) {
	ctx := context.Background()
	c, store, _ := newCustomers(t)
	v := create(t, c, "p1", individual)
	d, err := c.Delete(ctx, "p1", v.ID)
	if err != nil || !d.IsDeleted {
		t.Fatalf("Delete = %+v, %v", d, err)
	}
	if got, err := c.Get(ctx, "p1", v.ID); err != nil || !got.IsDeleted {
		t.Errorf("Get after delete = %+v, %v; want isDeleted", got, err)
	}
	for name, err := range map[string]error{
		"delete": func() error { _, err := c.Delete(ctx, "p1", v.ID); return err }(),
		"update": func() error { _, err := patch(t, c, "p1", v.ID, `{"fullName":"X"}`); return err }(),
	} {
		if e := kyc.AsError(err); e.Code != kyc.CodeCustomerDeleted {
			t.Errorf("%s after delete = %v; want CUSTOMER_DELETED", name, err)
		}
	}
	// The link route and the reviews see a deleted customer.
	if cu, err := store.FindCustomer(ctx, v.ID); err != nil || !cu.IsDeleted {
		t.Errorf("FindCustomer after delete = %+v, %v", cu, err)
	}
	r, _ := store.CustomerRecord(ctx, v.ID)
	if !r.ExpiresAt.Equal(now.Add(kyc.DefaultDeletedRetention)) || !r.DeletedAt.Equal(now) {
		t.Errorf("deleted at %v, expires %v", r.DeletedAt, r.ExpiresAt)
	}
	// Its platformCustomerId is free again (Grid: CONFLICT only with an
	// active customer).
	again := create(t, c, "p1", individual)
	if again.PlatformCustomerID != v.PlatformCustomerID || again.ID == v.ID {
		t.Errorf("re-created = %+v", again)
	}
}

func TestConflict(t *testing.T) {
	c, _, _ := newCustomers(t)
	create(t, c, "p1", individual)
	in, _ := kyc.ParseCustomerInput([]byte(individual))
	_, err := c.Create(context.Background(), "p1", in, "")
	e := kyc.AsError(err)
	if e.Code != kyc.CodeConflict || e.Details["reason"] != kyc.ReasonPlatformCustomerIDExists || e.Details["field"] != "platformCustomerId" {
		t.Fatalf("second create = %v %v; want CONFLICT PLATFORM_CUSTOMER_ID_EXISTS", err, e.Details)
	}
	// Another platform may use the same platformCustomerId.
	create(t, c, "p2", individual)
}

// TestOtherPlatformIsUnknown: another platform's customer gets the very
// answer an unknown id gets, on every operation.
func TestOtherPlatformIsUnknown(t *testing.T) {
	ctx := context.Background()
	c, _, _ := newCustomers(t)
	v := create(t, c, "p1", individual)
	unknown := "Customer:019ac0de-0000-7000-8000-999999999999"
	ops := map[string]func(id string) error{
		"get":    func(id string) error { _, err := c.Get(ctx, "p2", id); return err },
		"update": func(id string) error { _, err := patch(t, c, "p2", id, `{"fullName":"X"}`); return err },
		"delete": func(id string) error { _, err := c.Delete(ctx, "p2", id); return err },
	}
	for name, op := range ops {
		foreign, missing := kyc.AsError(op(v.ID)), kyc.AsError(op(unknown))
		if foreign.Code != kyc.CodeNotFound || !cmp.Equal(foreign, missing, cmp.Comparer(func(a, b error) bool { return (a == nil) == (b == nil) })) {
			t.Errorf("%s: other platform's customer = %#v; unknown = %#v; want the same USER_NOT_FOUND", name, foreign, missing)
		}
	}
	list, err := c.List(ctx, "p2", kyc.ListQuery{IncludeDeleted: true})
	if err != nil || len(list.Data) != 0 {
		t.Errorf("p2's list = %+v, %v", list, err)
	}
	if got, err := c.Get(ctx, "p1", v.ID); err != nil || got.FullName != "Jane Smith" {
		t.Errorf("the owner's customer changed: %+v, %v", got, err)
	}
}

func TestCursors(t *testing.T) {
	ctx := context.Background()
	c, _, _ := newCustomers(t)
	for range 3 {
		create(t, c, "p1", `{"customerType":"INDIVIDUAL"}`)
		create(t, c, "p2", `{"customerType":"INDIVIDUAL"}`)
	}
	page, err := c.List(ctx, "p1", kyc.ListQuery{Limit: 1})
	if err != nil || !page.HasMore || page.NextCursor == "" || len(page.Data) != 1 {
		t.Fatalf("first page = %+v, %v", page, err)
	}
	good := page.NextCursor
	pos, mac, _ := strings.Cut(good, ".")
	forgedPos := base64.RawURLEncoding.EncodeToString([]byte("0000-01-01T00:00:00.000Z#Customer:x"))
	flipped := []byte(good)
	flipped[len(flipped)-1] ^= 1
	bad := map[string]kyc.ListQuery{
		"another platform's": {Cursor: good},
		"forged position":    {Cursor: forgedPos + "." + mac},
		"bit flipped":        {Cursor: string(flipped)},
		"no MAC":             {Cursor: pos},
		"not base64":         {Cursor: "!!!.???"},
		"for other filters":  {Cursor: good, CustomerType: kyc.Individual},
		"made with another key": {Cursor: func() string {
			o, _, _ := newCustomers(t)
			o.CursorKey = memstore.RandomKey()
			create(t, o, "p1", `{"customerType":"INDIVIDUAL"}`)
			create(t, o, "p1", `{"customerType":"INDIVIDUAL"}`)
			p, _ := o.List(ctx, "p1", kyc.ListQuery{Limit: 1})
			return p.NextCursor
		}()},
	}
	for name, q := range bad {
		platform := "p1"
		if name == "another platform's" {
			platform = "p2"
		}
		_, err := c.List(ctx, platform, q)
		if e := kyc.AsError(err); e.Code != kyc.CodeInvalid || e.Details["field"] != "cursor" {
			t.Errorf("%s cursor: %v; want INVALID_INPUT cursor", name, err)
		}
	}
	next, err := c.List(ctx, "p1", kyc.ListQuery{Limit: 1, Cursor: good})
	if err != nil || len(next.Data) != 1 || next.Data[0].ID == page.Data[0].ID {
		t.Errorf("second page = %+v, %v", next, err)
	}
	// A cursor goes on with another limit.
	if rest, err := c.List(ctx, "p1", kyc.ListQuery{Limit: 100, Cursor: good}); err != nil || len(rest.Data) != 2 || rest.HasMore {
		t.Errorf("rest = %+v, %v", rest, err)
	}
	c.CursorKey = func(context.Context) ([]byte, error) { return []byte("short"), nil }
	if _, err := c.List(ctx, "p1", kyc.ListQuery{}); kyc.AsError(err).Code != kyc.CodeInternal {
		t.Errorf("List with a short key = %v; want INTERNAL_ERROR", err)
	}
	outage := kyc.Unavailable(kyc.DepSecrets, "down", time.Second, errors.New("secrets down"))
	c.CursorKey = func(context.Context) ([]byte, error) { return nil, outage }
	if _, err := c.List(ctx, "p1", kyc.ListQuery{}); !errors.Is(err, outage) {
		t.Errorf("List when the key cannot be read = %v; want its error", err)
	}
}

func TestListFilters(t *testing.T) {
	ctx := context.Background()
	c, store, _ := newCustomers(t)
	var ids []string
	for i, body := range []string{
		`{"customerType":"INDIVIDUAL","platformCustomerId":"a","region":"US","currencies":["USD"]}`,
		`{"customerType":"INDIVIDUAL","platformCustomerId":"b","region":"MX","umaAddress":"$b@pay.example.com"}`,
		`{"customerType":"BUSINESS","platformCustomerId":"c","region":"US","businessInfo":{"legalName":"C","country":"US","taxId":"1","incorporatedOn":"2020-01-01"}}`,
		`{"customerType":"INDIVIDUAL","platformCustomerId":"d"}`,
	} {
		at := now.Add(time.Duration(i) * time.Hour)
		c.Now = func() time.Time { return at }
		ids = append(ids, create(t, c, "p1", body).ID)
	}
	c.Now = func() time.Time { return now.Add(10 * time.Hour) }
	if _, err := c.Delete(ctx, "p1", ids[3]); err != nil {
		t.Fatal(err)
	}
	// A review moves b to PENDING.
	if err := store.ApplyChange(ctx, kyc.Change{CustomerID: ids[1], Type: kyc.Individual, Status: kyc.StatusPending,
		ReviewAt: now, UpdatedAt: now.Add(5 * time.Hour), WasStatus: kyc.StatusUnverified}, nil); err != nil {
		t.Fatal(err)
	}
	at := func(h int) time.Time { return now.Add(time.Duration(h) * time.Hour) }
	cases := []struct {
		name string
		q    kyc.ListQuery
		want []int
	}{
		{"all active", kyc.ListQuery{}, []int{0, 1, 2}},
		{"with deleted", kyc.ListQuery{IncludeDeleted: true}, []int{0, 1, 2, 3}},
		{"platformCustomerId", kyc.ListQuery{PlatformCustomerID: "b"}, []int{1}},
		{"deleted platformCustomerId", kyc.ListQuery{PlatformCustomerID: "d"}, nil},
		{"deleted platformCustomerId, with deleted", kyc.ListQuery{PlatformCustomerID: "d", IncludeDeleted: true}, []int{3}},
		{"customerType", kyc.ListQuery{CustomerType: kyc.Business}, []int{2}},
		{"region", kyc.ListQuery{Region: "US"}, []int{0, 2}},
		{"currency", kyc.ListQuery{Currency: "USD"}, []int{0}},
		{"umaAddress", kyc.ListQuery{UmaAddress: "$b@pay.example.com"}, []int{1}},
		{"createdAfter (inclusive)", kyc.ListQuery{CreatedAfter: at(1)}, []int{1, 2}},
		{"createdBefore (inclusive)", kyc.ListQuery{CreatedBefore: at(1)}, []int{0, 1}},
		{"created between", kyc.ListQuery{CreatedAfter: at(1), CreatedBefore: at(1)}, []int{1}},
		{"updatedAfter", kyc.ListQuery{UpdatedAfter: at(4), IncludeDeleted: true}, []int{1, 3}},
		{"updatedBefore", kyc.ListQuery{UpdatedBefore: at(1)}, []int{0, 1}[:1]},
		{"kycStatus PENDING", kyc.ListQuery{KYCStatus: kyc.StatusPending}, []int{1}},
		{"kycStatus UNVERIFIED", kyc.ListQuery{KYCStatus: kyc.StatusUnverified}, []int{0}},
		{"kybStatus UNVERIFIED", kyc.ListQuery{KYBStatus: kyc.StatusUnverified}, []int{2}},
		{"nothing", kyc.ListQuery{Region: "DE"}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			list, err := c.List(ctx, "p1", tc.q)
			if err != nil {
				t.Fatal(err)
			}
			var got []int
			for _, v := range list.Data {
				for i, id := range ids {
					if v.ID == id {
						got = append(got, i)
					}
				}
			}
			if diff := cmp.Diff(tc.want, got); diff != "" || list.HasMore {
				t.Errorf("customers (-want +got):\n%s hasMore %v", diff, list.HasMore)
			}
		})
	}
}

func TestParseListQuery(t *testing.T) {
	q, err := kyc.ParseListQuery(map[string][]string{"limit": {"50"}, "customerType": {"BUSINESS"}, "kybStatus": {"PENDING"},
		"createdAfter": {"2025-10-13T12:00:00+02:00"}, "isIncludingDeleted": {"true"}, "umaAddress": {"$A@B.example"}})
	want := kyc.ListQuery{Limit: 50, CustomerType: kyc.Business, KYBStatus: kyc.StatusPending,
		CreatedAfter: time.Date(2025, 10, 13, 10, 0, 0, 0, time.UTC), IncludeDeleted: true, UmaAddress: "$a@b.example"}
	if diff := cmp.Diff(want, q); err != nil || diff != "" {
		t.Errorf("ParseListQuery = %v (-want +got):\n%s", err, diff)
	}
	for _, bad := range []map[string][]string{
		{"limit": {"0"}}, {"limit": {"101"}}, {"limit": {"1.5"}}, {"limit": {"020"}}, {"limit": {"1", "2"}},
		{"customerType": {"PERSON"}}, {"kycStatus": {"DONE"}}, {"createdAfter": {"yesterday"}},
		{"isIncludingDeleted": {"1"}}, {"region": {"usa"}}, {"currency": {"usd"}}, {"cursor": {""}},
		{"sort": {"asc"}}, {"umaAddress": {"x"}},
	} {
		if _, err := kyc.ParseListQuery(bad); kyc.AsError(err).Code != kyc.CodeInvalid {
			t.Errorf("ParseListQuery(%v) = %v; want INVALID_INPUT", bad, err)
		} else {
			for name := range bad {
				if kyc.AsError(err).Details["field"] != name {
					t.Errorf("ParseListQuery(%v) names %v", bad, kyc.AsError(err).Details["field"])
				}
			}
		}
	}
}

// sealerFunc is a Sealer made of a function.
type sealerFunc func(ctx context.Context, plaintext []byte, customerID, platformID string) ([]byte, error)

func (f sealerFunc) Seal(ctx context.Context, plaintext []byte, customerID, platformID string) ([]byte, error) {
	return f(ctx, plaintext, customerID, platformID)
}

// readMeetsSeal is a customer store whose read meets the seal.
type readMeetsSeal struct {
	kyc.CustomerRecords
	met func(mine string) error
}

func (s readMeetsSeal) CustomerRecord(ctx context.Context, id string) (kyc.Customer, error) {
	if err := s.met("read"); err != nil {
		return kyc.Customer{}, err
	}
	return s.CustomerRecords.CustomerRecord(ctx, id)
}

// meeting returns a rendezvous of two named calls: each waits for the
// other to have started, so two calls run one after the other never meet
// (each gives up after two seconds).
func meeting(a, b string) func(mine string) error {
	started := map[string]chan struct{}{a: make(chan struct{}), b: make(chan struct{})}
	var once sync.Map
	return func(mine string) error {
		if _, again := once.LoadOrStore(mine, true); !again {
			close(started[mine])
		}
		theirs := started[a]
		if mine == a {
			theirs = started[b]
		}
		select {
		case <-theirs:
			return nil
		case <-time.After(2 * time.Second):
			return errors.New("the other call never started: " + a + " and " + b + " ran one after the other")
		}
	}
}

// TestUpdateSealsAlongsideTheRead: PATCH with an identifier seals it
// (KMS) while the customer is read, one round trip, not two: the seal and
// the read wait for each other, and run one after the other they would
// never meet. The identifier is sealed as checkAgainst keeps it (sent
// without idType, normalized against the idType kept), for the customer.
func TestUpdateSealsAlongsideTheRead(t *testing.T) {
	ctx := context.Background()
	c, store, sealer := newCustomers(t)
	ind := create(t, c, "p1", individual)
	met := meeting("read", "seal")
	seals := 0
	c.Store = readMeetsSeal{CustomerRecords: store, met: met}
	c.Sealer = sealerFunc(func(ctx context.Context, p []byte, customerID, platformID string) ([]byte, error) {
		seals++
		if err := met("seal"); err != nil {
			return nil, kyc.Unavailable(kyc.DepKeys, "test", time.Second, err)
		}
		return sealer.Seal(ctx, p, customerID, platformID)
	})
	if _, err := patch(t, c, "p1", ind.ID, `{"identifier":"234567890"}`); err != nil {
		t.Fatalf("update with an identifier = %v; want the seal and the read side by side", err)
	}
	r, _ := store.CustomerRecord(ctx, ind.ID)
	if p, err := sealer.Open(r.IdentifierSealed, ind.ID, "p1"); err != nil || string(p) != "234-56-7890" || seals != 1 {
		t.Errorf("identifier opens to %q, %v after %d seals; want 234-56-7890, one seal", p, err, seals)
	}
}

// TestUpdateSealsOnlyWhatItKeeps: a seal started before the read is used
// only for the customer read and the value kept; a KMS outage is the
// sealer's 503 as before, and a refusal or an unknown customer answers as
// before, whatever the seal started.
func TestUpdateSealsOnlyWhatItKeeps(t *testing.T) {
	ctx := context.Background()
	c, store, sealer := newCustomers(t)
	ind := create(t, c, "p1", individual)
	biz := create(t, c, "p1", business)
	// Seals not used run on after Update answers: the outage is atomic.
	var down atomic.Bool
	c.Sealer = sealerFunc(func(ctx context.Context, p []byte, customerID, platformID string) ([]byte, error) {
		if down.Load() {
			return nil, kyc.Unavailable(kyc.DepKeys, "The key service is temporarily unavailable.", time.Second, errors.New("KMS down"))
		}
		return sealer.Seal(ctx, p, customerID, platformID)
	})
	down.Store(true)
	if _, err := patch(t, c, "p1", ind.ID, `{"identifier":"234-56-7890"}`); kyc.AsError(err).Code != kyc.CodeUnavailable {
		t.Errorf("update with KMS down = %v; want SERVICE_UNAVAILABLE", err)
	}
	if _, err := patch(t, c, "p1", "Customer:019ac0de-0000-7000-8000-999999999999", `{"identifier":"234-56-7890"}`); kyc.AsError(err).Code != kyc.CodeNotFound {
		t.Errorf("update of an unknown customer with KMS down = %v; want NOT_FOUND, as before", err)
	}
	if _, err := patch(t, c, "p1", biz.ID, `{"identifier":"234-56-7890"}`); kyc.AsError(err).Code != kyc.CodeInvalid {
		t.Errorf("an identifier for a business with KMS down = %v; want INVALID_INPUT, as before", err)
	}
	down.Store(false)
	// An ITIN sent without idType for a customer whose idType is ITIN.
	itin := create(t, c, "p1", `{"customerType":"INDIVIDUAL","idType":"ITIN","identifier":"912-70-1234"}`)
	if _, err := patch(t, c, "p1", itin.ID, `{"identifier":"912711234"}`); err != nil {
		t.Fatal(err)
	}
	r, _ := store.CustomerRecord(ctx, itin.ID)
	if p, err := sealer.Open(r.IdentifierSealed, itin.ID, "p1"); err != nil || string(p) != "912-71-1234" {
		t.Errorf("ITIN after update opens to %q, %v", p, err)
	}
}

// TestStartCreate: the seal starts with StartCreate (which does not wait
// for it), for the id Intent names; Create uses it for that id, and
// under another intent (a record taken over) seals again for the customer
// it names. A refused input starts no seal.
func TestStartCreate(t *testing.T) {
	ctx := context.Background()
	// setup's sealer notes whom it seals for, and waits for release.
	setup := func() (c *kyc.Customers, store *memstore.Customers, sealer *memstore.Sealer, release chan struct{}, sealedFor func() []string) {
		c, store, sealer = newCustomers(t)
		release = make(chan struct{})
		var mu sync.Mutex
		var seals []string
		c.Sealer = sealerFunc(func(ctx context.Context, p []byte, customerID, platformID string) ([]byte, error) {
			mu.Lock()
			seals = append(seals, customerID)
			mu.Unlock()
			<-release
			return sealer.Seal(ctx, p, customerID, platformID)
		})
		return c, store, sealer, release, func() []string { mu.Lock(); defer mu.Unlock(); return slices.Clone(seals) }
	}
	in := func() kyc.CustomerInput {
		v, err := kyc.ParseCustomerInput([]byte(individual))
		if err != nil {
			t.Fatal(err)
		}
		return v
	}

	c, _, _, release, sealedFor := setup()
	p := c.StartCreate(ctx, "p1", in()) // returns while the seal waits
	if p.Intent() == "" {
		t.Fatal("no intent for a valid input")
	}
	close(release)
	v, err := p.Create(ctx, p.Intent())
	if err != nil || v.ID != kyc.CustomerIDPrefix+p.Intent() {
		t.Fatalf("Create under its own intent = %+v, %v", v, err)
	}
	if got := sealedFor(); len(got) != 1 || got[0] != v.ID {
		t.Fatalf("seals for %q; want one, for %s", got, v.ID)
	}

	// Another intent: the customer it names, its identifier sealed for it.
	c, store, sealer, release, sealedFor := setup()
	close(release)
	p = c.StartCreate(ctx, "p1", in())
	other := "019ac0de-0000-7000-8000-0000000000ff"
	v, err = p.Create(ctx, other)
	if err != nil || v.ID != kyc.CustomerIDPrefix+other || p.Intent() == other {
		t.Fatalf("Create under another intent = %+v, %v", v, err)
	}
	r, _ := store.CustomerRecord(ctx, v.ID)
	if plain, err := sealer.Open(r.IdentifierSealed, v.ID, "p1"); err != nil || string(plain) != "123-45-6789" {
		t.Fatalf("the identifier stored for %s opens to %q, %v", v.ID, plain, err)
	}
	if !slices.Contains(sealedFor(), v.ID) {
		t.Fatalf("seals for %q; want one for %s", sealedFor(), v.ID)
	}

	// A refused input starts no seal and has no intent; Create answers the refusal.
	c, _, _, release, sealedFor = setup()
	close(release)
	bad := in()
	future := "2999-01-01"
	bad.BirthDate = &future
	p = c.StartCreate(ctx, "p1", bad)
	if _, err := p.Create(ctx, ""); p.Intent() != "" || kyc.AsError(err).Code != kyc.CodeInvalid || len(sealedFor()) != 0 {
		t.Fatalf("refused input: intent %q, %v, seals %q; want no intent, INVALID_INPUT, no seal", p.Intent(), err, sealedFor())
	}
}

// TestStartCreateWaitEndsWithTheContext: a Create whose context ends
// while its seal runs stops the seal and answers the sealer's error (503),
// as a seal made under that context would.
func TestStartCreateWaitEndsWithTheContext(t *testing.T) {
	c, _, _ := newCustomers(t)
	c.Sealer = sealerFunc(func(ctx context.Context, p []byte, customerID, platformID string) ([]byte, error) {
		<-ctx.Done()
		return nil, kyc.Unavailable(kyc.DepKeys, "The key service is temporarily unavailable.", time.Second, ctx.Err())
	})
	in, _ := kyc.ParseCustomerInput([]byte(individual))
	p := c.StartCreate(context.Background(), "p1", in)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := p.Create(ctx, ""); kyc.AsError(err).Code != kyc.CodeUnavailable {
		t.Fatalf("Create whose deadline passes during the seal = %v; want SERVICE_UNAVAILABLE", err)
	}
}

// TestAPanicInTheEarlySealIsAnError: a seal started beside the read runs
// on its own goroutine; a panic there fails the request (500), not the
// process.
func TestAPanicInTheEarlySealIsAnError(t *testing.T) {
	c, _, _ := newCustomers(t)
	ind := create(t, c, "p1", individual)
	c.Sealer = sealerFunc(func(context.Context, []byte, string, string) ([]byte, error) { panic("sealer bug") })
	_, err := patch(t, c, "p1", ind.ID, `{"identifier":"234567890"}`)
	if e := kyc.AsError(err); e.Code != kyc.CodeInternal {
		t.Fatalf("update = %v; want an internal error", err)
	}
}
