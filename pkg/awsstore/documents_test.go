package awsstore

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/grid-kyc/kyc-link/pkg/kyc"
)

// fakeTransactions answers TransactWriteItems with answer (given the
// call's input) and GetItem from item; it records the request tokens.
type fakeTransactions struct {
	DocumentsAPI
	answer func(in *dynamodb.TransactWriteItemsInput) error
	item   map[string]types.AttributeValue
	tokens []string
	gets   int
}

func (f *fakeTransactions) TransactWriteItems(_ context.Context, in *dynamodb.TransactWriteItemsInput, _ ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	f.tokens = append(f.tokens, aws.ToString(in.ClientRequestToken))
	return &dynamodb.TransactWriteItemsOutput{}, f.answer(in)
}

func (f *fakeTransactions) GetItem(context.Context, *dynamodb.GetItemInput, ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	f.gets++
	return &dynamodb.GetItemOutput{Item: f.item}, nil
}

// cancelledWith is a cancellation whose first write's condition failed,
// returning old (nil: an emulator that returns none).
func cancelledWith(old map[string]types.AttributeValue, codes ...string) error {
	var rs []types.CancellationReason
	for i, c := range codes {
		r := types.CancellationReason{Code: aws.String(c)}
		if i == 0 {
			r.Item = old
		}
		rs = append(rs, r)
	}
	return &types.TransactionCanceledException{Message: aws.String("cancelled"), CancellationReasons: rs}
}

var testDoc = kyc.Document{ID: "Document:019ac0de-0000-7000-8000-000000000001", PlatformID: "p1",
	Holder: "Customer:019ac0de-0000-7000-8000-000000000002", Type: "PASSPORT", Country: "US", Number: "X1234567",
	FileName: "p.pdf", ContentType: kyc.ContentTypePDF, Size: 10, FileKey: "documents/x/v1",
	CreatedAt: time.UnixMilli(1_800_000_000_000).UTC(), UpdatedAt: time.UnixMilli(1_800_000_000_000).UTC(), Version: 1}

// TestDocumentWritesRecogniseTheirOwnLandedAttempt: a condition that
// fails on the item this very write left (its answer was lost, the
// re-send failed) is success; on anyone else's it is the store's answer.
// Where the emulator returns no item, the item is read.
func TestDocumentWritesRecogniseTheirOwnLandedAttempt(t *testing.T) {
	ctx := context.Background()
	ownItem := func(in *dynamodb.TransactWriteItemsInput) map[string]types.AttributeValue {
		return in.TransactItems[0].Put.Item
	}
	other := map[string]types.AttributeValue{attrWriteToken: s("someone else")}
	for _, tc := range []struct {
		name   string
		write  func(d *Documents) error
		old    func(in *dynamodb.TransactWriteItemsInput) map[string]types.AttributeValue
		stored map[string]types.AttributeValue // what a read finds
		want   error
		reads  int
	}{
		{name: "insert, landed", write: func(d *Documents) error { return d.InsertDocument(ctx, testDoc) }, old: ownItem},
		{name: "insert, another's", write: func(d *Documents) error { return d.InsertDocument(ctx, testDoc) },
			old: func(*dynamodb.TransactWriteItemsInput) map[string]types.AttributeValue { return other }, want: kyc.ErrDocumentExists},
		{name: "insert, another's, read", write: func(d *Documents) error { return d.InsertDocument(ctx, testDoc) },
			stored: other, want: kyc.ErrDocumentExists, reads: 1},
		{name: "replace, landed", write: func(d *Documents) error {
			next := testDoc
			next.FileName = "q.pdf"
			return d.ReplaceDocument(ctx, testDoc, next)
		}, old: ownItem},
		{name: "replace, another's", write: func(d *Documents) error { return d.ReplaceDocument(ctx, testDoc, testDoc) },
			old: func(*dynamodb.TransactWriteItemsInput) map[string]types.AttributeValue { return other }, want: kyc.ErrChanged},
		{name: "replace of a deleted document", write: func(d *Documents) error { return d.ReplaceDocument(ctx, testDoc, testDoc) },
			want: kyc.ErrChanged, reads: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeTransactions{item: tc.stored}
			f.answer = func(in *dynamodb.TransactWriteItemsInput) error {
				var old map[string]types.AttributeValue
				if tc.old != nil {
					old = tc.old(in)
				}
				return cancelledWith(old, "ConditionalCheckFailed", "None")
			}
			err := tc.write(&Documents{Client: f, Table: "docs"})
			if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Errorf("= %v; want %v", err, tc.want)
			}
			if f.gets != tc.reads {
				t.Errorf("%d reads; want %d", f.gets, tc.reads)
			}
		})
	}
}

