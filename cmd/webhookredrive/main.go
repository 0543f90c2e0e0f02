// Command webhookredrive (make redrive-webhooks) lists the dead-lettered
// Grid webhooks and, with -redrive, queues them again: same id and body, a
// fresh retry window. It reads the same environment as the functions
// (WEBHOOK_DEAD_LETTER_TABLE, WEBHOOK_QUEUE_URL, and the AWS SDK's own).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/grid-kyc/kyc-link/pkg/awsstore"
	"github.com/grid-kyc/kyc-link/pkg/awsstore/sqsqueue"
	"github.com/grid-kyc/kyc-link/pkg/webhooks"
)

func main() {
	redrive := flag.Bool("redrive", false, "queue every dead letter again (otherwise only list them)")
	flag.Parse()
	if err := run(*redrive); err != nil {
		fmt.Fprintln(os.Stderr, "webhookredrive:", err)
		os.Exit(1)
	}
}

func run(redrive bool) error {
	table, queue := os.Getenv("WEBHOOK_DEAD_LETTER_TABLE"), os.Getenv("WEBHOOK_QUEUE_URL")
	if table == "" || (redrive && queue == "") {
		return fmt.Errorf("set WEBHOOK_DEAD_LETTER_TABLE (and WEBHOOK_QUEUE_URL to redrive); the stack's outputs name both")
	}
	ctx := context.Background()
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return err
	}
	store := &awsstore.DeadLetters{Client: dynamodb.NewFromConfig(cfg), Table: table}
	letters, err := store.List(ctx)
	if err != nil {
		return err
	}
	for _, dl := range letters {
		fmt.Printf("%s  %s  platform %s  %d attempts  dead %s  last error: %s\n", dl.Notice.ID, dl.Notice.Type,
			dl.Notice.PlatformID, dl.Attempts, dl.DeadAt.Format(time.RFC3339), dl.LastError)
	}
	if !redrive {
		fmt.Printf("%d dead letters; run with -redrive to queue them again\n", len(letters))
		return nil
	}
	n, err := webhooks.Redrive(ctx, store, &webhooks.Relay{Queue: &sqsqueue.Queue{Client: sqs.NewFromConfig(cfg), URL: queue}}, time.Now())
	fmt.Printf("queued %d of %d again\n", n, len(letters))
	return err
}
