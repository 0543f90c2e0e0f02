//go:build integration

package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/grid-kyc/kyc-link/internal/contract"
	"github.com/grid-kyc/kyc-link/pkg/app"
	"github.com/grid-kyc/kyc-link/pkg/sumsub"
)

// Personal data of the owners these tests add: none may reach the log or
// an item in plaintext (the identifier), nor an answer (the identifier).
const (
	ownerIdentifier = "219-09-9999"
	ownerLastName   = "Okonkwo-Villanueva"
)

func ownerOnMoto(business, role string, share int, lastName string) string {
	return fmt.Sprintf(`{"customerId":%q,"roles":[%q],"ownershipPercentage":%d,"personalInfo":{"firstName":"Marguerite",
  "lastName":%q,"birthDate":"1978-06-15","nationality":"US","email":"m@acme.example","phoneNumber":"+14155550192",
  "address":{"line1":"1 Main St","city":"Seattle","postalCode":"98101","country":"US"},"idType":"SSN","identifier":%q}}`,
		business, role, share, lastName, ownerIdentifier)
}

const businessOnMoto = `{"customerType":"BUSINESS","businessInfo":{"legalName":"Acme Corporation","country":"US",
  "registrationNumber":"5523041","taxId":"47-1234567","incorporatedOn":"2018-03-14","countriesOfOperation":["US"]},
  "address":{"line1":"123 Market Street","city":"Seattle","postalCode":"98101","country":"US"}}`

