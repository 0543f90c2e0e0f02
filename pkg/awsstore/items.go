// Package awsstore keeps the platform API's data in AWS: customers in the
// customers table (DynamoDB, the item format the link route and the
// reviews read, plus the platform API's attributes), platform
// configuration in the platforms table that webhook delivery reads, and
// write-only values sealed with KMS.
package awsstore

import (
	"context"
	"slices"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/grid-kyc/kyc-link/pkg/kyc"
)

// Customer item attributes. The first group is the format the link
// route and the reviews read; the rest are the platform
// API's.
const (
	attrID                  = "id"
	attrPlatformID          = "platformId"
	attrCustomerType        = "customerType"
	attrKYCStatus           = "kycStatus"
	attrKYBStatus           = "kybStatus"
	attrEmail               = "email"
	attrPhoneNumber         = "phoneNumber"
	attrPlatformCustomerID  = "platformCustomerId"
	attrIsDeleted           = "isDeleted"
	attrContactVerification = "contactVerification"
	attrCreatedAt           = "createdAt"
	attrUpdatedAt           = "updatedAt"

	attrUmaAddress       = "umaAddress"
	attrRegion           = "region"
	attrCurrencies       = "currencies"  // L of S
	attrFullName         = "fullName"    //
	attrBirthDate        = "birthDate"   // S, YYYY-MM-DD
	attrNationality      = "nationality" //
	attrAddress          = "address"     // M of S
	attrIDType           = "idType"
	attrIdentifierSealed = "identifierSealed" // B: KMS ciphertext
	attrBusinessInfo     = "businessInfo"     // M (no taxId)
	attrTaxIDSealed      = "taxIdSealed"      // B: KMS ciphertext of businessInfo.taxId
	attrVersion          = "version"          // N: the platform API's writes
	attrCreatedKey       = "createdKey"       // S: kyc.ListPosition, the by-platform index's sort key
	attrDeletedAt        = "deletedAt"        // S
	attrExpiresAt        = "expiresAt"        // N, Unix seconds: TTL of a deleted customer
	attrWriteToken       = "writeToken"       // S: the last platform API write's own random token
	attrVerificationID   = "verificationId"   // S: the current verification (a submission writes it; updates never)
	// A business's beneficial owners: attrOwners and each owner's review
	// attributes (owners.go).

	// Marker items (same table): id = markerPrefix + platform + "#" +
	// platformCustomerId, attribute customerId. They have no platformId
	// and no createdKey, so the by-platform index never holds them, and
	// their ids contain '#', which no customer id may (kyc.CheckCustomerID).
	markerPrefix       = "platformCustomerId#"
	attrMarkerCustomer = "customerId"
)

func s(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
func n(v int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(v, 10)}
}
func b(v []byte) types.AttributeValue { return &types.AttributeValueMemberB{Value: v} }

// The readers of one attribute of an item: absent or of another type
// reads as the zero value.

func num(it map[string]types.AttributeValue, k string) int64 {
	v, ok := it[k].(*types.AttributeValueMemberN)
	if !ok {
		return 0
	}
	i, _ := strconv.ParseInt(v.Value, 10, 64)
	return i
}

func boolean(it map[string]types.AttributeValue, k string) bool {
	v, ok := it[k].(*types.AttributeValueMemberBOOL)
	return ok && v.Value
}

func str(it map[string]types.AttributeValue, k string) string {
	v, ok := it[k].(*types.AttributeValueMemberS)
	if !ok {
		return ""
	}
	return v.Value
}

func ms(it map[string]types.AttributeValue, k string) time.Time {
	if _, ok := it[k]; !ok {
		return time.Time{}
	}
	return time.UnixMilli(num(it, k)).UTC()
}

func list(vs []string) types.AttributeValue {
	l := make([]types.AttributeValue, len(vs))
	for i, v := range vs {
		l[i] = s(v)
	}
	return &types.AttributeValueMemberL{Value: l}
}

func markerID(platformID, pcid string) string { return markerPrefix + platformID + "#" + pcid }

