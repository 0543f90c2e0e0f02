// Package ddbcount wraps a DynamoDB client to count its calls, for tests and
// benchmarks that pin how many round trips a request costs. It can also
// drop the item a failed condition returns, as some emulators do.
package ddbcount

import (
	"context"
	"errors"
	"sync/atomic"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/grid-kyc/kyc-link/pkg/awsstore"
)

// API is the item calls the project makes.
type API = awsstore.IdempotencyAPI

// Client counts calls to the API it wraps.
type Client struct {
	API
	// DropOld removes the item from ConditionalCheckFailedException (of
	// PutItem, UpdateItem and DeleteItem).
	DropOld                   bool
	Puts, Gets, Updates, Dels atomic.Int64
}

// Total is every call so far.
func (c *Client) Total() int64 {
	return c.Puts.Load() + c.Gets.Load() + c.Updates.Load() + c.Dels.Load()
}

// Reset zeroes the counts.
func (c *Client) Reset() {
	c.Puts.Store(0)
	c.Gets.Store(0)
	c.Updates.Store(0)
	c.Dels.Store(0)
}

func (c *Client) PutItem(ctx context.Context, in *dynamodb.PutItemInput, o ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	c.Puts.Add(1)
	out, err := c.API.PutItem(ctx, in, o...)
	c.drop(err)
	return out, err
}

// drop removes the item a failed condition returned, when DropOld is set.
func (c *Client) drop(err error) {
	var ccf *types.ConditionalCheckFailedException
	if c.DropOld && errors.As(err, &ccf) {
		ccf.Item = nil
	}
}

func (c *Client) GetItem(ctx context.Context, in *dynamodb.GetItemInput, o ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	c.Gets.Add(1)
	return c.API.GetItem(ctx, in, o...)
}

func (c *Client) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, o ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	c.Updates.Add(1)
	out, err := c.API.UpdateItem(ctx, in, o...)
	c.drop(err)
	return out, err
}

func (c *Client) DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, o ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error) {
	c.Dels.Add(1)
	out, err := c.API.DeleteItem(ctx, in, o...)
	c.drop(err)
	return out, err
}