// TestOwnersOnMoto: the owner routes on DynamoDB and KMS (moto): Grid's
// structure rules on POST /verifications; another platform gets, on
// every owner route, what an unknown id gets, byte for byte, and cannot
// attach an owner to the business; concurrent PATCHes lose nothing they
// answered; the identifier is in no item, answer or log line, nor is
// any other personal data in the log.
func TestOwnersOnMoto(t *testing.T) {
	e := docsOnMoto(t)
	biz := idOf(t, e.json(t, "tok", "POST", contract.CustomersPath, businessOnMoto))
	kinds := func(w *httptest.ResponseRecorder) []string {
		var v struct {
			Errors []struct{ Type, Field string }
		}
		if err := json.Unmarshal(w.Body.Bytes(), &v); err != nil || w.Code != 200 {
			t.Fatalf("verification = %d %s", w.Code, w.Body)
		}
		var out []string
		for _, e := range v.Errors {
			if e.Type == "MISSING_CONTROL_PERSON" || e.Type == "MISSING_BENEFICIAL_OWNER" || e.Type == "INVALID_FIELD" {
				out = append(out, e.Type+":"+e.Field)
			}
		}
		return out
	}
	submit := func() *httptest.ResponseRecorder {
		return e.json(t, "tok", "POST", contract.VerificationsPath, `{"customerId":"`+biz+`"}`)
	}
	if got, want := kinds(submit()), []string{"MISSING_CONTROL_PERSON:", "MISSING_BENEFICIAL_OWNER:"}; !slices.Equal(got, want) {
		t.Errorf("no owners: %v; want %v", got, want)
	}
	w := e.json(t, "tok", "POST", contract.BeneficialOwnersPath, ownerOnMoto(biz, "CONTROL_PERSON", 50, ownerLastName))
	if w.Code != 201 {
		t.Fatalf("create = %d %s", w.Code, w.Body)
	}
	ctrl := idOf(t, w)
	ubo := idOf(t, e.json(t, "tok", "POST", contract.BeneficialOwnersPath, ownerOnMoto(biz, "UBO", 60, "Roe")))
	if got, want := kinds(submit()), []string{"INVALID_FIELD:beneficialOwners.ownershipPercentage"}; !slices.Equal(got, want) {
		t.Errorf("owned 110%%: %v; want %v", got, want)
	}

	// Another platform: as an unknown id, byte for byte.
	unknownOwner, unknownBiz := "BeneficialOwner:019542f5-b3e7-7d02-8000-00000000dead", "Customer:019542f5-b3e7-7d02-8000-00000000dead"
	for _, tc := range []struct{ name, method, tmpl, otherBody, unknownBody, other, unknown string }{
		{"GET", "GET", contract.BeneficialOwnerPath, "", "", ctrl, unknownOwner},
		{"PATCH", "PATCH", contract.BeneficialOwnerPath, `{"ownershipPercentage":1}`, `{"ownershipPercentage":1}`, ctrl, unknownOwner},
		{"POST", "POST", contract.BeneficialOwnersPath, ownerOnMoto(biz, "UBO", 1, "Q"), ownerOnMoto(unknownBiz, "UBO", 1, "Q"), "", ""},
		{"list", "GET", contract.BeneficialOwnersPath + "?customerId=" + biz, "", "", "", ""},
	} {
		var other, none *httptest.ResponseRecorder
		if tc.other != "" {
			other, none = e.json(t, "tok-q", tc.method, tc.tmpl, tc.otherBody, tc.other), e.json(t, "tok-q", tc.method, tc.tmpl, tc.unknownBody, tc.unknown)
		} else if tc.name == "list" {
			other = e.json(t, "tok-q", tc.method, tc.tmpl, "")
			none = e.json(t, "tok-q", tc.method, contract.BeneficialOwnersPath+"?customerId="+unknownBiz, "")
		} else {
			other, none = e.json(t, "tok-q", tc.method, tc.tmpl, tc.otherBody), e.json(t, "tok-q", tc.method, tc.tmpl, tc.unknownBody)
		}
		strip := func(w *httptest.ResponseRecorder) string {
			return strings.ReplaceAll(w.Body.String(), w.Header().Get("X-Request-Id"), "")
		}
		if other.Code != none.Code || strip(other) != strip(none) || tc.name != "list" && other.Code != 404 {
			t.Errorf("%s: another platform's %d %s; unknown %d %s", tc.name, other.Code, other.Body, none.Code, none.Body)
		}
	}
	// A document for another platform's owner: the unknown holder's 404.
	ct, body := form(passportPNG, "documentHolder", ctrl, "documentType", "PASSPORT", "country", "US")
	uct, ubody := form(passportPNG, "documentHolder", unknownOwner, "documentType", "PASSPORT", "country", "US")
	if o, u := e.call(t, "tok-q", "POST", contract.DocumentsPath, ct, body), e.call(t, "tok-q", "POST", contract.DocumentsPath, uct, ubody); o.Code != 404 || o.Code != u.Code {
		t.Errorf("upload for another platform's owner = %d %s; unknown %d", o.Code, o.Body, u.Code)
	}

	// Concurrent PATCHes of one owner, each its own field.
	fields := map[string]string{"firstName": "Ann", "middleName": "B", "email": "ann@acme.example", "phoneNumber": "+14155550100", "countryOfIssuance": "US"}
	var wg sync.WaitGroup
	var mu sync.Mutex
	landed := map[string]bool{}
	for f, v := range fields {
		wg.Go(func() {
			w := e.json(t, "tok", "PATCH", contract.BeneficialOwnerPath, fmt.Sprintf(`{"personalInfo":{%q:%q}}`, f, v), ubo)
			mu.Lock()
			defer mu.Unlock()
			switch w.Code {
			case 200:
				landed[f] = true
			case 409:
			default:
				t.Errorf("PATCH %s = %d %s", f, w.Code, w.Body)
			}
		})
	}
	wg.Go(func() {
		if w := e.json(t, "tok", "PATCH", contract.BeneficialOwnerPath, `{"ownershipPercentage":40}`, ctrl); w.Code != 200 && w.Code != 409 {
			t.Errorf("PATCH share = %d %s", w.Code, w.Body)
		}
	})
	wg.Wait()
	var got struct{ PersonalInfo map[string]any }
	json.Unmarshal(e.json(t, "tok", "GET", contract.BeneficialOwnerPath, "", ubo).Body.Bytes(), &got)
	for f := range landed {
		if got.PersonalInfo[f] != fields[f] {
			t.Errorf("%s answered 200 but is %v", f, got.PersonalInfo[f])
		}
	}
	if len(landed) == 0 {
		t.Error("no PATCH landed")
	}

	// The identifier: in no item of the customers table, in no answer.
	out, err := moto.Need(t).DynamoDB().Scan(context.Background(), &dynamodb.ScanInput{TableName: aws.String(e.env["CUSTOMERS_TABLE"])})
	if err != nil {
		t.Fatal(err)
	}
	for _, item := range out.Items {
		if s := fmt.Sprint(item) + dumpBinary(item); strings.Contains(s, ownerIdentifier) || strings.Contains(s, strings.ReplaceAll(ownerIdentifier, "-", "")) {
			t.Errorf("an item carries the identifier: %v", item["id"])
		}
	}
	for _, w := range []*httptest.ResponseRecorder{e.json(t, "tok", "GET", contract.CustomerPath, "", biz), e.json(t, "tok", "GET", contract.BeneficialOwnersPath+"?customerId="+biz, "")} {
		if strings.Contains(w.Body.String(), ownerIdentifier) || strings.Contains(w.Body.String(), `"identifier"`) {
			t.Errorf("an answer carries the identifier: %s", w.Body)
		}
	}
	for _, personal := range []string{ownerIdentifier, ownerLastName, "Marguerite", "1978-06-15", "m@acme.example", "+14155550192", "1 Main St"} {
		if strings.Contains(e.logs.String(), personal) {
			t.Errorf("%q reached the log", personal)
		}
	}
}

