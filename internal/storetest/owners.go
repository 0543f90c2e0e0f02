package storetest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/grid-kyc/kyc-link/pkg/gridhook"
	"github.com/grid-kyc/kyc-link/pkg/kyc"
	"github.com/grid-kyc/kyc-link/pkg/memstore"
)

// OwnerEnv is one store of beneficial owners under test: the customers
// they live in, the owners' own records, the reviews and the
// verifications that move their statuses, all over the same data.
type OwnerEnv struct {
	Customers     kyc.CustomerRecords
	Owners        kyc.OwnerRecords
	Reviews       kyc.ReviewStore
	Verifications kyc.VerificationRecords
	// Stored returns everything the store keeps about business id and
	// its owners (DynamoDB: every value of every item of the customers
	// table, flattened to strings), for the check that no plaintext
	// identifier is kept.
	Stored func(t *testing.T, id string) []string
}

// ownerID is the id of the suite's owner n.
func ownerID(n int) string { return fmt.Sprintf("BeneficialOwner:019ac0de-0000-7000-c000-%012d", n) }

// ownerAt is when the suite's owners are created (milliseconds: what
// the stores keep).
var ownerAt = time.Date(2026, 11, 26, 9, 30, 0, 0, time.UTC)

// fullOwner is owner n with every field the platform sets.
func fullOwner(n int) kyc.BeneficialOwner {
	at := ownerAt.Add(time.Duration(n) * time.Millisecond)
	return kyc.BeneficialOwner{ID: ownerID(n), Roles: []string{kyc.RoleUBO, kyc.RoleControlPerson}, OwnershipPercentage: 35,
		FirstName: "Ann", MiddleName: "Beatrix", LastName: fmt.Sprintf("Lee%d", n), BirthDate: "1980-02-03", Nationality: "GB",
		Email: "ann@example.com", PhoneNumber: "+447700900123",
		Address: kyc.Address{Line1: "1 High St", Line2: "Flat 2", City: "London", State: "Greater London", PostalCode: "N1 9GU", Country: "GB"},
		// Bytes no text encoding keeps: the store must keep them as bytes.
		IDType: "NON_US_TAX_ID", IdentifierSealed: []byte{0, 0xff, 0xfe, byte(n), 0x80, 'x'}, CountryOfIssuance: "GB",
		CreatedAt: at, UpdatedAt: at.Add(time.Second)}
}

