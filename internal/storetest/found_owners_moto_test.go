//go:build integration

package storetest

// Defects found in the review of the KYB beneficial owners change
// (e268990..2f62689), on DynamoDB (moto): the domain's use cases over the
// template's tables, as the deployed functions run them. Each test fails
// on the code as reviewed; its comment says what is wrong and what the
// right behaviour is. (pkg/kyc/found_owners_test.go has the same defects
// on the memory store.)

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/grid-kyc/kyc-link/internal/motostack"
	"github.com/grid-kyc/kyc-link/pkg/awsstore"
	"github.com/grid-kyc/kyc-link/pkg/gridhook"
	"github.com/grid-kyc/kyc-link/pkg/kyc"
	"github.com/grid-kyc/kyc-link/pkg/memstore"
)

// kybMoto is the platform API's and the receiver's use cases over the
// customers, documents, verifications and outbox tables on moto.
type kybMoto struct {
	customers     *kyc.Customers
	owners        *kyc.BeneficialOwners
	documents     *kyc.Documents
	verifications *kyc.Verifications
	reviews       *kyc.Reviews
	store         *awsstore.Customers
	notices       func(t *testing.T) []kyc.Notice

	mu    sync.Mutex
	clock time.Time
}

func (e *kybMoto) now() time.Time { e.mu.Lock(); defer e.mu.Unlock(); return e.clock }

func (e *kybMoto) advance(d time.Duration) { e.mu.Lock(); e.clock = e.clock.Add(d); e.mu.Unlock() }

func newKYBMoto(t *testing.T) *kybMoto {
	t.Helper()
	srv := moto.Need(t)
	st := motostack.New(t, srv, motostack.Options{Only: []string{"CustomersTable", "WebhookOutboxTable", "DocumentsTable", "VerificationsTable"}})
	db := srv.DynamoDB()
	table, outbox := st.Names["CustomersTable"], st.Names["WebhookOutboxTable"]
	docsTable, verTable := st.Names["DocumentsTable"], st.Names["VerificationsTable"]
	store := &awsstore.Customers{Client: db, Table: table, Index: "byPlatform", OutboxTable: outbox, VerificationsTable: verTable}
	docs := &awsstore.Documents{Client: db, Table: docsTable, Index: "byPlatform"}
	vers := &awsstore.Verifications{Client: db, Table: verTable, ByPlatformIndex: "byPlatform", ByCustomerIndex: "byCustomer",
		CustomersTable: table, DocumentsTable: docsTable, OutboxTable: outbox}
	e := &kybMoto{store: store, clock: time.Now().UTC().Truncate(time.Millisecond)}
	key := memstore.RandomKey()
	e.customers = &kyc.Customers{Store: store, Sealer: memstore.NewSealer(), CursorKey: key, Now: e.now}
	e.owners = &kyc.BeneficialOwners{Customers: e.customers, Store: store}
	e.documents = &kyc.Documents{Store: docs, Files: &memstore.Files{}, Holders: store, Owners: store, CursorKey: key, Now: e.now}
	e.verifications = &kyc.Verifications{Store: vers, Customers: store, Documents: docs, CustomerNotices: gridhook.Notices,
		VerificationNotices: gridhook.VerificationNotice, CursorKey: key, Now: e.now}
	e.reviews = &kyc.Reviews{Store: store, Notices: gridhook.Notices, Now: e.now, Verifications: vers,
		VerificationNotices: gridhook.VerificationNotice, Owners: store}
	e.notices = func(t *testing.T) []kyc.Notice { return outboxNotices(t, db, outbox) }
	return e
}

var kybPNG = []byte("\x89PNG\r\n\x1a\n" + strings.Repeat("p", 100))

func (e *kybMoto) upload(t *testing.T, holder, typ string) {
	t.Helper()
	if _, err := e.documents.Upload(context.Background(), "p1", kyc.DocumentInput{Holder: holder, Type: typ, Country: "US"},
		kyc.DocumentFile{Name: "scan.png", Content: kybPNG}, ""); err != nil {
		t.Fatalf("upload %s for %s: %v", typ, holder, err)
	}
}

