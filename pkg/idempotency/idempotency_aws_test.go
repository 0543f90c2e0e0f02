//go:build integration

package idempotency_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/grid-kyc/kyc-link/internal/ddbcount"
	"github.com/grid-kyc/kyc-link/internal/motoserver"
	"github.com/grid-kyc/kyc-link/internal/motostack"
	"github.com/grid-kyc/kyc-link/pkg/awsstore"
	"github.com/grid-kyc/kyc-link/pkg/idempotency"
)

var moto *motoserver.Server

func TestMain(m *testing.M) { os.Exit(motoserver.Main(m, &moto)) }

// dynamoStore returns a store on a fresh table of a moto shared by the
// package's tests.
func dynamoStore(t testing.TB, dropOld bool) (*awsstore.Idempotency, *ddbcount.Client) {
	t.Helper()
	moto := moto.Need(t)
	name := motostack.New(t, moto, motostack.Options{Only: []string{"IdempotencyTable"}}).Names["IdempotencyTable"]
	db := &ddbcount.Client{API: moto.DynamoDB(), DropOld: dropOld}
	return &awsstore.Idempotency{Client: db, Table: name}, db
}

func init() {
	for _, dropOld := range []bool{false, true} {
		name := "dynamodb"
		if dropOld {
			name = "dynamodb-without-ALL_OLD"
		}
		awsBackends = append(awsBackends, struct {
			name  string
			store func(t *testing.T) idempotency.Store
		}{name, func(t *testing.T) idempotency.Store {
			s, _ := dynamoStore(t, dropOld)
			return s
		}})
	}
}

func TestDynamoDBStore(t *testing.T) {
	testStore(t, func(t *testing.T) store {
		s, _ := dynamoStore(t, false)
		return s
	})
}

// TestDynamoDBCallsPerRequest pins the round trips: first request 2
// (acquire, complete), replay 1, and the GetItem fallback only when the
// emulator drops ALL_OLD.
func TestDynamoDBCallsPerRequest(t *testing.T) {
	for _, tc := range []struct {
		name                  string
		dropOld               bool
		wantFirst, wantReplay int64
	}{
		{"ALL_OLD", false, 2, 1},
		{"GetItem fallback", true, 2, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, db := dynamoStore(t, tc.dropOld)
			g := &idempotency.Guard{Secret: secret, Store: s}
			ctx := withDeadline(t, 5*time.Second)
			fn := func(context.Context, string) idempotency.Response { return created("x") }
			g.Do(ctx, "p", "k", pl("fp"), fn)
			if got := db.Total(); got != tc.wantFirst {
				t.Errorf("first request: %d DynamoDB calls; want %d", got, tc.wantFirst)
			}
			db.Reset()
			if _, replayed, _ := g.Do(ctx, "p", "k", pl("fp"), fn); !replayed {
				t.Fatal("not replayed")
			}
			if got := db.Total(); got != tc.wantReplay {
				t.Errorf("replay: %d DynamoDB calls; want %d", got, tc.wantReplay)
			}
		})
	}
}
