//go:build integration

package sqsqueue_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/grid-kyc/kyc-link/internal/motoserver"
	"github.com/grid-kyc/kyc-link/internal/motostack"
	"github.com/grid-kyc/kyc-link/pkg/awsstore/sqsqueue"
	"github.com/grid-kyc/kyc-link/pkg/webhooks"
)

var moto *motoserver.Server

func TestMain(m *testing.M) { os.Exit(motoserver.Main(m, &moto)) }

// TestQueueOnSQS: what is sent is received, each message once while it is
// hidden, with its receive count; a message made visible again comes back
// counted once more; a deleted one never comes back.
func TestQueueOnSQS(t *testing.T) {
	srv := moto.Need(t)
	ctx := context.Background()
	q := &sqsqueue.Queue{Client: srv.SQS(), URL: motostack.New(t, srv, motostack.Options{Only: []string{"WebhookQueue"}}).Names["WebhookQueue"]}
	sent := bodies(12)
	if err := q.Send(ctx, sent); err != nil {
		t.Fatal(err)
	}
	// receiveAll receives until n messages came, hiding each for a minute.
	receiveAll := func(n int) map[string]webhooks.Received {
		t.Helper()
		got := map[string]webhooks.Received{}
		for end := time.Now().Add(20 * time.Second); len(got) < n; {
			if time.Now().After(end) {
				t.Fatalf("received %d of %d messages", len(got), n)
			}
			msgs, err := q.Receive(ctx, 10, time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range msgs {
				if _, dup := got[m.Body]; dup {
					t.Fatalf("%s received twice while hidden", m.Body)
				}
				got[m.Body] = m
			}
		}
		return got
	}
	got := receiveAll(len(sent))
	for _, b := range sent {
		m, ok := got[string(b)]
		if !ok || m.ID == "" || m.Receipt == "" || m.Receives != 1 {
			t.Fatalf("%s received as %+v; want it once, first receive, with its id and receipt", b, m)
		}
	}
	again, gone := got[string(sent[0])], got[string(sent[1])]
	if err := q.ChangeVisibility(ctx, again.Receipt, 0); err != nil {
		t.Fatal(err)
	}
	if err := q.Delete(ctx, gone.Receipt); err != nil {
		t.Fatal(err)
	}
	back := receiveAll(1)
	if m := back[string(sent[0])]; len(back) != 1 || m.ID != again.ID || m.Receives != 2 {
		t.Fatalf("after ChangeVisibility(0) received %+v; want %s back, its second receive", back, again.ID)
	}
	for _, m := range got {
		if m.ID != again.ID && m.ID != gone.ID {
			if err := q.ChangeVisibility(ctx, m.Receipt, 0); err != nil {
				t.Fatal(err)
			}
		}
	}
	rest := receiveAll(len(sent) - 2)
	if _, ok := rest[string(sent[1])]; ok {
		t.Fatalf("the deleted message came back")
	}
}
