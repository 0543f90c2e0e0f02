//go:build integration

package app_test

import (
	"encoding/json"
	"maps"
	"net/http"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/grid-kyc/kyc-link/internal/contract"
	"github.com/grid-kyc/kyc-link/pkg/telemetry"
)

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

	// Tracing: X-Ray on the stage and every function (with the permission
	// to write), and every function told where to send its spans.
	if on, _ := res["KycApiStage"].Properties["TracingEnabled"].(bool); !on {
		t.Error("the stage does not trace (TracingEnabled)")
	}
	functions := 0
	for name, r := range res {
		if r.Type != "AWS::Lambda::Function" {
			continue
		}
		functions++
		if mode, _ := r.Properties["TracingConfig"].(map[string]any); mode["Mode"] != "Active" {
			t.Errorf("%s: TracingConfig %v, want Active", name, mode)
		}
		if _, ok := r.Properties["Layers"]; !ok {
			t.Errorf("%s: no place for the collector layer", name)
		}
		env, _ := r.Properties["Environment"].(map[string]any)
		vars, _ := env["Variables"].(map[string]any)
		if _, ok := vars["OTEL_EXPORTER_OTLP_ENDPOINT"]; !ok {
			t.Errorf("%s: no OTEL_EXPORTER_OTLP_ENDPOINT", name)
		}
		policies, _ := res[name+"Role"].Properties["ManagedPolicyArns"].([]any)
		if !slices.Contains(policies, any("arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess")) {
			t.Errorf("%s: its role may not write to X-Ray: %v", name, policies)
		}
	}
	if functions != 4 {
		t.Errorf("%d functions, want 4", functions)
	}
}

// TestGatewayResponses: what API Gateway answers itself (it throttled, no
// route matched, the function could not answer) is in the Grid error shape
// with a status the contract declares, carries the request id, and tells
// a client when to retry. Each template is rendered the way API Gateway
// renders gateway responses: $context variables substituted, nothing else
// ($context.error.messageString arrives as a quoted JSON string).
func TestGatewayResponses(t *testing.T) {
	api := translated(t)["KycApi"]
	body, _ := api.Properties["Body"].(map[string]any)
	responses, _ := body["x-amazon-apigateway-gateway-responses"].(map[string]any)
	const rid = "c6af9ac6-7b61-11e6-9a41-93e8deadbeef"
	render := strings.NewReplacer(
		"$context.requestId", rid,
		"$context.error.messageString", `"Request Too Long: \"x\" over the limit"`,
		"$context.error.responseType", "REQUEST_TOO_LARGE",
	)
	for _, tc := range []struct {
		responseType string
		status       int
		code         string
		retryAfter   string // "" when a retry cannot help
	}{
		{"THROTTLED", 429, "RATE_LIMITED", "1"},
		{"MISSING_AUTHENTICATION_TOKEN", 404, "NOT_FOUND", ""},
		{"RESOURCE_NOT_FOUND", 404, "NOT_FOUND", ""},
		{"DEFAULT_4XX", 400, "INVALID_INPUT", ""},
		{"API_CONFIGURATION_ERROR", 500, "INTERNAL_ERROR", ""},
		{"INTEGRATION_FAILURE", 503, "SERVICE_UNAVAILABLE", "1"},
		{"INTEGRATION_TIMEOUT", 503, "SERVICE_UNAVAILABLE", "1"},
		{"DEFAULT_5XX", 503, "SERVICE_UNAVAILABLE", "1"},
	} {
		t.Run(tc.responseType, func(t *testing.T) {
			var gr struct {
				StatusCode         string            `json:"statusCode"`
				ResponseParameters map[string]string `json:"responseParameters"`
				ResponseTemplates  map[string]string `json:"responseTemplates"`
			}
			raw, ok := responses[tc.responseType]
			if !ok {
				t.Fatalf("no gateway response %s", tc.responseType)
			}
			b, _ := json.Marshal(raw)
			if err := json.Unmarshal(b, &gr); err != nil {
				t.Fatal(err)
			}
			if gr.StatusCode != strconv.Itoa(tc.status) {
				t.Errorf("statusCode %q, want %d", gr.StatusCode, tc.status)
			}
			header := http.Header{"Content-Type": {"application/json"}}
			for k, v := range gr.ResponseParameters {
				name, ok := strings.CutPrefix(k, "gatewayresponse.header.")
				if !ok || len(v) < 2 || v[0] != '\'' || v[len(v)-1] != '\'' {
					t.Fatalf("parameter %s=%s: want a static header", k, v)
				}
				header.Set(name, v[1:len(v)-1])
			}
			if got := header.Get("Retry-After"); got != tc.retryAfter {
				t.Errorf("Retry-After %q, want %q", got, tc.retryAfter)
			}
			out := render.Replace(gr.ResponseTemplates["application/json"])
			if strings.Contains(out, "$") {
				t.Fatalf("a variable API Gateway would not substitute is left: %s", out)
			}
			var got struct {
				Status  int            `json:"status"`
				Code    string         `json:"code"`
				Details map[string]any `json:"details"`
			}
			if err := json.Unmarshal([]byte(out), &got); err != nil {
				t.Fatalf("rendered body is not JSON: %v\n%s", err, out)
			}
			if got.Status != tc.status || got.Code != tc.code || got.Details["requestId"] != rid {
				t.Errorf("body %s: want status %d, code %s, details.requestId", out, tc.status, tc.code)
			}
			if err := contract.CheckResponse(tc.status, header, []byte(out)); err != nil {
				t.Error(err)
			}
		})
	}
	// A wrong method on a known path reaches the function (its 405 names
	// the allowed method) instead of the gateway's answer for no route.
	paths, _ := body["paths"].(map[string]any)
	for _, p := range []string{"/customers/{customerId}/kyc-link", "/webhooks/sumsub"} {
		item, _ := paths[p].(map[string]any)
		if _, ok := item["x-amazon-apigateway-any-method"]; !ok || len(item) != 1 {
			t.Errorf("%s: methods %v, want any method to reach the function", p, slices.Collect(maps.Keys(item)))
		}
	}
}

