package app_test

import (
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/grid-kyc/kyc-link/internal/samtemplate"
	"github.com/grid-kyc/kyc-link/pkg/httpapi"
)

// TestTemplateWiring: every function gets, through Environment in
// template.yaml, exactly the tables, queues, keys and secrets its code
// reads, each variable naming a resource or parameter that exists, and
// every table and queue the template makes reaches some function.
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
	for id, typ := range tpl.Resources {
		if typ == "AWS::S3::Bucket" {
			stores = append(stores, id)
		}
	}
	// names reports whether a variable names a resource (its value must
	// then be one the template has).
	names := func(k string) bool {
		for _, sfx := range []string{"_TABLE", "_QUEUE_URL", "_SECRET_ID", "_KEY_ID", "_INDEX", "_BUCKET"} {
			if strings.HasSuffix(k, sfx) {
				return true
			}
		}
		return false
	}
	for fn, want := range map[string][]string{
		"KycLinkFunction":       {"CUSTOMERS_TABLE", "IDEMPOTENCY_TABLE", "IDEMPOTENCY_KEY_SECRET_ID", "API_TOKENS_SECRET_ID", "SUMSUB_SECRET_ID", "RATE_LIMIT_TABLE", "PLATFORMS_TABLE"},
		"SumsubWebhookFunction": {"CUSTOMERS_TABLE", "WEBHOOK_OUTBOX_TABLE", "SUMSUB_SECRET_ID", "VERIFICATIONS_TABLE"},
		"PlatformApiFunction": {"CUSTOMERS_TABLE", "CUSTOMERS_BY_PLATFORM_INDEX", "CUSTOMER_DATA_KEY_ID", "CURSOR_KEY_SECRET_ID",
			"PLATFORMS_TABLE", "IDEMPOTENCY_TABLE", "IDEMPOTENCY_KEY_SECRET_ID", "API_TOKENS_SECRET_ID", "WEBHOOK_SIGNING_KEY_SECRET_ID",
			"CONTACT_CODES_TABLE", "CONTACT_CODE_KEY_SECRET_ID",
			"DOCUMENTS_TABLE", "DOCUMENTS_BY_PLATFORM_INDEX", "VERIFICATIONS_TABLE", "VERIFICATIONS_BY_PLATFORM_INDEX",
			"VERIFICATIONS_BY_CUSTOMER_INDEX", "DOCUMENTS_BUCKET", "WEBHOOK_OUTBOX_TABLE"},
		// The relay's two streams, to their two queues (the handler
		// tells the streams apart by their tables).
		"WebhookRelayFunction":    {"WEBHOOK_OUTBOX_TABLE", "WEBHOOK_QUEUE_URL", "VERIFICATIONS_TABLE", "SUBMISSION_QUEUE_URL", "CUSTOMERS_TABLE"},
		"WebhookDeliveryFunction": {"PLATFORMS_TABLE", "WEBHOOK_DEAD_LETTER_TABLE", "WEBHOOK_QUEUE_URL", "WEBHOOK_SIGNING_KEY_SECRET_ID"},
		// A submission job: its queue, what it reads, the key that opens
		// identifiers, Sumsub's credentials, and for a refusal the
		// outbox of its webhook.
		"VerificationSubmitFunction": {"SUBMISSION_QUEUE_URL", "VERIFICATIONS_TABLE", "CUSTOMERS_TABLE", "DOCUMENTS_TABLE", "DOCUMENTS_BUCKET",
			"WEBHOOK_OUTBOX_TABLE", "CUSTOMER_DATA_KEY_ID", "SUMSUB_SECRET_ID"},
	} {
		vars, ok := env[fn]
		if !ok {
			t.Errorf("no function %s", fn)
			continue
		}
		for _, k := range want {
			if vars[k] == "" {
				t.Errorf("%s: Environment lacks %s", fn, k)
			}
		}
		for k, v := range vars {
			if !names(k) {
				continue
			}
			if !slices.Contains(want, k) {
				t.Errorf("%s: Environment has %s=%s, which its code does not read (least privilege: give it only what it uses)", fn, k, v)
			}
			_, resource := tpl.Resources[v]
			if !strings.HasSuffix(k, "_INDEX") && !resource && !slices.Contains(tpl.Parameters, v) {
				t.Errorf("%s: %s=%s names no resource or parameter of the template", fn, k, v)
			}
		}
	}
	if len(env) != 6 {
		t.Errorf("%d functions; want the 6 above", len(env))
	}
	var referenced []string
	for _, vars := range env {
		for _, ref := range vars {
			referenced = append(referenced, ref)
		}
	}
	for _, s := range stores {
		if s == "WebhookQueueDLQ" || s == "SubmissionDeadLetterQueue" {
			continue // a queue's own dead-letter queue: read by operators, not code
		}
		if !slices.Contains(referenced, s) {
			t.Errorf("%s reaches no function through Environment", s)
		}
	}
}

