package app_test

import (
	"slices"
	"testing"

	"github.com/grid-kyc/kyc-link/internal/samtemplate"
)

// TestTemplateWiring: every function gets, through Environment in
// template.yaml, each table, queue and secret name its code reads, and every
// table and queue the template makes reaches some function.
func TestTemplateWiring(t *testing.T) {
	tpl, err := samtemplate.Load("../../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	env := tpl.Env
	stores := slices.Clone(tpl.Queues)
	for _, tbl := range tpl.Tables {
		stores = append(stores, tbl.LogicalID)
	}
	for fn, want := range map[string][]string{
		"KycLinkFunction":         {"CUSTOMERS_TABLE", "IDEMPOTENCY_TABLE", "API_TOKENS_SECRET_ID", "SUMSUB_SECRET_ID", "RATE_LIMIT_TABLE", "PLATFORMS_TABLE"},
		"SumsubWebhookFunction":   {"CUSTOMERS_TABLE", "WEBHOOK_OUTBOX_TABLE", "SUMSUB_SECRET_ID"},
		"WebhookRelayFunction":    {"WEBHOOK_OUTBOX_TABLE", "WEBHOOK_QUEUE_URL"},
		"WebhookDeliveryFunction": {"PLATFORMS_TABLE", "WEBHOOK_DEAD_LETTER_TABLE", "WEBHOOK_QUEUE_URL", "WEBHOOK_SIGNING_KEY_SECRET_ID"},
	} {
		for _, k := range want {
			if env[fn][k] == "" {
				t.Errorf("%s: Environment lacks %s", fn, k)
			}
		}
	}
	var referenced []string
	for _, vars := range env {
		for _, ref := range vars {
			referenced = append(referenced, ref)
		}
	}
	for _, s := range stores {
		if s == "WebhookQueueDLQ" {
			continue // the queue's own dead-letter queue: read by operators, not code
		}
		if !slices.Contains(referenced, s) {
			t.Errorf("%s reaches no function through Environment", s)
		}
	}
}