// putIf sets item[k] to v unless v is empty.
func putIf(item map[string]types.AttributeValue, k, v string) {
	if v != "" {
		item[k] = s(v)
	}
}

// dataItem is the part of r's item that updates may change: every
// attribute but the identity, the type, the creation and the reviews'
// (the owners' review attributes included). Empty values are absent.
func dataItem(r kyc.Customer) map[string]types.AttributeValue {
	item := map[string]types.AttributeValue{attrIsDeleted: &types.AttributeValueMemberBOOL{Value: r.IsDeleted}}
	for k, v := range map[string]string{attrEmail: r.Email, attrPhoneNumber: r.PhoneNumber, attrUmaAddress: r.UmaAddress,
		attrRegion: r.Region, attrFullName: r.FullName, attrBirthDate: r.BirthDate, attrNationality: r.Nationality,
		attrIDType: r.IDType} {
		putIf(item, k, v)
	}
	if len(r.Currencies) > 0 {
		item[attrCurrencies] = list(r.Currencies)
	}
	if r.Address != nil {
		item[attrAddress] = &types.AttributeValueMemberM{Value: addressItem(*r.Address)}
	}
	if len(r.Owners) > 0 {
		item[attrOwners] = ownersItem(r.Owners)
	}
	if r.BusinessInfo != nil {
		item[attrBusinessInfo] = &types.AttributeValueMemberM{Value: businessInfoItem(*r.BusinessInfo)}
	}
	if len(r.IdentifierSealed) > 0 {
		item[attrIdentifierSealed] = b(r.IdentifierSealed)
	}
	if len(r.TaxIDSealed) > 0 {
		item[attrTaxIDSealed] = b(r.TaxIDSealed)
	}
	if !r.DeletedAt.IsZero() {
		item[attrDeletedAt] = s(kyc.FormatTime(r.DeletedAt))
	}
	if !r.ExpiresAt.IsZero() {
		item[attrExpiresAt] = n(r.ExpiresAt.Unix())
	}
	cv := map[string]types.AttributeValue{}
	putIf(cv, "email", r.ContactVerification.Email)
	putIf(cv, "phone", r.ContactVerification.Phone)
	if len(cv) > 0 {
		item[attrContactVerification] = &types.AttributeValueMemberM{Value: cv}
	}
	return item
}

func businessInfoItem(bi kyc.BusinessInfo) map[string]types.AttributeValue {
	m := map[string]types.AttributeValue{}
	for k, v := range map[string]string{"legalName": bi.LegalName, "doingBusinessAs": bi.DoingBusinessAs, "country": bi.Country,
		"registrationNumber": bi.RegistrationNumber, "incorporatedOn": bi.IncorporatedOn, "entityType": bi.EntityType,
		"businessType": bi.BusinessType, "purposeOfAccount": bi.PurposeOfAccount, "sourceOfFunds": bi.SourceOfFunds,
		"expectedMonthlyTransactionCount": bi.ExpectedMonthlyTransactionCount, "expectedMonthlyTransactionVolume": bi.ExpectedMonthlyTransactionVolume,
		"naicsCode": bi.NaicsCode, "sourceOfFundsOtherDescription": bi.SourceOfFundsOtherDescription,
		"purposeOfAccountOtherDescription": bi.PurposeOfAccountOtherDescription,
		"primaryContactFirstName":          bi.PrimaryContactFirstName, "primaryContactLastName": bi.PrimaryContactLastName} {
		putIf(m, k, v)
	}
	for k, v := range map[string][]string{"countriesOfOperation": bi.CountriesOfOperation,
		"expectedRecipientJurisdictions": bi.ExpectedRecipientJurisdictions, "sourceOfFundsCategories": bi.SourceOfFundsCategories,
		"expectedCounterpartyCountries": bi.ExpectedCounterpartyCountries} {
		if len(v) > 0 {
			m[k] = list(v)
		}
	}
	return m
}

// CustomerItem is r's whole item, in the one format every reader of the
// customers table reads (the seed and make dev write theirs with it).
func CustomerItem(r kyc.Customer) map[string]types.AttributeValue { return newItem(r) }

