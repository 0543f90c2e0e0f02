package app_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestPackageImports: dependencies flow inward (docs/architecture.md). The
// domain imports nothing of ours but the leaf strictjson (which reads
// every JSON body) and nothing of AWS; the HTTP edge knows no AWS SDK and
// no store; stores and the provider know no HTTP edge; only the
// composition root (pkg/app) sees everything.
func TestPackageImports(t *testing.T) {
	const mod = "github.com/grid-kyc/kyc-link/"
	out, err := exec.Command("go", "list", "-f", "{{.ImportPath}} {{join .Imports \" \"}}", "../...").Output()
	if err != nil {
		t.Fatal(err)
	}
	aws := func(imp string) bool {
		return strings.HasPrefix(imp, "github.com/aws/") || strings.HasPrefix(imp, "github.com/awslabs/")
	}
	// Lambda's event types are plain structs a handler's signature needs;
	// they are not the AWS SDK.
	events := func(imp string) bool { return imp == "github.com/aws/aws-lambda-go/events" }
	// allowed: the module's packages each may import; awsOK: whether it
	// may use the AWS SDKs (only awsstore, the edge's Lambda adapter and
	// telemetry's middleware); eventsOK: Lambda's event types.
	rules := map[string]struct {
		allowed  []string
		awsOK    bool
		eventsOK bool
	}{
		"pkg/strictjson":            {nil, false, false},
		"pkg/kyc":                   {[]string{"pkg/strictjson"}, false, false},
		"pkg/auth":                  {nil, false, false},
		"pkg/publicaddr":            {nil, false, false},
		"pkg/telemetry":             {nil, true, false},
		"pkg/secrets":               {[]string{"pkg/kyc", "pkg/telemetry"}, false, false},
		"pkg/sumsub":                {[]string{"pkg/kyc", "pkg/strictjson", "pkg/telemetry"}, false, false},
		"pkg/sumsub/sumsubtest":     {[]string{"pkg/sumsub"}, false, false},
		"pkg/gridhook":              {[]string{"pkg/kyc"}, false, false},
		"pkg/gridhook/gridhooktest": {[]string{"pkg/gridhook"}, false, false},
		"pkg/sandbox":               {[]string{"pkg/kyc", "pkg/gridhook", "pkg/sumsub"}, false, false},
		"pkg/httpapi":               {[]string{"pkg/kyc", "pkg/auth", "pkg/idempotency", "pkg/publicaddr", "pkg/sandbox", "pkg/strictjson", "pkg/sumsub", "pkg/telemetry"}, false, false},
		"pkg/lambdahttp":            {[]string{"pkg/httpapi"}, true, false},
		"pkg/awsstore":              {[]string{"pkg/kyc", "pkg/secrets", "pkg/idempotency", "pkg/ratelimit", "pkg/webhooks"}, true, false},
		// awsstore's own packages for the clients only some functions
		// link (pkg/app/clients.go).
		"pkg/awsstore/messaging": {[]string{"pkg/kyc", "pkg/awsstore"}, true, false},
		"pkg/awsstore/kmsseal":   {[]string{"pkg/kyc", "pkg/awsstore"}, true, false},
		"pkg/awsstore/s3files":   {[]string{"pkg/kyc", "pkg/awsstore"}, true, false},
		"pkg/awsstore/sqsqueue":  {[]string{"pkg/webhooks", "pkg/kyc"}, true, false},
		"pkg/memstore":           {[]string{"pkg/kyc", "pkg/webhooks", "pkg/idempotency", "pkg/ratelimit"}, false, false},
		"pkg/idempotency":        {nil, false, false},
		"pkg/ratelimit":          {[]string{"pkg/kyc", "pkg/telemetry"}, false, false},
		"pkg/webhooks":           {[]string{"pkg/kyc", "pkg/gridhook", "pkg/publicaddr"}, false, true},
	}
	seen := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		pkg, ok := strings.CutPrefix(f[0], mod)
		if !ok || !strings.HasPrefix(pkg, "pkg/") || pkg == "pkg/app" {
			continue
		}
		rule, ok := rules[pkg]
		if !ok {
			t.Errorf("%s has no rule here: add it (and to docs/architecture.md)", pkg)
			continue
		}
		seen[pkg] = true
		for _, imp := range f[1:] {
			if own, ok := strings.CutPrefix(imp, mod); ok && !slices.Contains(rule.allowed, own) {
				t.Errorf("%s imports %s", pkg, own)
			}
			// One package per dependency: the AWS service clients and the
			// item formats they carry live in awsstore (the composition
			// root only constructs clients).
			if strings.HasPrefix(imp, "github.com/aws/aws-sdk-go-v2/service/") && pkg != "pkg/awsstore" && !strings.HasPrefix(pkg, "pkg/awsstore/") {
				t.Errorf("%s imports %s: only pkg/awsstore and its packages (and pkg/app, cmd/*) may use AWS service clients", pkg, imp)
			}
			if aws(imp) && !rule.awsOK && !(rule.eventsOK && events(imp)) {
				t.Errorf("%s imports %s: it must not know AWS", pkg, imp)
			}
		}
	}
	for pkg := range rules {
		if !seen[pkg] {
			t.Errorf("rule for %s, which does not exist", pkg)
		}
	}
}

