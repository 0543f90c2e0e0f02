package awsstore

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/grid-kyc/kyc-link/pkg/kyc"
)

// Direct uploads (kyc.UploadRecords) live in the documents table beside
// the documents: pk the upload's id (DocumentUpload:…), sk "upload", the
// platform, the holder, the file's key, and expiresAt (the table's TTL):
// a day after the form's end, long enough to complete late and to be
// found by a repeated completion.
const (
	uploadSortKey  = "upload"
	uploadFileKey  = "fileKey"
	uploadHolder   = "holder"
	uploadCreated  = "createdAtMs"
	uploadFormEnds = "formEndsAtMs"
	uploadExpires  = "expiresAt"
	uploadDone     = "completedAtMs"
	uploadKeep     = 24 * time.Hour
)

var _ kyc.UploadRecords = (*Documents)(nil)

func (d *Documents) PutUpload(ctx context.Context, u kyc.Upload) error {
	_, err := d.Client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(d.Table), Item: map[string]types.AttributeValue{
		"pk": s(u.ID), "sk": s(uploadSortKey), attrPlatformID: s(u.PlatformID), uploadHolder: s(u.Holder),
		uploadFileKey: s(u.FileKey), uploadCreated: n(u.CreatedAt.UnixMilli()), uploadFormEnds: n(u.ExpiresAt.UnixMilli()),
		uploadExpires: n(u.ExpiresAt.Add(uploadKeep).Unix()),
	}})
	if err != nil {
		return d.outage("put upload", err)
	}
	return nil
}

func (d *Documents) UploadRecord(ctx context.Context, id string) (kyc.Upload, error) {
	out, err := d.Client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(d.Table), ConsistentRead: aws.Bool(true),
		Key: map[string]types.AttributeValue{"pk": s(id), "sk": s(uploadSortKey)}})
	if err != nil {
		return kyc.Upload{}, d.outage("get upload", err)
	}
	it := out.Item
	if it == nil {
		return kyc.Upload{}, kyc.UploadNotFound()
	}
	u := kyc.Upload{ID: id, PlatformID: str(it, attrPlatformID), Holder: str(it, uploadHolder), FileKey: str(it, uploadFileKey),
		CreatedAt: ms(it, uploadCreated), ExpiresAt: ms(it, uploadFormEnds), Completed: it[uploadDone] != nil}
	if u.PlatformID == "" || u.FileKey == "" {
		return kyc.Upload{}, kyc.Internal(fmt.Errorf("awsstore: upload %s lacks its platform or file key", id))
	}
	return u, nil
}

// uploadCompleted marks direct upload id completed at at, in the
// transaction of the document's insert (the first completion only). The
// item is there (the completion read it); were it gone, the mark carries
// its own expiry.
func uploadCompleted(table, id string, at time.Time) types.TransactWriteItem {
	return types.TransactWriteItem{Update: &types.Update{TableName: aws.String(table),
		Key:                      map[string]types.AttributeValue{"pk": s(id), "sk": s(uploadSortKey)},
		UpdateExpression:         aws.String("SET #d = if_not_exists(#d, :at), #e = if_not_exists(#e, :exp)"),
		ExpressionAttributeNames: map[string]string{"#d": uploadDone, "#e": uploadExpires},
		ExpressionAttributeValues: map[string]types.AttributeValue{":at": n(at.UnixMilli()),
			":exp": n(at.Add(uploadKeep).Unix())}}}
}