// newItem is the whole item of a new customer. A customer no platform API
// call wrote (version 0: the seed's) has no version attribute.
func newItem(r kyc.Customer) map[string]types.AttributeValue {
	item := dataItem(r)
	item[attrID] = s(r.ID)
	item[attrPlatformID] = s(r.PlatformID)
	item[attrCustomerType] = s(string(r.Type))
	putIf(item, attrPlatformCustomerID, r.PlatformCustomerID)
	putIf(item, attrKYCStatus, string(r.KYCStatus))
	putIf(item, attrKYBStatus, string(r.KYBStatus))
	putIf(item, attrVerificationID, r.VerificationID)
	if !r.CreatedAt.IsZero() {
		item[attrCreatedAt] = s(kyc.FormatTime(r.CreatedAt))
		item[attrCreatedKey] = s(r.ListPosition())
	}
	if !r.UpdatedAt.IsZero() {
		item[attrUpdatedAt] = s(kyc.FormatTime(r.UpdatedAt))
	}
	if r.Version != 0 {
		item[attrVersion] = n(r.Version)
	}
	for _, o := range r.Owners {
		ownerReviewItem(item, o)
	}
	return item
}

// recordFromItem reads a customer item; an attribute of an unexpected type
// reads as absent rather than failing the request.
func recordFromItem(item map[string]types.AttributeValue) kyc.Customer {
	str := func(m map[string]types.AttributeValue, k string) string {
		if v, ok := m[k].(*types.AttributeValueMemberS); ok {
			return v.Value
		}
		return ""
	}
	bytes := func(k string) []byte {
		if v, ok := item[k].(*types.AttributeValueMemberB); ok {
			return v.Value
		}
		return nil
	}
	num := func(k string) int64 {
		if v, ok := item[k].(*types.AttributeValueMemberN); ok {
			i, _ := strconv.ParseInt(v.Value, 10, 64)
			return i
		}
		return 0
	}
	tm := func(k string) time.Time {
		t, err := time.Parse(time.RFC3339Nano, str(item, k))
		if err != nil {
			return time.Time{}
		}
		return t.UTC()
	}
	deleted, _ := item[attrIsDeleted].(*types.AttributeValueMemberBOOL)
	r := kyc.Customer{
		ID: str(item, attrID), PlatformID: str(item, attrPlatformID), PlatformCustomerID: str(item, attrPlatformCustomerID),
		Type: kyc.CustomerType(str(item, attrCustomerType)), KYCStatus: kyc.Status(str(item, attrKYCStatus)),
		KYBStatus: kyc.Status(str(item, attrKYBStatus)), UmaAddress: str(item, attrUmaAddress), Region: str(item, attrRegion),
		Currencies: strList(item, attrCurrencies), Email: str(item, attrEmail), PhoneNumber: str(item, attrPhoneNumber),
		FullName: str(item, attrFullName), BirthDate: str(item, attrBirthDate), Nationality: str(item, attrNationality),
		IDType: str(item, attrIDType), IdentifierSealed: bytes(attrIdentifierSealed), TaxIDSealed: bytes(attrTaxIDSealed),
		IsDeleted: deleted != nil && deleted.Value, CreatedAt: tm(attrCreatedAt), UpdatedAt: tm(attrUpdatedAt),
		DeletedAt: tm(attrDeletedAt), Version: num(attrVersion), RejectType: str(item, attrRejectType),
		RejectLabels: strList(item, attrRejectLabels), VerificationID: str(item, attrVerificationID),
	}
	if ms := num(attrLastReviewAt); ms != 0 {
		r.LastReviewAt = time.UnixMilli(ms).UTC()
	}
	if e := num(attrExpiresAt); e != 0 {
		r.ExpiresAt = time.Unix(e, 0).UTC()
	}
	if m, ok := item[attrAddress].(*types.AttributeValueMemberM); ok {
		a := addressFrom(m.Value)
		r.Address = &a
	}
	r.Owners = ownersFromItem(item)
	if m, ok := item[attrBusinessInfo].(*types.AttributeValueMemberM); ok {
		v := m.Value
		r.BusinessInfo = &kyc.BusinessInfo{LegalName: str(v, "legalName"), DoingBusinessAs: str(v, "doingBusinessAs"),
			Country: str(v, "country"), RegistrationNumber: str(v, "registrationNumber"), IncorporatedOn: str(v, "incorporatedOn"),
			EntityType: str(v, "entityType"), CountriesOfOperation: strList(v, "countriesOfOperation"),
			BusinessType: str(v, "businessType"), PurposeOfAccount: str(v, "purposeOfAccount"), SourceOfFunds: str(v, "sourceOfFunds"),
			ExpectedMonthlyTransactionCount:  str(v, "expectedMonthlyTransactionCount"),
			ExpectedMonthlyTransactionVolume: str(v, "expectedMonthlyTransactionVolume"),
			ExpectedRecipientJurisdictions:   strList(v, "expectedRecipientJurisdictions"), NaicsCode: str(v, "naicsCode"),
			SourceOfFundsCategories:          strList(v, "sourceOfFundsCategories"),
			SourceOfFundsOtherDescription:    str(v, "sourceOfFundsOtherDescription"),
			PurposeOfAccountOtherDescription: str(v, "purposeOfAccountOtherDescription"),
			ExpectedCounterpartyCountries:    strList(v, "expectedCounterpartyCountries"),
			PrimaryContactFirstName:          str(v, "primaryContactFirstName"), PrimaryContactLastName: str(v, "primaryContactLastName")}
	}
	if m, ok := item[attrContactVerification].(*types.AttributeValueMemberM); ok {
		r.ContactVerification = kyc.ContactVerification{Email: str(m.Value, "email"), Phone: str(m.Value, "phone")}
	}
	return r
}