// TestTransactionsRetryConflictsWithFreshTokens: a transaction cancelled
// for a conflicting one runs again, each attempt (and each write) with
// its own request token; a failed condition is never retried.
func TestTransactionsRetryConflictsWithFreshTokens(t *testing.T) {
	ctx := context.Background()
	answers := []error{cancelledWith(nil, "None", "TransactionConflict"), cancelledWith(nil, "TransactionConflict", "None"), nil}
	f := &fakeTransactions{answer: func(*dynamodb.TransactWriteItemsInput) error {
		err := answers[0]
		answers = answers[1:]
		return err
	}}
	d := &Documents{Client: f, Table: "docs", Backoff: time.Microsecond}
	if err := d.InsertDocument(ctx, testDoc); err != nil {
		t.Fatal(err)
	}
	f.answer = func(*dynamodb.TransactWriteItemsInput) error {
		return cancelledWith(nil, "ConditionalCheckFailed", "TransactionConflict")
	}
	if err := d.DeleteDocument(ctx, testDoc); !errors.Is(err, kyc.ErrChanged) {
		t.Errorf("delete = %v; want ErrChanged", err)
	}
	if len(f.tokens) != 4 {
		t.Fatalf("%d transactions; want 3 attempts of the insert and 1 of the delete", len(f.tokens))
	}
	seen := map[string]bool{}
	for _, tok := range f.tokens {
		if tok == "" || seen[tok] {
			t.Errorf("request tokens %v; want a fresh one per attempt", f.tokens)
		}
		seen[tok] = true
	}
	// Conflicts that do not end are an outage, not a change.
	f.answer = func(*dynamodb.TransactWriteItemsInput) error {
		return cancelledWith(nil, "TransactionConflict", "None")
	}
	if err := d.DeleteDocument(ctx, testDoc); kyc.AsError(err).Code != kyc.CodeUnavailable {
		t.Errorf("delete under endless conflicts = %v; want 503", err)
	}
}

// TestDocumentErrorsKeepTheNumberOut: a failure names the document by id,
// never by its number (personal data), and says whose fault it is.
func TestDocumentErrorsKeepTheNumberOut(t *testing.T) {
	ctx := context.Background()
	f := &fakeTransactions{answer: func(*dynamodb.TransactWriteItemsInput) error {
		return &types.ResourceNotFoundException{Message: aws.String("Requested resource not found")}
	}}
	d := &Documents{Client: f, Table: "docs"}
	next := testDoc
	next.Number = "Y7654321"
	for _, err := range []error{d.InsertDocument(ctx, testDoc), d.ReplaceDocument(ctx, testDoc, next), d.DeleteDocument(ctx, testDoc)} {
		e := kyc.AsError(err)
		if e.Code != kyc.CodeInternal || e.Dependency != kyc.DepStore {
			t.Errorf("a missing table = %v; want a STORE misconfiguration (500)", err)
		}
		if strings.Contains(err.Error(), testDoc.Number) || strings.Contains(err.Error(), next.Number) || !strings.Contains(err.Error(), testDoc.ID) {
			t.Errorf("error %q: want the id and never the number", err)
		}
	}
	bad := testDoc
	bad.Holder = ""
	if err := d.InsertDocument(ctx, bad); kyc.AsError(err).Code != kyc.CodeInternal || strings.Contains(err.Error(), bad.Number) {
		t.Errorf("a document without holder = %v; want 500 without the number", err)
	}
}