// dumpBinary renders an item's binary attributes (and those in lists and
// maps) as text, so that a plaintext inside one would show.
func dumpBinary(item map[string]types.AttributeValue) string {
	var b strings.Builder
	var walk func(v types.AttributeValue)
	walk = func(v types.AttributeValue) {
		switch v := v.(type) {
		case *types.AttributeValueMemberB:
			b.Write(v.Value)
		case *types.AttributeValueMemberL:
			for _, x := range v.Value {
				walk(x)
			}
		case *types.AttributeValueMemberM:
			for _, x := range v.Value {
				walk(x)
			}
		}
	}
	for _, v := range item {
		walk(v)
	}
	return b.String()
}

// TestKYBSubmissionOnMoto: a complete business with a control person and
// a UBO goes through the deployed pipeline on moto to a fake Sumsub: the
// company and each owner are applicants of their own (externalUserId the
// owner id), each owner with its passport and its identifier (opened with
// KMS under the owner's own context), linked to the company as a
// beneficiary; each applicant's review asked for once.
func TestKYBSubmissionOnMoto(t *testing.T) {
	s := newSubStack(t)
	w := s.call(t, "POST", "/customers", "application/json", []byte(businessOnMoto))
	biz := jsonField(t, w.Body.Bytes(), "id")
	upload := func(holder, typ string, file []byte) {
		var b bytes.Buffer
		mw := multipart.NewWriter(&b)
		for _, kv := range [][2]string{{"documentType", typ}, {"country", "US"}, {"documentHolder", holder}} {
			mw.WriteField(kv[0], kv[1])
		}
		fw, _ := mw.CreateFormFile("file", "doc.pdf")
		fw.Write(file)
		mw.Close()
		if w := s.call(t, "POST", "/documents", mw.FormDataContentType(), b.Bytes()); w.Code != 201 {
			t.Fatalf("upload = %d %s", w.Code, w.Body)
		}
	}
	for _, typ := range []string{"CERTIFICATE_OF_INCORPORATION", "SHAREHOLDER_REGISTER", "DIRECTOR_REGISTRY", "UTILITY_BILL"} {
		upload(biz, typ, []byte("%PDF-1.7\n"+typ))
	}
	var owners []string
	for _, o := range []struct {
		role  string
		share int
	}{{"CONTROL_PERSON", 0}, {"UBO", 60}} {
		w := s.call(t, "POST", "/beneficial-owners", "application/json", []byte(ownerOnMoto(biz, o.role, o.share, "Roe")))
		if w.Code != 201 {
			t.Fatalf("owner = %d %s", w.Code, w.Body)
		}
		id := jsonField(t, w.Body.Bytes(), "id")
		owners = append(owners, id)
		upload(id, "PASSPORT", []byte("\x89PNG\r\n\x1a\nPASSPORT-OF-"+id))
	}
	w = s.call(t, "POST", "/verifications", "application/json", []byte(`{"customerId":"`+biz+`"}`))
	if jsonField(t, w.Body.Bytes(), "verificationStatus") != "IN_PROGRESS" {
		t.Fatalf("verification = %d %s", w.Code, w.Body)
	}
	v := jsonField(t, w.Body.Bytes(), "id")
	// Under review, the business takes no new owner (it would never be
	// reviewed with it).
	if w := s.call(t, "POST", "/beneficial-owners", "application/json", []byte(ownerOnMoto(biz, "UBO", 10, "Late"))); w.Code != 409 ||
		!strings.Contains(w.Body.String(), "VERIFICATION_IN_PROGRESS") {
		t.Errorf("an owner added under review = %d %s; want 409 VERIFICATION_IN_PROGRESS", w.Code, w.Body)
	}
	s.finished(t, v, "submitted")
	company, ok := s.fake.Applicant(biz)
	if !ok || company.Type != "company" || company.ReviewRequests != 1 {
		t.Fatalf("the company at Sumsub: %+v, %v", company, ok)
	}
	links := s.fake.Beneficiaries(company.ID)
	if len(links) != 2 {
		t.Fatalf("%d beneficiaries linked; want 2: %+v", len(links), links)
	}
	for i, id := range owners {
		a, ok := s.fake.Applicant(id)
		if !ok || a.Type != "individual" || a.FixedInfo["tin"] != ownerIdentifier || a.FixedInfo["lastName"] != "Roe" || a.ReviewRequests != 1 {
			t.Fatalf("owner %d at Sumsub: %+v, %v", i, a, ok)
		}
		if docs := s.fake.Docs(a.ID); len(docs) != 1 || docs[0].IDDocType != "PASSPORT" {
			t.Errorf("owner %d's documents at Sumsub: %+v", i, docs)
		}
		if links[i].ApplicantID != a.ID {
			t.Errorf("link %d names %s; want owner %d's applicant %s", i, links[i].ApplicantID, i, a.ID)
		}
		var got struct{ KycStatus string }
		json.Unmarshal(s.call(t, "GET", "/beneficial-owners/"+id, "", nil).Body.Bytes(), &got)
		if got.KycStatus != "PENDING" {
			t.Errorf("owner %d is %s under review; want PENDING", i, got.KycStatus)
		}
	}
	if wantUBO := links[1]; !slices.Contains(wantUBO.Types, "ubo") || wantUBO.ShareSize == nil || *wantUBO.ShareSize != 60 {
		t.Errorf("the UBO's link %+v; want ubo with a share of 60", wantUBO)
	}

	// Sumsub's decisions, through the receiver as deployed: each owner's
	// moves its kycStatus alone, the company's the business and its
	// verification.
	cfg, err := app.ConfigFromEnv(func(k string) string { return s.env[k] }, true)
	if err != nil {
		t.Fatal(err)
	}
	receiver, err := app.Build(context.Background(), cfg, s.logs.Logger(), app.ReceiverFunction)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Now().Add(-time.Minute)
	for _, ev := range [][]byte{
		event(sumsub.TypeReviewed, owners[0], at, "GREEN"),
		event(sumsub.TypeReviewed, owners[1], at, "RED", "FINAL"),
		event(sumsub.TypeReviewed, biz, at.Add(time.Second), "GREEN"),
	} {
		d, _ := sumsub.WebhookDigest("w", "HMAC_SHA256_HEX", ev)
		r := httptest.NewRequest("POST", "/webhooks/sumsub", bytes.NewReader(ev))
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("X-Payload-Digest", d)
		r.Header.Set("X-Payload-Digest-Alg", "HMAC_SHA256_HEX")
		w := httptest.NewRecorder()
		receiver.Handler().ServeHTTP(w, r)
		if w.Code != 200 {
			t.Fatalf("receiver = %d %s", w.Code, w.Body)
		}
	}
	var got struct {
		KybStatus        string
		BeneficialOwners []struct{ ID, KycStatus string }
	}
	json.Unmarshal(s.call(t, "GET", "/customers/"+biz, "", nil).Body.Bytes(), &got)
	if got.KybStatus != "APPROVED" || len(got.BeneficialOwners) != 2 ||
		got.BeneficialOwners[0].KycStatus != "APPROVED" || got.BeneficialOwners[1].KycStatus != "REJECTED" {
		t.Errorf("after the decisions: %+v", got)
	}
	if w := s.call(t, "GET", "/verifications/"+v, "", nil); jsonField(t, w.Body.Bytes(), "verificationStatus") != "APPROVED" {
		t.Errorf("verification %s", w.Body)
	}
	for _, personal := range []string{ownerIdentifier, "Marguerite", "1978-06-15", "m@acme.example"} {
		if strings.Contains(s.logs.String(), personal) {
			t.Errorf("%q reached the log", personal)
		}
	}
}