// Owners is the conformance suite of beneficial owners' storage
// (kyc.OwnerRecords, Customer.Owners through kyc.CustomerRecords, the
// owners' moves of kyc.ReviewStore and kyc.VerificationRecords); newEnv
// makes fresh, empty stores.
func Owners(t *testing.T, newEnv func(t *testing.T) OwnerEnv) {
	ctx := context.Background()
	equal := cmpopts.EquateEmpty()

	// business inserts business n of platform p1 (version 1) and returns
	// it as read.
	business := func(t *testing.T, e OwnerEnv, n int) kyc.Customer {
		t.Helper()
		c := kyc.Customer{ID: custID(n), PlatformID: "p1", PlatformCustomerID: fmt.Sprintf("b%d", n), Type: kyc.Business,
			Email: fmt.Sprintf("ops%d@example.com", n), BusinessInfo: &kyc.BusinessInfo{LegalName: "Acme", Country: "US"},
			CreatedAt: docAt, UpdatedAt: docAt, Version: 1}
		if err := e.Customers.InsertCustomer(ctx, c); err != nil {
			t.Fatal(err)
		}
		return read(t, e, c.ID)
	}
	// withOwner is prev with o added, as the domain's create writes it.
	withOwner := func(prev kyc.Customer, o kyc.BeneficialOwner) kyc.Customer {
		next := prev
		next.Owners = append(kyc.CloneOwners(prev.Owners), o)
		next.UpdatedAt, next.Version = o.CreatedAt, prev.Version+1
		return next
	}
	// insert adds o to business id (read afresh) and returns the business
	// as read after.
	insert := func(t *testing.T, e OwnerEnv, id string, o kyc.BeneficialOwner) kyc.Customer {
		t.Helper()
		prev := read(t, e, id)
		if err := e.Owners.InsertOwner(ctx, prev, withOwner(prev, o), o.ID); err != nil {
			t.Fatalf("InsertOwner(%s) = %v", o.ID, err)
		}
		return read(t, e, id)
	}
	// move is owner o's review to status at at, from o as read.
	move := func(o kyc.BeneficialOwner, status kyc.Status, at time.Time) kyc.OwnerMove {
		return kyc.OwnerMove{ID: o.ID, Status: status, ReviewAt: at, WasStatus: o.StatusOf(), WasReviewAt: o.LastReviewAt}
	}
	owner := func(t *testing.T, c kyc.Customer, id string) kyc.BeneficialOwner {
		t.Helper()
		o, ok := c.Owner(id)
		if !ok {
			t.Fatalf("customer %s has no owner %s: %+v", c.ID, id, c.Owners)
		}
		return o
	}
	// sameCustomer reports what differs between a and b besides their
	// owners.
	sameCustomer := func(t *testing.T, a, b kyc.Customer) {
		t.Helper()
		a.Owners, b.Owners = nil, nil
		if diff := cmp.Diff(a, b, equal); diff != "" {
			t.Errorf("the customer's own data moved (-before +after):\n%s", diff)
		}
	}

	t.Run("every owner field round-trips, in creation order", func(t *testing.T) {
		e := newEnv(t)
		b := business(t, e, 1)
		first, second := fullOwner(1), kyc.BeneficialOwner{ID: ownerID(2), Roles: []string{kyc.RoleDirector},
			FirstName: "Bo", LastName: "Ng", CreatedAt: ownerAt.Add(time.Minute), UpdatedAt: ownerAt.Add(time.Minute)}
		insert(t, e, b.ID, first)
		got := insert(t, e, b.ID, second)
		if diff := cmp.Diff([]kyc.BeneficialOwner{first, second}, got.Owners, equal); diff != "" {
			t.Errorf("owners read back (-written +read):\n%s", diff)
		}
		if got.Version != 3 {
			t.Errorf("version %d after two owners; want 3", got.Version)
		}
		written := b
		written.UpdatedAt, written.Version = second.CreatedAt, 3
		sameCustomer(t, written, got)
		// The reviews' view of the same customer.
		found, err := e.Reviews.FindCustomer(ctx, b.ID)
		if diff := cmp.Diff(got, found, equal); err != nil || diff != "" {
			t.Errorf("FindCustomer = %v (-CustomerRecord +FindCustomer):\n%s", err, diff)
		}
		for _, o := range []kyc.BeneficialOwner{first, second} {
			if cid, err := e.Owners.OwnerCustomerID(ctx, o.ID); err != nil || cid != b.ID {
				t.Errorf("OwnerCustomerID(%s) = %q, %v; want %s", o.ID, cid, err, b.ID)
			}
		}
		// The reviews' fields round-trip too.
		at := ownerAt.Add(time.Hour)
		m := move(first, kyc.StatusRejected, at)
		m.RejectType, m.RejectLabels = "FINAL", []string{"FORGERY", "BLACKLIST"}
		if err := e.Reviews.ApplyChange(ctx, kyc.Change{CustomerID: b.ID, Type: kyc.Business, UpdatedAt: at, Owners: []kyc.OwnerMove{m}}, nil); err != nil {
			t.Fatal(err)
		}
		want := first
		want.KYCStatus, want.LastReviewAt, want.RejectType, want.RejectLabels = kyc.StatusRejected, at, "FINAL", []string{"FORGERY", "BLACKLIST"}
		if diff := cmp.Diff([]kyc.BeneficialOwner{want, second}, read(t, e, b.ID).Owners, equal); diff != "" {
			t.Errorf("owners after a review (-want +read):\n%s", diff)
		}
	})

	t.Run("an owner id is taken once", func(t *testing.T) {
		e := newEnv(t)
		a, b := business(t, e, 1), business(t, e, 2)
		insert(t, e, a.ID, fullOwner(1))
		// The same id for another business: refused, nothing written.
		if err := e.Owners.InsertOwner(ctx, b, withOwner(b, fullOwner(1)), ownerID(1)); !errors.Is(err, kyc.ErrOwnerExists) {
			t.Errorf("InsertOwner of a taken id = %v; want ErrOwnerExists", err)
		}
		if got := read(t, e, b.ID); got.Version != b.Version || len(got.Owners) != 0 {
			t.Errorf("the refused business: version %d, owners %+v; want %d, none", got.Version, got.Owners, b.Version)
		}
		if cid, err := e.Owners.OwnerCustomerID(ctx, ownerID(1)); err != nil || cid != a.ID {
			t.Errorf("OwnerCustomerID = %q, %v; want the first business %s", cid, err, a.ID)
		}
		// From a stale read of the first business as well: the taken id
		// is checked first.
		if err := e.Owners.InsertOwner(ctx, a, withOwner(a, fullOwner(1)), ownerID(1)); !errors.Is(err, kyc.ErrOwnerExists) {
			t.Errorf("InsertOwner of a taken id from a stale read = %v; want ErrOwnerExists", err)
		}
	})

	t.Run("a stale version or a deleted business is ErrChanged, and nothing is written", func(t *testing.T) {
		e := newEnv(t)
		b := business(t, e, 1)
		insert(t, e, b.ID, fullOwner(1))
		if err := e.Owners.InsertOwner(ctx, b, withOwner(b, fullOwner(2)), ownerID(2)); !errors.Is(err, kyc.ErrChanged) {
			t.Errorf("InsertOwner from version %d = %v; want ErrChanged", b.Version, err)
		}
		if _, err := e.Owners.OwnerCustomerID(ctx, ownerID(2)); kyc.AsError(err).Code != kyc.CodeReferenceNotFound {
			t.Errorf("the refused owner: OwnerCustomerID = %v; want REFERENCE_NOT_FOUND", err)
		}
		cur := read(t, e, b.ID)
		if len(cur.Owners) != 1 || cur.Version != 2 {
			t.Errorf("after the refused insert: %d owners, version %d; want 1, 2", len(cur.Owners), cur.Version)
		}
		gone := cur
		gone.IsDeleted, gone.DeletedAt, gone.UpdatedAt, gone.Version = true, ownerAt, ownerAt, cur.Version+1
		if err := e.Customers.UpdateCustomer(ctx, cur, gone); err != nil {
			t.Fatal(err)
		}
		deleted := read(t, e, b.ID)
		if err := e.Owners.InsertOwner(ctx, deleted, withOwner(deleted, fullOwner(3)), ownerID(3)); !errors.Is(err, kyc.ErrChanged) {
			t.Errorf("InsertOwner into a deleted business = %v; want ErrChanged", err)
		}
		if _, err := e.Owners.OwnerCustomerID(ctx, ownerID(3)); kyc.AsError(err).Code != kyc.CodeReferenceNotFound {
			t.Errorf("the refused owner: OwnerCustomerID = %v; want REFERENCE_NOT_FOUND", err)
		}
		// The deleted business keeps its owners, readable.
		if got := read(t, e, b.ID); len(got.Owners) != 1 || got.Owners[0].ID != ownerID(1) {
			t.Errorf("the deleted business's owners: %+v", got.Owners)
		}
	})

	t.Run("concurrent inserts from one read: exactly one wins", func(t *testing.T) {
		e := newEnv(t)
		b := business(t, e, 1)
		const n = 8
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() { errs[i] = e.Owners.InsertOwner(ctx, b, withOwner(b, fullOwner(i+1)), ownerID(i+1)) })
		}
		wg.Wait()
		winner := -1
		for i, err := range errs {
			switch {
			case err == nil && winner < 0:
				winner = i
			case err == nil:
				t.Errorf("InsertOwner %d and %d both won", winner+1, i+1)
			case !errors.Is(err, kyc.ErrChanged):
				t.Errorf("InsertOwner %d = %v; want nil or ErrChanged", i+1, err)
			}
		}
		if winner < 0 {
			t.Fatal("no InsertOwner won")
		}
		got := read(t, e, b.ID)
		if len(got.Owners) != 1 || got.Owners[0].ID != ownerID(winner+1) || got.Version != b.Version+1 {
			t.Errorf("business after the race: version %d, owners %+v; want %d and owner %d alone", got.Version, got.Owners, b.Version+1, winner+1)
		}
		for i := range n {
			cid, err := e.Owners.OwnerCustomerID(ctx, ownerID(i+1))
			if i == winner && (err != nil || cid != b.ID) {
				t.Errorf("the winner's OwnerCustomerID = %q, %v; want %s", cid, err, b.ID)
			}
			if i != winner && kyc.AsError(err).Code != kyc.CodeReferenceNotFound {
				t.Errorf("loser %d's OwnerCustomerID = %q, %v; want REFERENCE_NOT_FOUND", i+1, cid, err)
			}
		}
	})

	t.Run("unknown owners are OwnerNotFound", func(t *testing.T) {
		e := newEnv(t)
		b := business(t, e, 1)
		// A customer's id and a platformCustomerId marker's name no owner.
		for _, id := range []string{ownerID(9), b.ID, "platformCustomerId#p1#b1", "BeneficialOwner:"} {
			cid, err := e.Owners.OwnerCustomerID(ctx, id)
			if err == nil || kyc.AsError(err).Code != kyc.CodeReferenceNotFound {
				t.Errorf("OwnerCustomerID(%q) = %q, %v; want REFERENCE_NOT_FOUND", id, cid, err)
			}
		}
	})

	t.Run("an update keeps the owners' reviews and a review keeps the update", func(t *testing.T) {
		e := newEnv(t)
		b := business(t, e, 1)
		insert(t, e, b.ID, fullOwner(1))
		prev := insert(t, e, b.ID, fullOwner(2))
		// A review lands after the platform's read...
		at := ownerAt.Add(time.Hour)
		m := move(owner(t, prev, ownerID(1)), kyc.StatusRejected, at)
		m.RejectType, m.RejectLabels = "RETRY", []string{"BAD_SELFIE"}
		if err := e.Reviews.ApplyChange(ctx, kyc.Change{CustomerID: b.ID, Type: kyc.Business, UpdatedAt: at, Owners: []kyc.OwnerMove{m}}, nil); err != nil {
			t.Fatal(err)
		}
		// ...and its write (a PATCH of owner 1) carries the status read.
		next := prev
		next.Owners = kyc.CloneOwners(prev.Owners)
		next.Owners[0].LastName, next.Owners[0].UpdatedAt = "Changed", at
		next.UpdatedAt, next.Version = at, prev.Version+1
		if err := e.Customers.UpdateCustomer(ctx, prev, next); err != nil {
			t.Fatal(err)
		}
		got := read(t, e, b.ID)
		o := owner(t, got, ownerID(1))
		if o.LastName != "Changed" || o.KYCStatus != kyc.StatusRejected || !o.LastReviewAt.Equal(at) || o.RejectType != "RETRY" ||
			!cmp.Equal(o.RejectLabels, []string{"BAD_SELFIE"}) {
			t.Errorf("owner after review then update: %+v; want lastName Changed, REJECTED RETRY [BAD_SELFIE] at %s", o, at)
		}
		if got.Version != prev.Version+1 {
			t.Errorf("version %d; want %d (the review writes no version)", got.Version, prev.Version+1)
		}
		// A review read before a PATCH still applies after it.
		before := owner(t, got, ownerID(2))
		patched := got
		patched.Owners = kyc.CloneOwners(got.Owners)
		patched.Owners[1].Email, patched.UpdatedAt, patched.Version = "new@example.com", at.Add(time.Second), got.Version+1
		if err := e.Customers.UpdateCustomer(ctx, got, patched); err != nil {
			t.Fatal(err)
		}
		if err := e.Reviews.ApplyChange(ctx, kyc.Change{CustomerID: b.ID, Type: kyc.Business, UpdatedAt: at,
			Owners: []kyc.OwnerMove{move(before, kyc.StatusApproved, at)}}, nil); err != nil {
			t.Fatalf("a review read before a PATCH: %v", err)
		}
		o2 := owner(t, read(t, e, b.ID), ownerID(2))
		if o2.Email != "new@example.com" || o2.KYCStatus != kyc.StatusApproved || !o2.LastReviewAt.Equal(at) {
			t.Errorf("owner after update then review: %+v; want the new email and APPROVED", o2)
		}
	})

	t.Run("owner moves are conditioned on each owner as read", func(t *testing.T) {
		e := newEnv(t)
		b := business(t, e, 1)
		insert(t, e, b.ID, fullOwner(1))
		c := insert(t, e, b.ID, fullOwner(2))
		o1, o2 := owner(t, c, ownerID(1)), owner(t, c, ownerID(2))
		t1 := ownerAt.Add(time.Hour)
		// An owner's own review: its status alone, the customer's data
		// (status, last review, updatedAt, version) as it was.
		if err := e.Reviews.ApplyChange(ctx, kyc.Change{CustomerID: c.ID, Type: kyc.Business, UpdatedAt: t1.Add(time.Minute),
			Owners: []kyc.OwnerMove{move(o1, kyc.StatusPending, t1)}}, nil); err != nil {
			t.Fatal(err)
		}
		after := read(t, e, c.ID)
		sameCustomer(t, c, after)
		if got := owner(t, after, ownerID(1)); got.KYCStatus != kyc.StatusPending || !got.LastReviewAt.Equal(t1) {
			t.Errorf("owner 1 after its review: %s at %s; want PENDING at %s", got.KYCStatus, got.LastReviewAt, t1)
		}
		if got := owner(t, after, ownerID(2)); got.KYCStatus != "" || !got.LastReviewAt.IsZero() {
			t.Errorf("owner 2 moved with owner 1: %+v", got)
		}
		// From the stale read (UNVERIFIED, never reviewed): refused.
		if err := e.Reviews.ApplyChange(ctx, kyc.Change{CustomerID: c.ID, Type: kyc.Business, UpdatedAt: t1,
			Owners: []kyc.OwnerMove{move(o1, kyc.StatusApproved, t1.Add(time.Second))}}, nil); !errors.Is(err, kyc.ErrChanged) {
			t.Errorf("a move from a stale status = %v; want ErrChanged", err)
		}
		// The right status but a stale last review: refused.
		stale := move(o1, kyc.StatusApproved, t1.Add(time.Second))
		stale.WasStatus = kyc.StatusPending
		if err := e.Reviews.ApplyChange(ctx, kyc.Change{CustomerID: c.ID, Type: kyc.Business, UpdatedAt: t1,
			Owners: []kyc.OwnerMove{stale}}, nil); !errors.Is(err, kyc.ErrChanged) {
			t.Errorf("a move from a stale last review = %v; want ErrChanged", err)
		}
		// The right last review but another status: refused (owner 1
		// reviewed, owner 2 never).
		wrong := move(o1, kyc.StatusApproved, t1.Add(time.Second))
		wrong.WasStatus, wrong.WasReviewAt = kyc.StatusHold, t1
		never := move(o2, kyc.StatusApproved, t1)
		never.WasStatus = kyc.StatusPending
		for _, m := range []kyc.OwnerMove{wrong, never} {
			if err := e.Reviews.ApplyChange(ctx, kyc.Change{CustomerID: c.ID, Type: kyc.Business, UpdatedAt: t1,
				Owners: []kyc.OwnerMove{m}}, nil); !errors.Is(err, kyc.ErrChanged) {
				t.Errorf("a move of %s from status %s = %v; want ErrChanged", m.ID, m.WasStatus, err)
			}
		}
		// One stale move refuses the others of its change.
		if err := e.Reviews.ApplyChange(ctx, kyc.Change{CustomerID: c.ID, Type: kyc.Business, UpdatedAt: t1,
			Owners: []kyc.OwnerMove{move(o2, kyc.StatusHold, t1), move(o1, kyc.StatusApproved, t1.Add(time.Second))}}, nil); !errors.Is(err, kyc.ErrChanged) {
			t.Errorf("a change with one stale move = %v; want ErrChanged", err)
		}
		if diff := cmp.Diff(after, read(t, e, c.ID), equal); diff != "" {
			t.Errorf("refused moves wrote (-before +after):\n%s", diff)
		}
		// An unknown customer: refused.
		if err := e.Reviews.ApplyChange(ctx, kyc.Change{CustomerID: custID(99), Type: kyc.Business, UpdatedAt: t1,
			Owners: []kyc.OwnerMove{move(o2, kyc.StatusHold, t1)}}, nil); !errors.Is(err, kyc.ErrChanged) {
			t.Errorf("owner moves of an unknown customer = %v; want ErrChanged", err)
		}
		// A rejection's reasons go with the next move.
		cur := owner(t, after, ownerID(1))
		rej := move(cur, kyc.StatusRejected, t1.Add(2*time.Second))
		rej.RejectType, rej.RejectLabels = "RETRY", []string{"BAD_PHOTO"}
		if err := e.Reviews.ApplyChange(ctx, kyc.Change{CustomerID: c.ID, Type: kyc.Business, Owners: []kyc.OwnerMove{rej}}, nil); err != nil {
			t.Fatal(err)
		}
		cur = owner(t, read(t, e, c.ID), ownerID(1))
		if err := e.Reviews.ApplyChange(ctx, kyc.Change{CustomerID: c.ID, Type: kyc.Business,
			Owners: []kyc.OwnerMove{move(cur, kyc.StatusApproved, t1.Add(3*time.Second))}}, nil); err != nil {
			t.Fatal(err)
		}
		if got := owner(t, read(t, e, c.ID), ownerID(1)); got.KYCStatus != kyc.StatusApproved || got.RejectType != "" || len(got.RejectLabels) != 0 {
			t.Errorf("owner after rejection then approval: %+v; want APPROVED without reasons", got)
		}
	})

	t.Run("a change with a status moves the customer and its owners in one write", func(t *testing.T) {
		e := newEnv(t)
		b := business(t, e, 1)
		c := insert(t, e, b.ID, fullOwner(1))
		o := owner(t, c, ownerID(1))
		t1 := ownerAt.Add(time.Hour)
		mixed := kyc.Change{CustomerID: c.ID, Type: kyc.Business, Status: kyc.StatusRejected, ReviewAt: t1, RejectType: "FINAL",
			RejectLabels: []string{"FRAUD"}, UpdatedAt: t1.Add(time.Minute), WasStatus: kyc.StatusUnverified,
			Owners: []kyc.OwnerMove{move(o, kyc.StatusHold, t1)}}
		// The owner moved since the read: neither is written.
		if err := e.Reviews.ApplyChange(ctx, kyc.Change{CustomerID: c.ID, Type: kyc.Business,
			Owners: []kyc.OwnerMove{move(o, kyc.StatusPending, ownerAt)}}, nil); err != nil {
			t.Fatal(err)
		}
		moved := read(t, e, c.ID)
		if err := e.Reviews.ApplyChange(ctx, mixed, nil); !errors.Is(err, kyc.ErrChanged) {
			t.Errorf("a mixed change with a stale owner = %v; want ErrChanged", err)
		}
		if diff := cmp.Diff(moved, read(t, e, c.ID), equal); diff != "" {
			t.Errorf("the refused mixed change wrote (-before +after):\n%s", diff)
		}
		// From the current read: both.
		mixed.Owners = []kyc.OwnerMove{move(owner(t, moved, ownerID(1)), kyc.StatusHold, t1)}
		if err := e.Reviews.ApplyChange(ctx, mixed, nil); err != nil {
			t.Fatal(err)
		}
		got := read(t, e, c.ID)
		if got.KYBStatus != kyc.StatusRejected || !got.LastReviewAt.Equal(t1) || !got.UpdatedAt.Equal(t1.Add(time.Minute)) || got.RejectType != "FINAL" {
			t.Errorf("customer after the mixed change: %+v; want REJECTED FINAL, reviewed %s", got, t1)
		}
		if o := owner(t, got, ownerID(1)); o.KYCStatus != kyc.StatusHold || !o.LastReviewAt.Equal(t1) {
			t.Errorf("owner after the mixed change: %+v; want HOLD at %s", o, t1)
		}
	})

	t.Run("the domain's reviews of owners", func(t *testing.T) {
		e := newEnv(t)
		b := business(t, e, 1)
		c := insert(t, e, b.ID, fullOwner(1))
		now := ownerAt.Add(24 * time.Hour)
		r := &kyc.Reviews{Store: e.Reviews, Owners: e.Owners, Notices: gridhook.Notices, Now: func() time.Time { return now }}
		t1 := ownerAt.Add(time.Hour)
		for _, tc := range []struct {
			r    kyc.Review
			want kyc.Outcome
		}{
			{kyc.Review{CustomerID: ownerID(1), Status: kyc.StatusPending, At: t1}, kyc.Applied},
			{kyc.Review{CustomerID: ownerID(1), Status: kyc.StatusPending, At: t1}, kyc.Stale},
			{kyc.Review{CustomerID: ownerID(1), Status: kyc.StatusRejected, At: t1.Add(2 * time.Second), RejectType: "RETRY", RejectLabels: []string{"BAD_SELFIE"}}, kyc.Applied},
			{kyc.Review{CustomerID: ownerID(1), Status: kyc.StatusApproved, At: t1.Add(time.Second)}, kyc.Stale},
			{kyc.Review{CustomerID: ownerID(7), Status: kyc.StatusApproved, At: t1}, kyc.UnknownCustomer},
		} {
			if got, err := r.Apply(ctx, tc.r); err != nil || got != tc.want {
				t.Errorf("Apply(%s %s) = %s, %v; want %s", tc.r.CustomerID, tc.r.Status, got, err, tc.want)
			}
		}
		got := read(t, e, c.ID)
		sameCustomer(t, c, got)
		if o := owner(t, got, ownerID(1)); o.KYCStatus != kyc.StatusRejected || o.RejectType != "RETRY" || !o.LastReviewAt.Equal(t1.Add(2*time.Second)) {
			t.Errorf("owner after the reviews: %+v; want REJECTED RETRY", o)
		}
	})

	t.Run("a submission sets every owner not approved PENDING, keeping its last review, conditioned on each as read", func(t *testing.T) {
		e := newEnv(t)
		b := business(t, e, 1)
		insert(t, e, b.ID, fullOwner(1))
		insert(t, e, b.ID, fullOwner(2))
		insert(t, e, b.ID, fullOwner(3))
		c := insert(t, e, b.ID, fullOwner(4))
		t1 := ownerAt.Add(time.Hour)
		rej := move(owner(t, c, ownerID(1)), kyc.StatusRejected, t1)
		rej.RejectType, rej.RejectLabels = "RETRY", []string{"BAD_SELFIE"}
		ok := move(owner(t, c, ownerID(4)), kyc.StatusApproved, t1)
		if err := e.Reviews.ApplyChange(ctx, kyc.Change{CustomerID: c.ID, Type: kyc.Business, Owners: []kyc.OwnerMove{rej, ok}}, nil); err != nil {
			t.Fatal(err)
		}
		c = read(t, e, c.ID)
		// A review of owner 2 lands after the submission's read: the
		// submission's write fails (it decided on statuses no longer
		// there); read again, it lands, owner 2's last review the newest.
		t2 := t1.Add(time.Minute)
		if err := e.Reviews.ApplyChange(ctx, kyc.Change{CustomerID: c.ID, Type: kyc.Business,
			Owners: []kyc.OwnerMove{move(owner(t, c, ownerID(2)), kyc.StatusHold, t2)}}, nil); err != nil {
			t.Fatal(err)
		}
		at := t2.Add(time.Minute)
		v := kyc.Verification{ID: verificationID(1), PlatformID: c.PlatformID, CustomerID: c.ID, Status: kyc.VerificationInProgress,
			CreatedAt: at, UpdatedAt: at, CustomerVersion: c.Version}
		if err := e.Verifications.WriteVerification(ctx, kyc.VerificationWrite{Verification: v,
			Submission: &kyc.Submission{Customer: c, Status: kyc.StatusPending, UpdatedAt: at}}); !errors.Is(err, kyc.ErrChanged) {
			t.Fatalf("a submission over an owner's review since its read = %v; want ErrChanged", err)
		}
		c = read(t, e, c.ID)
		if err := e.Verifications.WriteVerification(ctx, kyc.VerificationWrite{Verification: v,
			Submission: &kyc.Submission{Customer: c, Status: kyc.StatusPending, UpdatedAt: at}}); err != nil {
			t.Fatal(err)
		}
		got := read(t, e, c.ID)
		if got.KYBStatus != kyc.StatusPending || got.VerificationID != v.ID {
			t.Errorf("business after the submission: %s, verification %q; want PENDING, %s", got.KYBStatus, got.VerificationID, v.ID)
		}
		for id, want := range map[string]struct {
			status kyc.Status
			last   time.Time
		}{ownerID(1): {kyc.StatusPending, t1}, ownerID(2): {kyc.StatusPending, t2}, ownerID(3): {kyc.StatusPending, time.Time{}}, ownerID(4): {kyc.StatusApproved, t1}} {
			o := owner(t, got, id)
			if o.KYCStatus != want.status || !o.LastReviewAt.Equal(want.last) || o.RejectType != "" || len(o.RejectLabels) != 0 {
				t.Errorf("owner %s after the submission: %s at %s, reasons %q %q; want %s at %s, no reasons",
					id, o.KYCStatus, o.LastReviewAt, o.RejectType, o.RejectLabels, want.status, want.last)
			}
		}
		// The owners' data is as it was.
		for i, o := range got.Owners {
			if !cmp.Equal(o.IdentifierSealed, c.Owners[i].IdentifierSealed) || o.LastName != c.Owners[i].LastName {
				t.Errorf("owner %s's data moved: %+v", o.ID, o)
			}
		}
		// An owner cannot join the business now it is under review: the
		// insert is conditioned on the status read (no version moved).
		next := c
		next.Owners = append(kyc.CloneOwners(c.Owners), fullOwner(5))
		next.Version = c.Version + 1
		if err := e.Owners.InsertOwner(ctx, c, next, ownerID(5)); !errors.Is(err, kyc.ErrChanged) {
			t.Errorf("an owner inserted from a read before the submission = %v; want ErrChanged", err)
		}
	})

	t.Run("the most owners a business may have: submitted, then all put back in one change", func(t *testing.T) {
		e := newEnv(t)
		b := business(t, e, 1)
		var c kyc.Customer
		for i := range kyc.MaxOwnersPerBusiness {
			c = insert(t, e, b.ID, fullOwner(i+1))
		}
		at := ownerAt.Add(time.Hour)
		v := kyc.Verification{ID: verificationID(1), PlatformID: c.PlatformID, CustomerID: c.ID, Status: kyc.VerificationInProgress,
			CreatedAt: at, UpdatedAt: at, CustomerVersion: c.Version}
		if err := e.Verifications.WriteVerification(ctx, kyc.VerificationWrite{Verification: v,
			Submission: &kyc.Submission{Customer: c, Status: kyc.StatusPending, UpdatedAt: at}}); err != nil {
			t.Fatal(err)
		}
		c = read(t, e, c.ID)
		// A refused submission's change: the business and every owner.
		ch := kyc.Change{CustomerID: c.ID, Type: kyc.Business, Status: kyc.StatusUnverified, ReviewAt: at, UpdatedAt: at,
			WasStatus: kyc.StatusPending}
		for _, o := range c.Owners {
			if o.KYCStatus != kyc.StatusPending {
				t.Fatalf("owner %s after the submission: %s; want PENDING", o.ID, o.KYCStatus)
			}
			ch.Owners = append(ch.Owners, kyc.OwnerMove{ID: o.ID, Status: kyc.StatusUnverified, WasStatus: kyc.StatusPending})
		}
		if err := e.Reviews.ApplyChange(ctx, ch, nil); err != nil {
			t.Fatal(err)
		}
		got := read(t, e, c.ID)
		if len(got.Owners) != kyc.MaxOwnersPerBusiness || got.KYBStatus != kyc.StatusUnverified {
			t.Fatalf("business after the change: %s, %d owners", got.KYBStatus, len(got.Owners))
		}
		for i, o := range got.Owners {
			if o.ID != ownerID(i+1) || o.StatusOf() != kyc.StatusUnverified {
				t.Errorf("owner %d: %s %s; want %s UNVERIFIED", i, o.ID, o.StatusOf(), ownerID(i+1))
			}
		}
	})

	t.Run("no plaintext identifier is stored", func(t *testing.T) {
		e := newEnv(t)
		b := business(t, e, 1)
		clk := &clock{}
		key := []byte("storetest cursor key, 32 bytes!!")
		owners := &kyc.BeneficialOwners{Customers: &kyc.Customers{Store: e.Customers, Sealer: memstore.NewSealer(), Now: clk.now,
			CursorKey: func(context.Context) ([]byte, error) { return key, nil }}, Store: e.Owners}
		in, err := kyc.ParseOwnerCreate([]byte(`{"customerId":"` + b.ID + `","roles":["UBO"],"ownershipPercentage":40,
			"personalInfo":{"firstName":"Plainly","lastName":"Visible","birthDate":"1980-02-03","nationality":"US",
			"address":{"line1":"1 Main St","postalCode":"98101","country":"US"},"idType":"SSN","identifier":"` + ssn + `"}}`))
		if err != nil {
			t.Fatal(err)
		}
		v, err := owners.Create(ctx, "p1", in, "")
		if err != nil {
			t.Fatal(err)
		}
		up, err := kyc.ParseOwnerUpdate([]byte(`{"personalInfo":{"idType":"NON_US_TAX_ID","identifier":"ZX-998877-Q"}}`))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := owners.Update(ctx, "p1", v.ID, up); err != nil {
			t.Fatal(err)
		}
		all := strings.Join(e.Stored(t, b.ID), "\n")
		if !strings.Contains(all, "Plainly") || !strings.Contains(all, v.ID) {
			t.Fatalf("Stored(%s) does not show the owner: it cannot see plaintext:\n%s", b.ID, all)
		}
		for _, secret := range []string{ssn, "123456789", "ZX-998877-Q"} {
			if strings.Contains(all, secret) {
				t.Errorf("the store keeps %q in plaintext:\n%s", secret, all)
			}
		}
		if got := owner(t, read(t, e, b.ID), v.ID); len(got.IdentifierSealed) == 0 {
			t.Error("the owner has no sealed identifier")
		}
	})
}

// read is customer id as CustomerRecord reads it.
func read(t *testing.T, e OwnerEnv, id string) kyc.Customer {
	t.Helper()
	c, err := e.Customers.CustomerRecord(context.Background(), id)
	if err != nil {
		t.Fatalf("CustomerRecord(%s) = %v", id, err)
	}
	return c
}
