package customers

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/grid-kyc/kyc-link/pkg/awsstore"
	"github.com/grid-kyc/kyc-link/pkg/kyc"
)

// GetItemAPI is the one DynamoDB call the store makes; the function's IAM
// policy grants nothing more on the customers table.
type GetItemAPI interface {
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
}

// DynamoDB reads customers from a table keyed by id (S).
type DynamoDB struct {
	Client GetItemAPI
	Table  string
}

var _ kyc.CustomerStore = (*DynamoDB)(nil)

func (d *DynamoDB) FindCustomer(ctx context.Context, id string) (kyc.Customer, error) {
	out, err := d.Client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(d.Table),
		Key:       map[string]types.AttributeValue{"id": &types.AttributeValueMemberS{Value: id}},
		// A customer created a moment ago must be found.
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return kyc.Customer{}, awsstore.Outage(kyc.DepStore, "The customer store is temporarily unavailable.", fmt.Errorf("get customer from table %s: %w", d.Table, err))
	}
	if out.Item == nil {
		return kyc.Customer{}, kyc.CustomerNotFound()
	}
	return customerFromItem(id, out.Item), nil
}

// warmUpID is a key no customer has (customer ids are validated to exclude
// spaces).
const warmUpID = "kyc-link warm-up"

// Warm opens a connection to DynamoDB before the first request needs it,
// with an eventually consistent read of a key no customer has (half a read
// unit).
func (d *DynamoDB) Warm(ctx context.Context) error {
	_, err := d.Client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(d.Table),
		Key:       map[string]types.AttributeValue{"id": &types.AttributeValueMemberS{Value: warmUpID}},
	})
	if err != nil {
		return fmt.Errorf("warm up customers table: %w", err)
	}
	return nil
}

// customerFromItem reads the attributes it knows; an attribute of an
// unexpected type reads as absent rather than failing the request.
func customerFromItem(id string, item map[string]types.AttributeValue) kyc.Customer {
	str := func(name string) string {
		if v, ok := item[name].(*types.AttributeValueMemberS); ok {
			return v.Value
		}
		return ""
	}
	deleted, _ := item["isDeleted"].(*types.AttributeValueMemberBOOL)
	c := kyc.Customer{
		ID:                 id,
		PlatformID:         str("platformId"),
		Type:               kyc.CustomerType(str("customerType")),
		KYCStatus:          str("kycStatus"),
		KYBStatus:          str("kybStatus"),
		Email:              str("email"),
		PhoneNumber:        str("phoneNumber"),
		PlatformCustomerID: str("platformCustomerId"),
		UmaAddress:         str("umaAddress"),
		Region:             str("region"),
		IsDeleted:          deleted != nil && deleted.Value,
		CreatedAt:          str("createdAt"),
	}
	if m, ok := item["contactVerification"].(*types.AttributeValueMemberM); ok {
		get := func(k string) string {
			if v, ok := m.Value[k].(*types.AttributeValueMemberS); ok {
				return v.Value
			}
			return ""
		}
		c.ContactVerification = kyc.ContactVerification{Email: get("email"), Phone: get("phone")}
	}
	if t, err := time.Parse(time.RFC3339, str(attrUpdatedAt)); err == nil {
		c.UpdatedAt = t
	}
	if v, ok := item[attrLastReviewAt].(*types.AttributeValueMemberN); ok {
		if ms, err := strconv.ParseInt(v.Value, 10, 64); err == nil {
			c.LastReviewAt = time.UnixMilli(ms).UTC()
		}
	}
	return c
}
