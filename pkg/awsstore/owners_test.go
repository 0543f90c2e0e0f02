package awsstore

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/google/go-cmp/cmp"

	"github.com/grid-kyc/kyc-link/pkg/kyc"
)

const testOwner = "BeneficialOwner:019ac0de-0000-7000-c000-000000000001"

// bizWithOwner is a business at version 1 and its version 2 with one
// owner more.
func bizWithOwner() (prev, next kyc.Customer) {
	prev = rec
	prev.Type, prev.KYCStatus = kyc.Business, ""
	next = prev
	at := prev.UpdatedAt.Add(time.Second)
	next.Owners = []kyc.BeneficialOwner{{ID: testOwner, Roles: []string{kyc.RoleUBO}, OwnershipPercentage: 30, FirstName: "Ann",
		LastName: "Lee", IdentifierSealed: []byte{1, 2, 3}, CreatedAt: at, UpdatedAt: at}}
	next.UpdatedAt, next.Version = at, 2
	return prev, next
}

// TestInsertOwnerIsOneTransaction: the customer's update (as
// UpdateCustomer writes it, never the owners' review attributes, only on
// a live customer at the version read) and the owner's pointer (outside
// the by-platform index), together.
func TestInsertOwnerIsOneTransaction(t *testing.T) {
	prev, next := bizWithOwner()
	f := &fakeDB{}
	var got *dynamodb.TransactWriteItemsInput
	f.onTransact = func(in *dynamodb.TransactWriteItemsInput) error { got = in; return nil }
	c := &Customers{Client: f, Table: "t"}
	if err := c.InsertOwner(context.Background(), prev, next, testOwner); err != nil {
		t.Fatal(err)
	}
	if got == nil || len(got.TransactItems) != 2 || got.TransactItems[0].Update == nil || got.TransactItems[1].Put == nil {
		t.Fatalf("transaction %+v; want the customer's Update and the pointer's Put", got)
	}
	u := got.TransactItems[0].Update
	if cond := aws.ToString(u.ConditionExpression); cond != "attribute_exists(#id) AND #v = :was AND (attribute_not_exists(#del) OR #del = :false) AND (attribute_not_exists(#bst) OR #bst = :bst)" {
		t.Errorf("the update's condition: %s", cond)
	}
	var written []string
	for _, name := range u.ExpressionAttributeNames {
		written = append(written, name)
	}
	slices.Sort(written)
	written = slices.Compact(written) // version is both condition and SET
	if diff := cmp.Diff([]string{"id", "isDeleted", "kybStatus", "owners", "updatedAt", "version", "writeToken"}, written); diff != "" {
		t.Errorf("the update names (-want +got):\n%s", diff)
	}
	p := got.TransactItems[1].Put
	if aws.ToString(p.ConditionExpression) != "attribute_not_exists(#id)" || str(p.Item, attrID) != testOwner ||
		str(p.Item, attrOwnerCustomer) != prev.ID || p.Item[attrPlatformID] != nil || p.Item[attrCreatedKey] != nil {
		t.Errorf("the pointer: %+v if %s; want id, customerId, no platformId or createdKey, if new", p.Item, aws.ToString(p.ConditionExpression))
	}
	if str(p.Item, attrWriteToken) != u.ExpressionAttributeValues[":a"+tokenIndex(t, u)].(*types.AttributeValueMemberS).Value {
		t.Error("the pointer and the customer carry different write tokens")
	}
}

// tokenIndex is the index of the write token's placeholder in u.
func tokenIndex(t *testing.T, u *types.Update) string {
	t.Helper()
	for name, attr := range u.ExpressionAttributeNames {
		if attr == attrWriteToken {
			return strings.TrimPrefix(name, "#a")
		}
	}
	t.Fatal("the update sets no write token")
	return ""
}