// TestWriteVerificationOutcomes: the verification's own condition is
// ErrVerificationExists, any other is ErrChanged; a write that would not
// fit in one transaction is refused before any call.
func TestWriteVerificationOutcomes(t *testing.T) {
	ctx := context.Background()
	at := time.UnixMilli(1_800_000_000_000).UTC()
	c := kyc.Customer{ID: "Customer:019ac0de-0000-7000-8000-000000000002", PlatformID: "p1", Type: kyc.Individual, Version: 3}
	v := kyc.Verification{ID: "Verification:019ac0de-0000-7000-8000-000000000003", PlatformID: "p1", CustomerID: c.ID,
		Status: kyc.VerificationInProgress, CreatedAt: at, UpdatedAt: at}
	w := kyc.VerificationWrite{Verification: v, Notices: []kyc.Notice{{ID: "Webhook:1", CreatedAt: at}},
		Submission: &kyc.Submission{Customer: c, Status: kyc.StatusPending, UpdatedAt: at, Documents: []kyc.Document{testDoc}}}
	for _, tc := range []struct {
		codes []string
		want  error
	}{
		{[]string{"ConditionalCheckFailed", "None", "None", "None"}, kyc.ErrVerificationExists},
		{[]string{"ConditionalCheckFailed", "None", "ConditionalCheckFailed", "None"}, kyc.ErrVerificationExists},
		{[]string{"None", "None", "ConditionalCheckFailed", "None"}, kyc.ErrChanged},
		{[]string{"None", "None", "None", "ConditionalCheckFailed"}, kyc.ErrChanged},
	} {
		var got *dynamodb.TransactWriteItemsInput
		f := &fakeTransactions{answer: func(in *dynamodb.TransactWriteItemsInput) error { got = in; return cancelledWith(nil, tc.codes...) }}
		vs := &Verifications{Client: f, Table: "v", CustomersTable: "c", DocumentsTable: "d", OutboxTable: "o"}
		if err := vs.WriteVerification(ctx, w); !errors.Is(err, tc.want) {
			t.Errorf("codes %v: %v; want %v", tc.codes, err, tc.want)
		}
		if n := len(got.TransactItems); n != 4 {
			t.Fatalf("%d writes; want the verification, its notice, the customer and the document", n)
		}
		cust := got.TransactItems[2].Update
		if aws.ToString(cust.TableName) != "c" || !strings.Contains(aws.ToString(cust.ConditionExpression), "#v = :ver") ||
			!strings.Contains(aws.ToString(cust.ConditionExpression), "attribute_not_exists(#vid)") ||
			!strings.Contains(aws.ToString(cust.ConditionExpression), "(attribute_not_exists(#f) OR #f = :was)") {
			t.Errorf("customer update %s when %s", aws.ToString(cust.UpdateExpression), aws.ToString(cust.ConditionExpression))
		}
	}
	// 1 verification + 1 notice + 1 customer + 98 documents = 101.
	big := w
	sub := *w.Submission
	for range 98 {
		sub.Documents = append(sub.Documents, testDoc)
	}
	sub.Documents = sub.Documents[1:]
	big.Submission = &sub
	f := &fakeTransactions{answer: func(*dynamodb.TransactWriteItemsInput) error { return nil }}
	vs := &Verifications{Client: f, Table: "v", CustomersTable: "c", DocumentsTable: "d", OutboxTable: "o"}
	if err := vs.WriteVerification(ctx, big); kyc.AsError(err).Code != kyc.CodeInternal || len(f.tokens) != 0 {
		t.Errorf("101 writes = %v after %d calls; want 500 before any", err, len(f.tokens))
	}
	sub.Documents = sub.Documents[1:]
	if err := vs.WriteVerification(ctx, big); err != nil || len(f.tokens) != 1 {
		t.Errorf("100 writes = %v after %d calls; want one transaction", err, len(f.tokens))
	}
}