// TestDashboard: the dashboard's body is valid JSON once CloudFormation has
// substituted it, and it shows what the code emits under the names the
// code uses (a renamed metric fails here, not on an empty graph).
func TestDashboard(t *testing.T) {
	sub, _ := translated(t)["Dashboard"].Properties["DashboardBody"].(map[string]any)
	body, _ := sub["Fn::Sub"].(string)
	if body == "" {
		t.Fatal("no dashboard body")
	}
	rendered := regexp.MustCompile(`\$\{[^}]+\}`).ReplaceAllString(body, "value")
	var dash struct {
		Widgets []struct {
			Properties struct {
				Title   string  `json:"title"`
				Metrics [][]any `json:"metrics"`
			} `json:"properties"`
		} `json:"widgets"`
	}
	if err := json.Unmarshal([]byte(rendered), &dash); err != nil {
		t.Fatalf("dashboard body is not JSON: %v\n%s", err, rendered)
	}
	for _, w := range dash.Widgets {
		if w.Properties.Title == "" || len(w.Properties.Metrics) == 0 {
			t.Errorf("widget %+v has no title or no metrics", w.Properties)
		}
	}
	for _, want := range []string{
		`{` + telemetry.Namespace + `,Outcome} MetricName=\"Requests\"`,
		`MetricName=\"` + telemetry.SumsubLatency + `\"`,
		`MetricName=\"` + telemetry.DynamoDBLatency + `\"`,
		`"KycLink", "WebhookDeadLetters"`, `"KycLink", "SumsubFailures"`,
		"${KycLinkFunction}", "${SumsubWebhookFunction}", "${WebhookRelayFunction}", "${WebhookDeliveryFunction}",
		"${WebhookQueue.QueueName}", `"${AWS::StackName}-KycApi"`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("the dashboard does not show %s", want)
		}
	}
}