// TestInsertOwnerDecidesFailedConditions: a taken pointer is
// ErrOwnerExists before a moved customer is ErrChanged, unless the
// pointer carries this write's token (its own transaction, landed, whose
// re-send the request token did not make idempotent); the item a failed
// condition returns is used, else a consistent read.
func TestInsertOwnerDecidesFailedConditions(t *testing.T) {
	prev, next := bizWithOwner()
	pointer := func(token string) map[string]types.AttributeValue {
		return map[string]types.AttributeValue{attrID: s(testOwner), attrOwnerCustomer: s(prev.ID), attrWriteToken: s(token)}
	}
	for name, tc := range map[string]struct {
		codes []string
		// returned: the pointer comes back with the failure; else it is
		// read. own: it carries this write's token.
		returned, own bool
		want          error
	}{
		"the pointer taken by another":                {codes: []string{"None", "ConditionalCheckFailed"}, returned: true, want: kyc.ErrOwnerExists},
		"the pointer taken, the customer moved too":   {codes: []string{"ConditionalCheckFailed", "ConditionalCheckFailed"}, returned: true, want: kyc.ErrOwnerExists},
		"its own landed write, re-sent":               {codes: []string{"ConditionalCheckFailed", "ConditionalCheckFailed"}, returned: true, own: true},
		"its own landed write, no item returned":      {codes: []string{"ConditionalCheckFailed", "ConditionalCheckFailed"}, own: true},
		"the pointer taken by another, item not back": {codes: []string{"None", "ConditionalCheckFailed"}, want: kyc.ErrOwnerExists},
		"the customer moved":                          {codes: []string{"ConditionalCheckFailed", "None"}, want: kyc.ErrChanged},
	} {
		t.Run(name, func(t *testing.T) {
			f := &fakeDB{items: map[string]map[string]types.AttributeValue{}}
			f.onTransact = func(in *dynamodb.TransactWriteItemsInput) error {
				token := writeToken()
				if tc.own {
					token = str(in.TransactItems[1].Put.Item, attrWriteToken)
				}
				var rs []types.CancellationReason
				for i, code := range tc.codes {
					r := types.CancellationReason{Code: aws.String(code)}
					if i == 1 && code == "ConditionalCheckFailed" {
						if tc.returned {
							r.Item = pointer(token)
						} else {
							f.items[testOwner] = pointer(token)
						}
					}
					rs = append(rs, r)
				}
				return &types.TransactionCanceledException{CancellationReasons: rs}
			}
			c := &Customers{Client: f, Table: "t"}
			err := c.InsertOwner(context.Background(), prev, next, testOwner)
			if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Errorf("InsertOwner = %v; want %v", err, tc.want)
			}
		})
	}
	t.Run("a conflicting transaction is retried", func(t *testing.T) {
		f := &fakeDB{transact: []error{cancelled("TransactionConflict", "None"), nil}}
		c := &Customers{Client: f, Table: "t", Backoff: time.Microsecond}
		if err := c.InsertOwner(context.Background(), prev, next, testOwner); err != nil || len(f.calls) != 2 {
			t.Errorf("InsertOwner = %v after %v; want done on the second transaction", err, f.calls)
		}
	})
	t.Run("not an owner id", func(t *testing.T) {
		c := &Customers{Client: &fakeDB{}, Table: "t"}
		if err := c.InsertOwner(context.Background(), prev, next, prev.ID); kyc.AsError(err).Code != kyc.CodeInternal {
			t.Errorf("InsertOwner of a customer id = %v; want INTERNAL_ERROR", err)
		}
	})
}

// TestOwnerOnlyChangeWritesOnlyOwners: an owner's review (Status empty)
// is one UpdateItem of its review attributes; the customer's status,
// last review, reasons and updatedAt are not named.
func TestOwnerOnlyChangeWritesOnlyOwners(t *testing.T) {
	f := &fakeDB{update: []error{nil}}
	c := &Customers{Client: f, Table: "t", OutboxTable: "o"}
	at := time.UnixMilli(1_800_000_000_000).UTC()
	ch := kyc.Change{CustomerID: rec.ID, Type: kyc.Business, UpdatedAt: at, Owners: []kyc.OwnerMove{
		{ID: testOwner, Status: kyc.StatusRejected, ReviewAt: at, RejectType: "RETRY", RejectLabels: []string{"X"}, WasStatus: kyc.StatusUnverified}}}
	if err := c.ApplyChange(context.Background(), ch, nil); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(f.calls, []string{"UpdateItem"}) {
		t.Fatalf("calls %v; want one UpdateItem", f.calls)
	}
	for _, name := range f.last.ExpressionAttributeNames {
		if name != attrID && !strings.HasPrefix(name, ownerReviewPrefix+testOwner+"#") {
			t.Errorf("the owner's review names %q", name)
		}
	}
	if cond := aws.ToString(f.last.ConditionExpression); !strings.HasPrefix(cond, "attribute_exists(#id) AND ") {
		t.Errorf("condition %s; want the customer to exist", cond)
	}
	// A conflicting transaction on the item: read again.
	f = &fakeDB{update: []error{&types.TransactionConflictException{Message: aws.String("conflict")}}}
	c.Client = f
	if err := c.ApplyChange(context.Background(), ch, nil); !errors.Is(err, kyc.ErrChanged) {
		t.Errorf("ApplyChange in a conflict = %v; want ErrChanged", err)
	}
}