// TestTemplatePlatformAPIResources: what the platform API's code expects
// of the resources its Environment names (pkg/awsstore, docs/platform-api.md):
// the customers table's index by platform under the name the function is
// given, the table's TTL for deleted customers, the KMS key behind the
// alias, and the cursor secret generated in the format the code parses.
func TestTemplatePlatformAPIResources(t *testing.T) {
	tpl, err := samtemplate.Load("../../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	vars := tpl.Env["PlatformApiFunction"]
	i := slices.IndexFunc(tpl.Tables, func(tb samtemplate.Table) bool { return tb.LogicalID == vars["CUSTOMERS_TABLE"] })
	if i < 0 {
		t.Fatalf("CUSTOMERS_TABLE=%s is no table", vars["CUSTOMERS_TABLE"])
	}
	customers := tpl.Tables[i]
	if customers.HashKey != "id" || customers.TTL != "expiresAt" {
		t.Errorf("customers table: key %q, TTL %q; want id and expiresAt (deleted customers expire)", customers.HashKey, customers.TTL)
	}
	j := slices.IndexFunc(customers.Indexes, func(ix samtemplate.Index) bool { return ix.Name == vars["CUSTOMERS_BY_PLATFORM_INDEX"] })
	if j < 0 {
		t.Fatalf("CUSTOMERS_BY_PLATFORM_INDEX=%s is no index of %s: %+v", vars["CUSTOMERS_BY_PLATFORM_INDEX"], customers.LogicalID, customers.Indexes)
	}
	ix := customers.Indexes[j]
	if ix.HashKey != "platformId" || ix.RangeKey != "createdKey" || ix.Projection != "ALL" ||
		customers.Attributes["platformId"] != "S" || customers.Attributes["createdKey"] != "S" {
		t.Errorf("index %+v (attributes %v); want platformId (S), createdKey (S), projection ALL", ix, customers.Attributes)
	}
	if len(customers.Indexes) != 1 {
		t.Errorf("customers table indexes %+v; want only %s (each index costs every write)", customers.Indexes, ix.Name)
	}

	k := slices.IndexFunc(tpl.Aliases, func(a samtemplate.Alias) bool { return a.LogicalID == vars["CUSTOMER_DATA_KEY_ID"] })
	if k < 0 {
		t.Fatalf("CUSTOMER_DATA_KEY_ID=%s is no KMS alias", vars["CUSTOMER_DATA_KEY_ID"])
	}
	alias := tpl.Aliases[k]
	if !slices.Contains(tpl.Keys, alias.TargetKey) {
		t.Errorf("alias %s targets %q, no KMS key of the template", alias.LogicalID, alias.TargetKey)
	}
	if got := alias.AliasName("kyc-link"); got != "alias/kyc-link-customer-data" {
		t.Errorf("alias of stack kyc-link = %s; want the configuration's default alias/kyc-link-customer-data", got)
	}

	s := slices.IndexFunc(tpl.Secrets, func(s samtemplate.Secret) bool { return s.LogicalID == vars["CURSOR_KEY_SECRET_ID"] })
	if s < 0 {
		t.Fatalf("CURSOR_KEY_SECRET_ID=%s is no secret the template generates", vars["CURSOR_KEY_SECRET_ID"])
	}
	sec := tpl.Secrets[s]
	if sec.Key != "key" || sec.Template != "{}" || sec.Length < 32 || !sec.ExcludePunctuation {
		t.Errorf("cursor secret %+v; want {\"key\": <at least 32 letters and digits>}", sec)
	}
	v, err := sec.Value()
	if err != nil || !regexpCursor.MatchString(v) {
		t.Errorf("a generated cursor secret is %q, %v", v, err)
	}
}

// TestTemplateDocumentsResources: the indexes the platform API's
// Environment names for documents and verifications are indexes of the
// tables it names, keyed as pkg/awsstore queries them (position, the list
// order, as the sort key), every attribute projected; the verifications
// table has a stream of new and old images (the submission worker reads
// it); the bucket is encrypted with a key of the template.
func TestTemplateDocumentsResources(t *testing.T) {
	tpl, err := samtemplate.Load("../../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	vars := tpl.Env["PlatformApiFunction"]
	table := func(env string) samtemplate.Table {
		t.Helper()
		i := slices.IndexFunc(tpl.Tables, func(tb samtemplate.Table) bool { return tb.LogicalID == vars[env] })
		if i < 0 {
			t.Fatalf("%s=%s is no table", env, vars[env])
		}
		return tpl.Tables[i]
	}
	for _, c := range []struct{ table, index, hash string }{
		{"DOCUMENTS_TABLE", "DOCUMENTS_BY_PLATFORM_INDEX", "platformId"},
		{"VERIFICATIONS_TABLE", "VERIFICATIONS_BY_PLATFORM_INDEX", "platformId"},
		{"VERIFICATIONS_TABLE", "VERIFICATIONS_BY_CUSTOMER_INDEX", "customerId"},
	} {
		tb := table(c.table)
		j := slices.IndexFunc(tb.Indexes, func(ix samtemplate.Index) bool { return ix.Name == vars[c.index] })
		if j < 0 {
			t.Errorf("%s=%s is no index of %s: %+v", c.index, vars[c.index], tb.LogicalID, tb.Indexes)
			continue
		}
		ix := tb.Indexes[j]
		if ix.HashKey != c.hash || ix.RangeKey != "position" || ix.Projection != "ALL" ||
			tb.Attributes[c.hash] != "S" || tb.Attributes["position"] != "S" {
			t.Errorf("%s %+v (attributes %v); want %s (S), position (S), projection ALL", c.index, ix, tb.Attributes, c.hash)
		}
	}
	if docs := table("DOCUMENTS_TABLE"); docs.HashKey != "pk" || docs.Attributes["pk"] != "S" || docs.Attributes["sk"] != "S" {
		t.Errorf("documents table: key %q, attributes %v; want pk (S) and sort key sk (S)", docs.HashKey, docs.Attributes)
	}
	if v := table("VERIFICATIONS_TABLE"); v.HashKey != "id" || !v.Stream {
		t.Errorf("verifications table: key %q, stream %v; want id and a stream", v.HashKey, v.Stream)
	}
	if vars["WEBHOOK_OUTBOX_TABLE"] != tpl.Env["SumsubWebhookFunction"]["WEBHOOK_OUTBOX_TABLE"] ||
		vars["VERIFICATIONS_TABLE"] != tpl.Env["SumsubWebhookFunction"]["VERIFICATIONS_TABLE"] {
		t.Error("the platform API and the receiver name different outbox or verifications tables")
	}
	if tpl.Resources[vars["DOCUMENTS_BUCKET"]] != "AWS::S3::Bucket" {
		t.Errorf("DOCUMENTS_BUCKET=%s is no bucket", vars["DOCUMENTS_BUCKET"])
	}
}

var regexpCursor = regexp.MustCompile(`^\{"key":"[A-Za-z0-9]{32,}"\}$`)

// TestTemplateRoutes: API Gateway sends each function the paths of its
// routes in httpapi's table, and no others (every method: the router
// answers a wrong one with its 405).
func TestTemplateRoutes(t *testing.T) {
	tpl, err := samtemplate.Load("../../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for id, fn := range map[string]httpapi.Function{
		"KycLinkFunction":       httpapi.LinkFunction,
		"PlatformApiFunction":   httpapi.PlatformFunction,
		"SumsubWebhookFunction": httpapi.ReceiverFunction,
	} {
		var want []string
		for _, p := range httpapi.Patterns(fn) {
			_, path, _ := strings.Cut(p, " ")
			if !slices.Contains(want, path) {
				want = append(want, path)
			}
		}
		got := slices.Clone(tpl.Paths[id])
		slices.Sort(want)
		slices.Sort(got)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s: the template's Api paths (-table +template):\n%s", id, diff)
		}
	}
}
