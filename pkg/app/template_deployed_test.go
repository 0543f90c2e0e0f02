//go:build integration

package app_test

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"os/exec"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/grid-kyc/kyc-link/internal/contract"
	"github.com/grid-kyc/kyc-link/pkg/awsstore"
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
	want := []string{"Api5xxAlarm", "SumsubFailureAlarm", "WebhookDeadLetterAlarm", "WebhookQueueDLQAlarm", "PlatformApiInternalErrorAlarm", "ContactDeliveryFailureAlarm",
		"SubmissionDeadLetterAlarm", "SubmissionQueueAgeAlarm"}
	for _, fn := range []string{"KycLinkFunction", "PlatformApiFunction", "SumsubWebhookFunction", "WebhookRelayFunction", "WebhookDeliveryFunction", "VerificationSubmitFunction"} {
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
	for _, name := range []string{"SumsubFailureMetric", "PlatformApiInternalErrorMetric", "PlatformApiLatencyMetric", "PlatformApi5xxMetric", "SubmissionOutcomeMetric"} {
		if r := res[name]; r.Type != "AWS::Logs::MetricFilter" {
			t.Errorf("no metric filter %s", name)
		}
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
	if functions != 6 {
		t.Errorf("%d functions, want 6", functions)
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
	for _, p := range []string{"/customers/{customerId}/kyc-link", "/webhooks/sumsub",
		"/customers", "/customers/{customerId}", "/config", "/sandbox/webhooks/test"} {
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
		"${KycLinkFunction}", "${SumsubWebhookFunction}", "${WebhookRelayFunction}", "${WebhookDeliveryFunction}", "${PlatformApiFunction}",
		"${VerificationSubmitFunction}", "${SubmissionQueue.QueueName}", "${SubmissionDeadLetterQueue.QueueName}",
		`{KycLink,Outcome} MetricName=\"Submissions\"`,
		`{KycLink,Route} MetricName=\"PlatformApiLatency\"`, `{KycLink,Route} MetricName=\"PlatformApi5xx\"`,
		`"KycLink", "PlatformApiInternalErrors"`, `"KycLink", "ContactDeliveryFailures"`,
		"${WebhookQueue.QueueName}", `"${AWS::StackName}-KycApi"`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("the dashboard does not show %s", want)
		}
	}
}

// grants are the role's Allow statements as "action resource" pairs
// (resources as written: a Ref's name, a GetAtt's "Id.Attr", a Sub's
// string).
func grants(t *testing.T, role map[string]any) []string {
	t.Helper()
	var out []string
	policies, _ := role["Policies"].([]any)
	for _, p := range policies {
		doc, _ := p.(map[string]any)["PolicyDocument"].(map[string]any)
		stmts, _ := doc["Statement"].([]any)
		for _, s := range stmts {
			st, _ := s.(map[string]any)
			if st["Effect"] != "Allow" {
				continue
			}
			for _, a := range list(st["Action"]) {
				for _, r := range list(st["Resource"]) {
					out = append(out, fmt.Sprint(a)+" "+resourceName(r))
				}
			}
		}
	}
	slices.Sort(out)
	return out
}

// list is a policy field that may be one value or a list.
func list(v any) []any {
	if l, ok := v.([]any); ok {
		return l
	}
	return []any{v}
}

func resourceName(v any) string {
	if m, ok := v.(map[string]any); ok {
		if ref, ok := m["Ref"].(string); ok {
			return ref
		}
		if ga, ok := m["Fn::GetAtt"].([]any); ok && len(ga) == 2 {
			return fmt.Sprintf("%v.%v", ga[0], ga[1])
		}
		if sub, ok := m["Fn::Sub"].(string); ok {
			return sub
		}
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// checkContactSending: the platform API's role may publish SMS but no
// topic (a Deny on every topic beside the Allow on "*"), and, only when
// ContactEmailFrom is set, send email only through the sender's identity
// (and configuration set) and only as that address.
func checkContactSending(t *testing.T, role map[string]any) {
	t.Helper()
	raw, _ := json.Marshal(role["Policies"])
	var policies []map[string]any
	json.Unmarshal(raw, &policies)
	denied, ses := false, false
	for _, p := range policies {
		if cond, ok := p["Fn::If"].([]any); ok && len(cond) == 3 {
			// The SES statement, present only with a sender.
			body, _ := json.Marshal(cond[1])
			ses = cond[0] == "HasContactEmail" && strings.Contains(string(body), `"Action":"ses:SendEmail"`) &&
				strings.Contains(string(body), `identity/${Identity}`) && strings.Contains(string(body), `configuration-set/${ContactEmailConfigurationSet}`) &&
				strings.Contains(string(body), `"ses:FromAddress":{"Ref":"ContactEmailFrom"}`) &&
				fmt.Sprint(cond[2]) == "map[Ref:AWS::NoValue]"
			continue
		}
		doc, _ := p["PolicyDocument"].(map[string]any)
		stmts, _ := doc["Statement"].([]any)
		for _, s := range stmts {
			st, _ := s.(map[string]any)
			if st["Effect"] == "Deny" && st["Action"] == "sns:Publish" && resourceName(st["Resource"]) == "arn:${AWS::Partition}:sns:*:*:*" {
				denied = true
			}
		}
	}
	if !denied {
		t.Error("PlatformApiFunctionRole may sns:Publish to topics: want a Deny on arn:${AWS::Partition}:sns:*:*:*")
	}
	if !ses {
		t.Errorf("PlatformApiFunctionRole: want ses:SendEmail only if HasContactEmail, on the sender's identity and configuration set, as ContactEmailFrom; policies %s", raw)
	}
}

// kmsCryptoActions are what the customer data key must grant nobody but
// the platform API's role (Encrypt) and the submission function's
// (Decrypt): using the key, or letting others use it.
var kmsCryptoActions = []string{"kms:Encrypt", "kms:Decrypt", "kms:ReEncryptFrom", "kms:ReEncryptTo",
	"kms:GenerateDataKey", "kms:GenerateDataKeyWithoutPlaintext", "kms:GenerateDataKeyPair",
	"kms:GenerateDataKeyPairWithoutPlaintext", "kms:CreateGrant", "kms:ImportKeyMaterial"}

// TestDeployedLeastPrivilege: each function's role holds what its code calls and
// nothing more, as the stack is deployed. The platform API's is pinned
// whole; the link function reads customers and never writes them; no role
// uses KMS through IAM, and the customer data key's own policy lets the
// platform API's role Encrypt and the submission function's role Decrypt,
// each only with the customer and platform in the encryption context, and
// nobody else either.
func TestDeployedLeastPrivilege(t *testing.T) {
	res := translated(t)
	got := grants(t, res["PlatformApiFunctionRole"].Properties)
	want := []string{
		"dynamodb:DeleteItem CustomersTable.Arn", "dynamodb:GetItem CustomersTable.Arn",
		"dynamodb:PutItem CustomersTable.Arn", "dynamodb:UpdateItem CustomersTable.Arn",
		"dynamodb:Query ${CustomersTable.Arn}/index/byPlatform",
		"dynamodb:GetItem PlatformsTable.Arn", "dynamodb:UpdateItem PlatformsTable.Arn",
		"dynamodb:DeleteItem IdempotencyTable.Arn", "dynamodb:GetItem IdempotencyTable.Arn",
		"dynamodb:PutItem IdempotencyTable.Arn", "dynamodb:UpdateItem IdempotencyTable.Arn",
		"secretsmanager:GetSecretValue ApiTokensSecretArn", "secretsmanager:GetSecretValue CursorKeySecret",
		"secretsmanager:GetSecretValue WebhookSigningKeySecretArn", "secretsmanager:GetSecretValue IdempotencyKeySecret",
		"dynamodb:GetItem ContactCodesTable.Arn", "dynamodb:PutItem ContactCodesTable.Arn", "dynamodb:UpdateItem ContactCodesTable.Arn",
		"secretsmanager:GetSecretValue ContactCodeKeySecret",
		// Documents and verifications; the documents' files are granted
		// by PlatformApiDocumentFilesPolicy (TestDeployedDocumentFiles).
		"dynamodb:DeleteItem DocumentsTable.Arn", "dynamodb:GetItem DocumentsTable.Arn", "dynamodb:PutItem DocumentsTable.Arn",
		"dynamodb:Query DocumentsTable.Arn", "dynamodb:UpdateItem DocumentsTable.Arn",
		"dynamodb:Query ${DocumentsTable.Arn}/index/byPlatform",
		"dynamodb:GetItem VerificationsTable.Arn", "dynamodb:PutItem VerificationsTable.Arn",
		"dynamodb:Query ${VerificationsTable.Arn}/index/byPlatform", "dynamodb:Query ${VerificationsTable.Arn}/index/byCustomer",
		"dynamodb:PutItem WebhookOutboxTable.Arn",
		// SMS to a phone number has no resource to scope to; the Deny
		// below keeps it off every topic.
		`sns:Publish "*"`,
		`secretsmanager:BatchGetSecretValue "*"`,
	}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("PlatformApiFunction may:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
	for _, g := range grants(t, res["KycLinkFunctionRole"].Properties) {
		if strings.HasSuffix(g, " CustomersTable.Arn") && g != "dynamodb:GetItem CustomersTable.Arn" || strings.Contains(g, "/index/") {
			t.Errorf("KycLinkFunction may %s; it only reads customers (GetItem)", g)
		}
	}
	checkContactSending(t, res["PlatformApiFunctionRole"].Properties)
	for name, r := range res {
		if r.Type != "AWS::IAM::Role" {
			continue
		}
		for _, g := range grants(t, r.Properties) {
			action, resource, _ := strings.Cut(g, " ")
			if name == "PlatformApiFunctionRole" && g == `sns:Publish "*"` {
				continue // SMS only: checkContactSending
			}
			if g == `secretsmanager:BatchGetSecretValue "*"` && slices.Contains(grants(t, r.Properties), "secretsmanager:GetSecretValue ApiTokensSecretArn") {
				// Takes no resource and reads nothing by itself: each
				// secret it returns needs GetSecretValue, granted per
				// secret above (the start-up batch of several).
				continue
			}
			if strings.HasPrefix(action, "kms:") || action == "*" || resource == `"*"` {
				t.Errorf("%s may %s", name, g)
			}
		}
	}

	key := res["CustomerDataKey"].Properties
	if key["EnableKeyRotation"] != true || key["KeySpec"] != "SYMMETRIC_DEFAULT" || key["KeyUsage"] != "ENCRYPT_DECRYPT" {
		t.Errorf("customer data key: rotation %v, spec %v, usage %v; want a rotating symmetric encryption key",
			key["EnableKeyRotation"], key["KeySpec"], key["KeyUsage"])
	}
	policy, _ := key["KeyPolicy"].(map[string]any)
	stmts, _ := policy["Statement"].([]any)
	encrypters, decrypters := 0, 0
	const wantCond = `{"ForAllValues:StringEquals":{"kms:EncryptionContextKeys":["customerId","platformId"]},` +
		`"Null":{"kms:EncryptionContext:customerId":"false","kms:EncryptionContext:platformId":"false"}}`
	for _, s := range stmts {
		st, _ := s.(map[string]any)
		principal, _ := st["Principal"].(map[string]any)
		who := resourceName(principal["AWS"])
		if st["Effect"] != "Allow" {
			t.Errorf("statement %v: only Allow statements are expected", st["Sid"])
			continue
		}
		if who == "PlatformApiFunctionRole.Arn" {
			encrypters++
			if a := list(st["Action"]); len(a) != 1 || a[0] != "kms:Encrypt" {
				t.Errorf("the platform API's role may %v; want kms:Encrypt alone", a)
			}
			cond, _ := json.Marshal(st["Condition"])
			if string(cond) != wantCond {
				t.Errorf("the role's Encrypt is conditioned on %s; want %s", cond, wantCond)
			}
			continue
		}
		if who == "VerificationSubmitFunctionRole.Arn" {
			decrypters++
			if a := list(st["Action"]); len(a) != 1 || a[0] != "kms:Decrypt" {
				t.Errorf("the submission function's role may %v; want kms:Decrypt alone", a)
			}
			cond, _ := json.Marshal(st["Condition"])
			if string(cond) != wantCond {
				t.Errorf("the role's Decrypt is conditioned on %s; want %s", cond, wantCond)
			}
			continue
		}
		if who != "arn:${AWS::Partition}:iam::${AWS::AccountId}:root" {
			t.Errorf("key policy statement %v grants %s", st["Sid"], who)
		}
		for _, a := range list(st["Action"]) {
			for _, crypto := range kmsCryptoActions {
				if m, _ := path.Match(fmt.Sprint(a), crypto); m || a == "kms:*" {
					t.Errorf("the account (so any IAM principal it allows) may %s through %v: only the platform API's role may use the key, and only to Encrypt", crypto, a)
				}
			}
		}
	}
	if encrypters != 1 || decrypters != 1 {
		t.Errorf("%d statements for the platform API's role, %d for the submission function's; want 1 each", encrypters, decrypters)
	}
	alias := res["CustomerDataKeyAlias"].Properties
	if resourceName(alias["TargetKeyId"]) != "CustomerDataKey" || resourceName(alias["AliasName"]) != "alias/${AWS::StackName}-customer-data" {
		t.Errorf("alias %v", alias)
	}
}

// TestDeployedMetricFilters: the platform API's metric filters, evaluated
// as CloudWatch Logs evaluates JSON patterns, count the request lines the
// code logs (pkg/httpapi's handler test pins their fields) under the
// route, and nothing else.
func TestDeployedMetricFilters(t *testing.T) {
	res := translated(t)
	lines := map[string]string{
		"created":  `{"level":"INFO","msg":"request","request_id":"r1","method":"POST","route":"POST /customers","status":201,"latency_ms":41.5}`,
		"outage":   `{"level":"WARN","msg":"request","request_id":"r2","method":"GET","route":"GET /customers","status":503,"latency_ms":12}`,
		"internal": `{"level":"ERROR","msg":"request","request_id":"r3","method":"PATCH","route":"PATCH /config","status":500,"latency_ms":3.25}`,
		"other":    `{"level":"INFO","msg":"listening","url":"http://127.0.0.1:3000"}`,
	}
	for _, tc := range []struct {
		filter  string
		matches []string
		value   string // the MetricValue's field, "" for a count
	}{
		{"PlatformApiLatencyMetric", []string{"created", "internal", "outage"}, "latency_ms"},
		{"PlatformApi5xxMetric", []string{"internal", "outage"}, ""},
		{"PlatformApiInternalErrorMetric", []string{"internal"}, ""},
	} {
		p := res[tc.filter].Properties
		if resourceName(p["LogGroupName"]) != "PlatformApiLogGroup" {
			t.Errorf("%s reads %v, not the platform API's log", tc.filter, p["LogGroupName"])
		}
		pattern, _ := p["FilterPattern"].(string)
		tr, _ := list(p["MetricTransformations"])[0].(map[string]any)
		var got []string
		for name, line := range lines {
			var ev map[string]any
			if err := json.Unmarshal([]byte(line), &ev); err != nil {
				t.Fatal(err)
			}
			ok, err := matchJSONPattern(pattern, ev)
			if err != nil {
				t.Fatalf("%s: %v", tc.filter, err)
			}
			if !ok {
				continue
			}
			got = append(got, name)
			if tc.value != "" {
				if v, _ := tr["MetricValue"].(string); v != "$."+tc.value || ev[tc.value] == nil {
					t.Errorf("%s: value %s of %s", tc.filter, v, name)
				}
			}
			for _, d := range list(tr["Dimensions"]) {
				if d == nil {
					continue
				}
				field, _ := strings.CutPrefix(fmt.Sprint(d.(map[string]any)["Value"]), "$.")
				if s, _ := ev[field].(string); s == "" {
					t.Errorf("%s: dimension %v is empty on %s", tc.filter, d, name)
				}
			}
		}
		slices.Sort(got)
		if !slices.Equal(got, tc.matches) {
			t.Errorf("%s (%s) matches %v; want %v", tc.filter, pattern, got, tc.matches)
		}
	}
}

// matchJSONPattern evaluates a CloudWatch Logs JSON filter pattern of
// terms joined by && ({ $.a = "x*" && $.b >= 500 }) against an event.
func matchJSONPattern(pattern string, ev map[string]any) (bool, error) {
	body, ok := strings.CutPrefix(strings.TrimSpace(pattern), "{")
	body, ok2 := strings.CutSuffix(body, "}")
	if !ok || !ok2 {
		return false, fmt.Errorf("not a JSON pattern: %s", pattern)
	}
	term := regexp.MustCompile(`^\s*\$\.([A-Za-z_]+)\s*(=|!=|>=|<=|>|<)\s*("[^"]*"|-?[0-9.]+)\s*$`)
	for _, part := range strings.Split(body, "&&") {
		m := term.FindStringSubmatch(part)
		if m == nil {
			return false, fmt.Errorf("term %q is not understood here", part)
		}
		field, op, want := m[1], m[2], m[3]
		v, present := ev[field]
		if !present {
			return false, nil
		}
		if s, quoted := strings.CutPrefix(want, `"`); quoted {
			str, isStr := v.(string)
			re := "^" + strings.ReplaceAll(regexp.QuoteMeta(strings.TrimSuffix(s, `"`)), `\*`, ".*") + "$"
			eq := isStr && regexp.MustCompile(re).MatchString(str)
			if op == "=" && !eq || op == "!=" && eq || op != "=" && op != "!=" {
				return false, nil
			}
			continue
		}
		n, isNum := v.(float64)
		w, err := strconv.ParseFloat(want, 64)
		if err != nil || !isNum {
			return false, err
		}
		if !map[string]bool{"=": n == w, "!=": n != w, ">=": n >= w, "<=": n <= w, ">": n > w, "<": n < w}[op] {
			return false, nil
		}
	}
	return true, nil
}

// TestDeployedSubmission: the submission pipeline as deployed
// (docs/reliability.md, "Submission to the provider"). The submission
// function's role is pinned whole (and its files' policy: GetObject under
// documents/ alone; the documents key opens them for it through S3
// only); its event source hands it one message at a time and takes its
// failed items back (ReportBatchItemFailures); the queue hides a message
// six times the function's timeout, keeps it 14 days, encrypts it, and
// moves it after 10 receipts to its dead-letter queue (14 days,
// encrypted), whose messages and the queue's oldest one (over an hour)
// raise alarms; the relay's event source on the verifications stream
// never drops a batch (bisect, retry until the record leaves the stream)
// and its filter lets through exactly the records SubmissionRecords
// starts a job for; the relay may send to the queue.
func TestDeployedSubmission(t *testing.T) {
	res := translated(t)
	got := grants(t, res["VerificationSubmitFunctionRole"].Properties)
	want := []string{
		"dynamodb:GetItem VerificationsTable.Arn", "dynamodb:GetItem CustomersTable.Arn", "dynamodb:GetItem DocumentsTable.Arn",
		"dynamodb:UpdateItem VerificationsTable.Arn", "dynamodb:UpdateItem CustomersTable.Arn", "dynamodb:PutItem WebhookOutboxTable.Arn",
		"sqs:ChangeMessageVisibility SubmissionQueue.Arn", "secretsmanager:GetSecretValue SumsubSecretArn",
		// A purge job: the holder's documents and their count.
		"dynamodb:Query DocumentsTable.Arn", "dynamodb:DeleteItem DocumentsTable.Arn", "dynamodb:UpdateItem DocumentsTable.Arn",
	}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("VerificationSubmitFunction may:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
	pol := res["VerificationSubmitDocumentFilesPolicy"]
	if roles := list(pol.Properties["Roles"]); len(roles) != 1 || resourceName(roles[0]) != "VerificationSubmitFunctionRole" {
		t.Errorf("the submission's files policy is attached to %v; want its role alone", roles)
	}
	if got := grants(t, map[string]any{"Policies": []any{pol.Properties}}); !slices.Equal(got, []string{"s3:DeleteObject ${DocumentsBucket.Arn}/documents/*", "s3:GetObject ${DocumentsBucket.Arn}/documents/*"}) {
		t.Errorf("the submission's files policy grants %v; want s3:GetObject and (a purge) s3:DeleteObject on documents/* alone", got)
	}
	keyPolicy, _ := res["DocumentsKey"].Properties["KeyPolicy"].(map[string]any)
	opens := 0
	for _, s := range list(keyPolicy["Statement"]) {
		st, _ := s.(map[string]any)
		principal, _ := st["Principal"].(map[string]any)
		if resourceName(principal["AWS"]) != "VerificationSubmitFunctionRole.Arn" {
			continue
		}
		opens++
		cond, _ := json.Marshal(st["Condition"])
		if a := list(st["Action"]); len(a) != 1 || a[0] != "kms:Decrypt" ||
			string(cond) != `{"StringEquals":{"kms:ViaService":{"Fn::Sub":"s3.${AWS::Region}.amazonaws.com"}}}` {
			t.Errorf("the documents key lets the submission's role %v under %s; want kms:Decrypt through S3 alone", a, cond)
		}
	}
	if opens != 1 {
		t.Errorf("%d statements of the documents key for the submission's role; want 1", opens)
	}

	fn := res["VerificationSubmitFunction"].Properties
	timeout, _ := fn["Timeout"].(float64)
	q := res["SubmissionQueue"].Properties
	visibility, _ := q["VisibilityTimeout"].(float64)
	if timeout <= 0 || visibility < 6*timeout {
		t.Errorf("SubmissionQueue's visibility timeout %v s; want at least six times the function's timeout (%v s)", visibility, timeout)
	}
	redrive, _ := json.Marshal(q["RedrivePolicy"])
	if string(redrive) != `{"deadLetterTargetArn":{"Fn::GetAtt":["SubmissionDeadLetterQueue","Arn"]},"maxReceiveCount":10}` {
		t.Errorf("SubmissionQueue's redrive policy %s; want SubmissionDeadLetterQueue after 10 receipts", redrive)
	}
	for _, name := range []string{"SubmissionQueue", "SubmissionDeadLetterQueue"} {
		p := res[name].Properties
		if p["SqsManagedSseEnabled"] != true || p["MessageRetentionPeriod"] != float64(1209600) {
			t.Errorf("%s: SSE %v, retention %v; want SSE and 14 days (1209600 s)", name, p["SqsManagedSseEnabled"], p["MessageRetentionPeriod"])
		}
	}

	mappings := map[string]map[string]any{}
	for _, r := range res {
		if r.Type == "AWS::Lambda::EventSourceMapping" {
			mappings[resourceName(r.Properties["EventSourceArn"])] = r.Properties
		}
	}
	worker := mappings["SubmissionQueue.Arn"]
	if resourceName(worker["FunctionName"]) != "VerificationSubmitFunction" || fmt.Sprint(worker["FunctionResponseTypes"]) != "[ReportBatchItemFailures]" ||
		worker["BatchSize"] != float64(1) {
		t.Errorf("the submission queue's event source %v; want VerificationSubmitFunction, one message a batch, ReportBatchItemFailures", worker)
	}
	relay := mappings["VerificationsTable.StreamArn"]
	if resourceName(relay["FunctionName"]) != "WebhookRelayFunction" || relay["BisectBatchOnFunctionError"] != true ||
		relay["MaximumRetryAttempts"] != float64(-1) || relay["StartingPosition"] != "TRIM_HORIZON" {
		t.Errorf("the verifications stream's event source %v; want the relay, bisecting, retrying until the record expires, from the oldest", relay)
	}
	filters, _ := relay["FilterCriteria"].(map[string]any)
	var patterns []map[string]any
	for _, f := range list(filters["Filters"]) {
		var p map[string]any
		raw, _ := f.(map[string]any)["Pattern"].(string)
		if err := json.Unmarshal([]byte(raw), &p); err != nil {
			t.Fatalf("filter pattern %q: %v", raw, err)
		}
		patterns = append(patterns, p)
	}
	if len(patterns) == 0 {
		t.Fatal("the verifications stream's event source has no filter: every update would invoke the relay")
	}
	image := func(status string) map[string]events.DynamoDBAttributeValue {
		return map[string]events.DynamoDBAttributeValue{"id": events.NewStringAttribute("Verification:v"),
			"customerId": events.NewStringAttribute("Customer:c"), "verificationStatus": events.NewStringAttribute(status),
			"createdAtMs": events.NewNumberAttribute("1")}
	}
	for _, tc := range []struct {
		name, event string
		old, new    map[string]events.DynamoDBAttributeValue
	}{
		{"a complete verification", "INSERT", nil, image("IN_PROGRESS")},
		{"an incomplete verification", "INSERT", nil, image("RESOLVE_ERRORS")},
		{"the submission's mark", "MODIFY", image("IN_PROGRESS"), image("IN_PROGRESS")},
		{"a review's decision", "MODIFY", image("IN_PROGRESS"), image("APPROVED")},
		{"a held review resumed", "MODIFY", image("PENDING_MANUAL_REVIEW"), image("IN_PROGRESS")},
		{"a removal", "REMOVE", image("IN_PROGRESS"), nil},
	} {
		rec := events.DynamoDBEventRecord{EventName: tc.event, EventSource: "aws:dynamodb",
			Change: events.DynamoDBStreamRecord{OldImage: tc.old, NewImage: tc.new}}
		raw, _ := json.Marshal(rec)
		var doc map[string]any
		json.Unmarshal(raw, &doc)
		passes := slices.ContainsFunc(patterns, func(p map[string]any) bool { return matchFilter(p, doc) })
		_, starts := awsstore.SubmissionRecords{}.LambdaRecord(rec)
		if passes != starts {
			t.Errorf("%s: the filter lets it through: %v; the relay starts a job for it: %v (want them to agree)", tc.name, passes, starts)
		}
	}
	// The customers stream: the relay gets the removals of deleted
	// customers (their purge), nothing else.
	purge := mappings["CustomersTable.StreamArn"]
	if resourceName(purge["FunctionName"]) != "WebhookRelayFunction" || purge["BisectBatchOnFunctionError"] != true ||
		purge["MaximumRetryAttempts"] != float64(-1) || purge["StartingPosition"] != "TRIM_HORIZON" {
		t.Errorf("the customers stream's event source %v; want the relay, bisecting, retrying until the record expires, from the oldest", purge)
	}
	var purgePatterns []map[string]any
	pf, _ := purge["FilterCriteria"].(map[string]any)
	for _, f := range list(pf["Filters"]) {
		var p map[string]any
		raw, _ := f.(map[string]any)["Pattern"].(string)
		if err := json.Unmarshal([]byte(raw), &p); err != nil {
			t.Fatalf("filter pattern %q: %v", raw, err)
		}
		purgePatterns = append(purgePatterns, p)
	}
	customer := func(deleted *bool) map[string]events.DynamoDBAttributeValue {
		m := map[string]events.DynamoDBAttributeValue{"id": events.NewStringAttribute("Customer:c"), "platformId": events.NewStringAttribute("p")}
		if deleted != nil {
			m["isDeleted"] = events.NewBooleanAttribute(*deleted)
		}
		return m
	}
	yes, no := true, false
	// A business's item holds its owners (awsstore's attribute "owners":
	// a list of maps with "id"); their documents are purged with it.
	business := customer(&yes)
	owner := func(id string) events.DynamoDBAttributeValue {
		return events.NewMapAttribute(map[string]events.DynamoDBAttributeValue{"id": events.NewStringAttribute(id),
			"firstName": events.NewStringAttribute("Ann"), "identifierSealed": events.NewBinaryAttribute([]byte{1, 2, 3})})
	}
	business["owners"] = events.NewListAttribute([]events.DynamoDBAttributeValue{owner("BeneficialOwner:o1"), owner("BeneficialOwner:o2")})
	for _, tc := range []struct {
		name, event string
		old         map[string]events.DynamoDBAttributeValue
		owners      []string
	}{
		{"a deleted customer removed (TTL)", "REMOVE", customer(&yes), nil},
		{"a deleted business with owners removed (TTL)", "REMOVE", business, []string{"BeneficialOwner:o1", "BeneficialOwner:o2"}},
		{"a live customer removed", "REMOVE", customer(&no), nil},
		{"a customer without isDeleted removed", "REMOVE", customer(nil), nil},
		{"a marker removed", "REMOVE", map[string]events.DynamoDBAttributeValue{"id": events.NewStringAttribute("platformCustomerId#p#x"), "customerId": events.NewStringAttribute("Customer:c")}, nil},
		{"an owner's pointer removed", "REMOVE", map[string]events.DynamoDBAttributeValue{"id": events.NewStringAttribute("BeneficialOwner:o1"), "customerId": events.NewStringAttribute("Customer:c")}, nil},
		{"a deletion (MODIFY)", "MODIFY", customer(&no), nil},
	} {
		rec := events.DynamoDBEventRecord{EventName: tc.event, EventSource: "aws:dynamodb", Change: events.DynamoDBStreamRecord{OldImage: tc.old}}
		raw, _ := json.Marshal(rec)
		var doc map[string]any
		json.Unmarshal(raw, &doc)
		// What Lambda hands over: the record as the event's JSON.
		var got events.DynamoDBEventRecord
		if err := json.Unmarshal(raw, &got); err != nil {
			t.Fatal(err)
		}
		passes := slices.ContainsFunc(purgePatterns, func(p map[string]any) bool { return matchFilter(p, doc) })
		platform, customer, owners, starts := awsstore.PurgeRecords{}.LambdaRecord(got)
		if passes != starts {
			t.Errorf("%s: the filter lets it through: %v; the relay starts a purge for it: %v (want them to agree)", tc.name, passes, starts)
		}
		if starts && (platform != "p" || customer != "Customer:c" || !slices.Equal(owners, tc.owners)) {
			t.Errorf("%s: purge %s %s with owners %v; want p Customer:c with owners %v", tc.name, platform, customer, owners, tc.owners)
		}
	}
	relaySends := false
	for _, p := range list(res["WebhookRelayFunctionRole"].Properties["Policies"]) {
		raw, _ := json.Marshal(p)
		relaySends = relaySends || strings.Contains(string(raw), `"Action":["sqs:SendMessage*"]`) &&
			strings.Contains(string(raw), `{"Fn::GetAtt":["SubmissionQueue","QueueName"]}`)
	}
	if !relaySends {
		t.Errorf("the relay's role may not send to SubmissionQueue: %v", res["WebhookRelayFunctionRole"].Properties["Policies"])
	}

	for name, want := range map[string]string{
		"SubmissionDeadLetterAlarm": `ApproximateNumberOfMessagesVisible SubmissionDeadLetterQueue.QueueName GreaterThanThreshold 0`,
		"SubmissionQueueAgeAlarm":   `ApproximateAgeOfOldestMessage SubmissionQueue.QueueName GreaterThanThreshold 3600`,
	} {
		p := res[name].Properties
		dims := list(p["Dimensions"])
		queue := ""
		if len(dims) == 1 {
			queue = resourceName(dims[0].(map[string]any)["Value"])
		}
		if got := fmt.Sprint(p["MetricName"], " ", queue, " ", p["ComparisonOperator"], " ", p["Threshold"]); got != want || p["Namespace"] != "AWS/SQS" {
			t.Errorf("%s: %s; want %s", name, got, want)
		}
	}
}

// matchFilter evaluates a Lambda event filter pattern of the kind the
// template uses (objects to match by key, arrays of exact values) against
// a record as JSON.
func matchFilter(pattern, doc map[string]any) bool {
	for k, want := range pattern {
		got, ok := doc[k]
		if !ok {
			return false
		}
		switch w := want.(type) {
		case map[string]any:
			sub, ok := got.(map[string]any)
			if !ok || !matchFilter(w, sub) {
				return false
			}
		case []any:
			if !slices.Contains(w, got) {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// TestDeployedSubmissionOutcomes: the submission's metric filter, as
// CloudWatch Logs evaluates it, counts every attempt's line (msg
// "submission", pkg/awsstore/sqsqueue's worker) under its outcome, and
// nothing else of the function's log.
func TestDeployedSubmissionOutcomes(t *testing.T) {
	p := translated(t)["SubmissionOutcomeMetric"].Properties
	if resourceName(p["LogGroupName"]) != "VerificationSubmitLogGroup" {
		t.Errorf("the submission's metric filter reads %v", p["LogGroupName"])
	}
	pattern, _ := p["FilterPattern"].(string)
	for line, want := range map[string]bool{
		`{"level":"INFO","msg":"submission","verification_id":"Verification:v","outcome":"submitted","attempt":1}`:                  true,
		`{"level":"WARN","msg":"submission","verification_id":"Verification:v","outcome":"failed","attempt":2,"retry_in":"1m0s"}`:   true,
		`{"level":"ERROR","msg":"submission","outcome":"unreadable","message_id":"m","attempt":1}`:                                  true,
		`{"level":"WARN","msg":"submission: could not set the retry delay","verification_id":"Verification:v","error":"throttled"}`: false,
		`{"level":"WARN","msg":"start-up step failed; the first request retries it","step":"sumsub secret"}`:                        false,
	} {
		var ev map[string]any
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatal(err)
		}
		got, err := matchJSONPattern(pattern, ev)
		if err != nil || got != want {
			t.Errorf("%s on %s: %v (%v); want %v", pattern, line, got, err, want)
		}
	}
	tr, _ := list(p["MetricTransformations"])[0].(map[string]any)
	if tr["MetricName"] != "Submissions" || fmt.Sprint(tr["Dimensions"]) != "[map[Key:Outcome Value:$.outcome]]" {
		t.Errorf("metric %v by %v; want Submissions by Outcome", tr["MetricName"], tr["Dimensions"])
	}
}