// TestCustomerItemKeepsOwners: a customer item holds its owners' data in
// one attribute (no review data in it) and each owner's review data in
// top-level attributes of its own; reading it back gives the owners as
// written, in order.
func TestCustomerItemKeepsOwners(t *testing.T) {
	_, c := bizWithOwner()
	second := c.Owners[0]
	second.ID, second.Address = "BeneficialOwner:019ac0de-0000-7000-c000-000000000002", kyc.Address{Line1: "1", PostalCode: "2", Country: "US"}
	second.KYCStatus, second.LastReviewAt, second.RejectType, second.RejectLabels = kyc.StatusRejected, c.UpdatedAt, "FINAL", []string{"A", "B"}
	c.Owners = append(c.Owners, second)
	item := CustomerItem(c)
	var reviews []string
	for k := range item {
		if strings.HasPrefix(k, ownerReviewPrefix) {
			reviews = append(reviews, k)
		}
	}
	slices.Sort(reviews)
	p := ownerReviewPrefix + second.ID + "#"
	if want := []string{p + "kycStatus", p + "lastReviewAtMs", p + "reviewRejectLabels", p + "reviewRejectType"}; !slices.Equal(reviews, want) {
		t.Errorf("review attributes %v; want %v", reviews, want)
	}
	for _, o := range item[attrOwners].(*types.AttributeValueMemberL).Value {
		for k := range o.(*types.AttributeValueMemberM).Value {
			if strings.Contains(strings.ToLower(k), "status") || strings.Contains(strings.ToLower(k), "review") {
				t.Errorf("the owners' data holds %q", k)
			}
		}
	}
	if diff := cmp.Diff(c.Owners, recordFromItem(item).Owners); diff != "" {
		t.Errorf("owners read back (-written +read):\n%s", diff)
	}
	if got := ownerIDsOf(item); !slices.Equal(got, []string{testOwner, second.ID}) {
		t.Errorf("ownerIDsOf = %v", got)
	}
}

// TestOwnerExpressionsFitDynamoDB: DynamoDB refuses an expression over
// 4 KB. A change moving kyc.MaxOwnersPerBusiness owners at once (a
// refused submission puts every owner back) with the customer's status,
// and a submission of that many owners, stay within it.
func TestOwnerExpressionsFitDynamoDB(t *testing.T) {
	const limit = 4096
	at := time.UnixMilli(1_800_000_000_000).UTC()
	var moves []kyc.OwnerMove
	var owners []kyc.BeneficialOwner
	for i := range kyc.MaxOwnersPerBusiness {
		id := testOwner[:len(testOwner)-2] + string(rune('a'+i)) + "1"
		moves = append(moves, kyc.OwnerMove{ID: id, Status: kyc.StatusRejected, ReviewAt: at, RejectType: "RETRY", RejectLabels: []string{"X"},
			WasStatus: kyc.StatusPending, WasReviewAt: at.Add(-time.Second)})
		owners = append(owners, kyc.BeneficialOwner{ID: id})
	}
	f := &fakeDB{}
	var got *dynamodb.TransactWriteItemsInput
	f.onTransact = func(in *dynamodb.TransactWriteItemsInput) error { got = in; return nil }
	c := &Customers{Client: f, Table: "t", OutboxTable: "o"}
	if err := c.ApplyChange(context.Background(), kyc.Change{CustomerID: rec.ID, Type: kyc.Business, Status: kyc.StatusRejected, ReviewAt: at,
		RejectType: "RETRY", RejectLabels: []string{"X"}, UpdatedAt: at, WasStatus: kyc.StatusPending, WasReviewAt: at.Add(-time.Second),
		Owners: moves}, nil); err != nil {
		t.Fatal(err)
	}
	u := got.TransactItems[0].Update
	if n, m := len(aws.ToString(u.UpdateExpression)), len(aws.ToString(u.ConditionExpression)); n > limit || m > limit {
		t.Errorf("a change of %d owners: update %d bytes, condition %d; DynamoDB takes %d", len(moves), n, m, limit)
	}
	sub := (&Verifications{CustomersTable: "t"}).submitCustomer("Verification:v", &kyc.Submission{
		Customer: kyc.Customer{ID: rec.ID, Type: kyc.Business, Version: 3, Owners: owners}, Status: kyc.StatusPending, UpdatedAt: at})
	if n := len(aws.ToString(sub.Update.UpdateExpression)); n > limit {
		t.Errorf("a submission of %d owners: update %d bytes; DynamoDB takes %d", len(owners), n, limit)
	}
}