// TestLambdaBuilds: each function's Lambda build (the Makefile's
// build-<Function> target, with its tags) links the code of only the AWS
// clients its own routes use (pkg/app/clients.go), and OpenTelemetry's
// SDK and exporter only with TRACING=1: read from the symbols of each
// build (an imported package whose code is never reached costs its init
// at most; a client is linked when its methods are).
func TestLambdaBuilds(t *testing.T) {
	mk, err := os.ReadFile("../../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	prefix := regexp.MustCompile(`(?m)^LAMBDA_TAGS = (\S+)\$\(if \$\(TRACING\),,notrace,\)$`).FindSubmatch(mk)
	if prefix == nil {
		t.Fatal("the Makefile has no LAMBDA_TAGS line of the form this test reads")
	}
	targets := regexp.MustCompile(`(?m)^build-(\w+):\n\t\$\(LAMBDA_BUILD\) -tags \$\(LAMBDA_TAGS\)(\w+) \./functions/([\w-]+)$`).FindAllSubmatch(mk, -1)
	clients := []string{"dynamodb", "secretsmanager", "kms", "sesv2", "sns", "s3", "sqs", "dynamodbstreams", "cloudformation"}
	want := map[string][]string{
		"KycLinkFunction":         {"dynamodb", "secretsmanager"},
		"SumsubWebhookFunction":   {"dynamodb", "secretsmanager"},
		"PlatformApiFunction":     {"dynamodb", "secretsmanager", "kms", "sesv2", "sns", "s3"},
		"WebhookRelayFunction":    {"dynamodb", "secretsmanager", "sqs"},
		"WebhookDeliveryFunction": {"dynamodb", "secretsmanager", "sqs"},
		// Reads the documents' files, opens identifiers (KMS Decrypt),
		// hides a failed job's message for its backoff (SQS).
		"VerificationSubmitFunction": {"dynamodb", "secretsmanager", "kms", "s3", "sqs"},
	}
	if len(targets) != len(want) {
		t.Fatalf("%d build targets in the Makefile; want %d", len(targets), len(want))
	}
	// symbols builds pkg with tags and returns its symbol table.
	symbols := func(t *testing.T, tags, dir string) string {
		t.Helper()
		bin := filepath.Join(t.TempDir(), "bootstrap")
		if out, err := exec.Command("go", "build", "-tags", tags, "-o", bin, "../../functions/"+dir).CombinedOutput(); err != nil {
			t.Fatalf("go build -tags %s: %v\n%s", tags, err, out)
		}
		out, err := exec.Command("go", "tool", "nm", bin).Output()
		if err != nil {
			t.Fatal(err)
		}
		return string(out)
	}
	const svc = "github.com/aws/aws-sdk-go-v2/service/"
	tracer := "go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp.(*client).UploadTraces"
	for _, m := range targets {
		fn, tag, dir := string(m[1]), string(m[2]), string(m[3])
		t.Run(fn, func(t *testing.T) {
			tags := string(prefix[1]) + "notrace," + tag
			syms := symbols(t, tags, dir)
			var got []string
			for _, c := range clients {
				if strings.Contains(syms, svc+c+".(*Client).") {
					got = append(got, c)
				}
			}
			if !slices.Equal(got, want[fn]) {
				t.Errorf("%s (tags %s) links the clients %v; want %v", fn, tags, got, want[fn])
			}
			// Sealing and opening: the platform API seals, the
			// submission opens, no build both.
			const kmsseal = "github.com/grid-kyc/kyc-link/pkg/awsstore/kmsseal."
			seals, opens := strings.Contains(syms, kmsseal+"(*KMSSealer).Seal"), strings.Contains(syms, kmsseal+"(*KMSOpener).Unseal")
			if seals != (fn == "PlatformApiFunction") || opens != (fn == "VerificationSubmitFunction") {
				t.Errorf("%s seals: %v, opens: %v; want only the platform API to seal and only the submission to open", fn, seals, opens)
			}
			if strings.Contains(syms, tracer) || strings.Contains(syms, "google.golang.org/grpc.") {
				t.Errorf("%s without TRACING links OpenTelemetry's exporter or gRPC", fn)
			}
		})
	}
	if !strings.Contains(symbols(t, string(prefix[1])+"lambda_link", "kyc-link"), tracer) {
		t.Error("with TRACING=1 the link function does not link the OTLP exporter")
	}
}