// ready is a business of p1 complete for review: its documents, a
// control person and a 60 % UBO, each with a passport.
func (e *kybMoto) ready(t *testing.T) (biz, ctrl, ubo string) {
	t.Helper()
	ctx := context.Background()
	in, err := kyc.ParseCustomerInput([]byte(`{"customerType":"BUSINESS","businessInfo":{"legalName":"Acme Corporation","country":"US",
  "registrationNumber":"5523041","taxId":"47-1234567","incorporatedOn":"2018-03-14","countriesOfOperation":["US"]},
  "address":{"line1":"123 Market Street","city":"Seattle","postalCode":"98101","country":"US"}}`))
	if err != nil {
		t.Fatal(err)
	}
	c, err := e.customers.Create(ctx, "p1", in, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, typ := range []string{"CERTIFICATE_OF_INCORPORATION", "SHAREHOLDER_REGISTER", "DIRECTOR_REGISTRY", "UTILITY_BILL"} {
		e.upload(t, c.ID, typ)
	}
	owner := func(role string, share int) string {
		in, err := kyc.ParseOwnerCreate([]byte(fmt.Sprintf(`{"customerId":%q,"roles":[%q],"ownershipPercentage":%d,"personalInfo":{
  "firstName":"Jane","lastName":"Roe","birthDate":"1978-06-15","nationality":"US",
  "address":{"line1":"1 Main St","city":"Seattle","postalCode":"98101","country":"US"},"idType":"SSN","identifier":"123-45-6789"}}`, c.ID, role, share)))
		if err != nil {
			t.Fatal(err)
		}
		o, err := e.owners.Create(ctx, "p1", in, "")
		if err != nil {
			t.Fatal(err)
		}
		e.upload(t, o.ID, "PASSPORT")
		return o.ID
	}
	return c.ID, owner("CONTROL_PERSON", 0), owner("UBO", 60)
}

// On DynamoDB too, the CUSTOMER.KYB_PENDING webhook recorded (outbox
// table) with a business's submission says its owners are UNVERIFIED,
// while the same transaction makes them PENDING (GET right after).
// Right behaviour: the webhook's data.beneficialOwners carry the statuses
// the write gives (PENDING), as GET /customers/{id} does.
func TestFoundMotoKYBPendingWebhookShowsOwnersUnverified(t *testing.T) {
	e := newKYBMoto(t)
	ctx := context.Background()
	biz, _, _ := e.ready(t)
	v, err := e.verifications.Submit(ctx, "p1", biz, "")
	if err != nil || v.VerificationStatus != kyc.VerificationInProgress {
		t.Fatalf("Submit = %+v, %v", v, err)
	}
	got, err := e.customers.Get(ctx, "p1", biz)
	if err != nil {
		t.Fatal(err)
	}
	onGet := map[string]kyc.Status{}
	for _, o := range *got.BeneficialOwners {
		onGet[o.ID] = o.KYCStatus
	}
	found := false
	for _, n := range e.notices(t) {
		if n.Type != "CUSTOMER.KYB_PENDING" {
			continue
		}
		found = true
		var env struct {
			Data struct {
				BeneficialOwners []struct {
					ID        string
					KycStatus kyc.Status
				}
			}
		}
		if err := json.Unmarshal(n.Body, &env); err != nil {
			t.Fatal(err)
		}
		for _, o := range env.Data.BeneficialOwners {
			if o.KycStatus != onGet[o.ID] {
				t.Errorf("CUSTOMER.KYB_PENDING says owner %s is %s; GET right after says %s", o.ID, o.KycStatus, onGet[o.ID])
			}
		}
	}
	if !found {
		t.Fatal("no CUSTOMER.KYB_PENDING in the outbox")
	}
}

// On DynamoDB too, submitting a business again after Sumsub sent it back
// (REJECTED, RETRY) sets an owner Sumsub rejected for good back to
// PENDING and removes its rejectType and labels (awsstore
// submittedOwners sets every owner of the customer as read PENDING).
// Right behaviour: an owner's FINAL rejection stands (status and reasons
// kept); the business's verification names the owner (APPLICANT_REJECTED,
// RESOLVE_ERRORS) or is refused.
func TestFoundMotoResubmissionErasesOwnersFinalRejection(t *testing.T) {
	e := newKYBMoto(t)
	ctx := context.Background()
	biz, ctrl, ubo := e.ready(t)
	if v, err := e.verifications.Submit(ctx, "p1", biz, ""); err != nil || v.VerificationStatus != kyc.VerificationInProgress {
		t.Fatalf("Submit = %+v, %v", v, err)
	}
	e.advance(time.Minute)
	at := e.now()
	for _, r := range []kyc.Review{
		{CustomerID: ctrl, Status: kyc.StatusApproved, At: at},
		{CustomerID: ubo, Status: kyc.StatusRejected, RejectType: "FINAL", RejectLabels: []string{"FORGERY"}, At: at},
		{CustomerID: biz, Status: kyc.StatusRejected, RejectType: "RETRY", RejectLabels: []string{"BAD_PROOF_OF_ADDRESS"}, At: at},
	} {
		if out, err := e.reviews.Apply(ctx, r); err != nil || out != kyc.Applied {
			t.Fatalf("Apply(%s) = %s, %v", r.CustomerID, out, err)
		}
	}
	e.advance(time.Minute)
	v2, err := e.verifications.Submit(ctx, "p1", biz, "")
	if err != nil {
		return // refused: the final rejection stands
	}
	rec, err := e.store.CustomerRecord(ctx, biz)
	if err != nil {
		t.Fatal(err)
	}
	o, _ := rec.Owner(ubo)
	if o.StatusOf() != kyc.StatusRejected || o.RejectType != "FINAL" {
		t.Errorf("after resubmitting the business (verification %s), the finally rejected owner is %s (rejectType %q, labels %v); want REJECTED FINAL kept",
			v2.VerificationStatus, o.StatusOf(), o.RejectType, o.RejectLabels)
	}
}
