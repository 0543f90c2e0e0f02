package app_test

import (
	"encoding/json"
	"os/exec"
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

// translated is template.yaml as `sam deploy` would create it: run through
// aws-sam-translator (which ships with cfn-lint, so with make test).
func translated(t *testing.T) map[string]struct {
	Type       string         `json:"Type"`
	Properties map[string]any `json:"Properties"`
} {
	t.Helper()
	out, err := exec.Command("python3", "../../scripts/translate-template.py", "../../template.yaml").Output()
	if err != nil {
		t.Fatalf("aws-sam-translator (it ships with cfn-lint on this project's machine image) is needed to translate the template: %v", err)
	}
	var doc struct {
		Resources map[string]struct {
			Type       string         `json:"Type"`
			Properties map[string]any `json:"Properties"`
		} `json:"Resources"`
	}
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatalf("translator output: %v", err)
	}
	return doc.Resources
}

// TestDeployedTemplate: the stack has exactly one API stage (no SAM
// "Stage" stage without throttling) and an alarm for each failure an
// operator must hear of, each notifying the optional topic.
func TestDeployedTemplate(t *testing.T) {
	res := translated(t)
	var stages []string
	for name, r := range res {
		switch r.Type {
		case "AWS::ApiGateway::Stage":
			stages = append(stages, name)
		case "AWS::ApiGateway::Deployment":
			if sn, ok := r.Properties["StageName"]; ok {
				t.Errorf("deployment %s creates stage %v besides the configured one", name, sn)
			}
		}
	}
	if len(stages) != 1 {
		t.Errorf("stages %v; want exactly one", stages)
	}
	want := []string{"Api5xxAlarm", "SumsubFailureAlarm", "WebhookDeadLetterAlarm", "WebhookQueueDLQAlarm"}
	for _, fn := range []string{"KycLinkFunction", "SumsubWebhookFunction", "WebhookRelayFunction", "WebhookDeliveryFunction"} {
		want = append(want, fn+"ErrorsAlarm", fn+"ThrottlesAlarm")
	}
	for _, name := range want {
		r, ok := res[name]
		if !ok || r.Type != "AWS::CloudWatch::Alarm" {
			t.Errorf("no alarm %s", name)
			continue
		}
		if _, ok := r.Properties["AlarmActions"]; !ok {
			t.Errorf("alarm %s notifies nobody", name)
		}
	}
	if r := res["SumsubFailureMetric"]; r.Type != "AWS::Logs::MetricFilter" {
		t.Error("no metric filter feeding SumsubFailureAlarm")
	}
}