// maxTransactItems is the most writes one TransactWriteItems takes.
const maxTransactItems = 100

// transactAPI is the call a store's transactions make.
type transactAPI interface {
	TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, opts ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error)
}

// transact runs items as one transaction. Each attempt has its own
// ClientRequestToken (requestToken: the SDK's re-sends of one attempt are
// idempotent, and no two writes share one); an attempt cancelled for a
// conflicting transaction (TransactionConflict) runs again after a
// doubling wait from backoff (10 ms when zero), up to transactAttempts.
// A transaction cancelled otherwise returns its reason codes and the
// items of its failed conditions (where ReturnValuesOnConditionCheckFailure
// asked for them) with the error; any other failure only the error.
func transact(ctx context.Context, client transactAPI, items []types.TransactWriteItem, backoff time.Duration) (codes []string, old []map[string]types.AttributeValue, err error) {
	if backoff == 0 {
		backoff = 10 * time.Millisecond
	}
	for attempt := 0; ; attempt++ {
		_, err := client.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items, ClientRequestToken: requestToken()})
		if err == nil {
			return nil, nil, nil
		}
		codes, old, cancelled := reasons(err)
		if !cancelled {
			return nil, nil, err
		}
		if !slices.Contains(codes, "TransactionConflict") || slices.Contains(codes, "ConditionalCheckFailed") || attempt+1 >= transactAttempts {
			return codes, old, err
		}
		t := time.NewTimer(backoff << attempt)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, nil, ctx.Err()
		case <-t.C:
		}
	}
}

// failedAt reports whether the condition of a transaction's write i
// failed.
func failedAt(codes []string, i int) bool { return codeAt(codes, i) == "ConditionalCheckFailed" }

// oldAt is the item the failed condition of write i returned (nil where
// none was asked for, or the emulator gives none).
func oldAt(old []map[string]types.AttributeValue, i int) map[string]types.AttributeValue {
	if i < len(old) {
		return old[i]
	}
	return nil
}

// strList reads a list of strings (nil when absent).
func strList(it map[string]types.AttributeValue, k string) []string {
	l, ok := it[k].(*types.AttributeValueMemberL)
	if !ok {
		return nil
	}
	var out []string
	for _, v := range l.Value {
		if sv, ok := v.(*types.AttributeValueMemberS); ok {
			out = append(out, sv.Value)
		}
	}
	return out
}
