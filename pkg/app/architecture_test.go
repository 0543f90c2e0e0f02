package app_test

import (
	"os/exec"
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
	// allowed: the module's packages each may import; awsOK: whether it
	// may use the AWS SDKs.
	rules := map[string]struct {
		allowed []string
		awsOK   bool
	}{
		"pkg/strictjson":            {nil, false},
		"pkg/kyc":                   {[]string{"pkg/strictjson"}, false},
		"pkg/auth":                  {nil, false},
		"pkg/publicaddr":            {nil, false},
		"pkg/telemetry":             {nil, true},
		"pkg/secrets":               {[]string{"pkg/kyc", "pkg/telemetry"}, false},
		"pkg/sumsub":                {[]string{"pkg/kyc", "pkg/strictjson", "pkg/telemetry"}, false},
		"pkg/sumsub/sumsubtest":     {[]string{"pkg/sumsub"}, false},
		"pkg/gridhook":              {[]string{"pkg/kyc"}, false},
		"pkg/gridhook/gridhooktest": {[]string{"pkg/gridhook"}, false},
		"pkg/sandbox":               {[]string{"pkg/kyc", "pkg/gridhook", "pkg/sumsub"}, false},
		"pkg/httpapi":               {[]string{"pkg/kyc", "pkg/auth", "pkg/idempotency", "pkg/publicaddr", "pkg/sandbox", "pkg/strictjson", "pkg/sumsub", "pkg/telemetry"}, false},
		"pkg/lambdahttp":            {[]string{"pkg/httpapi"}, true},
		"pkg/awsstore":              {[]string{"pkg/kyc", "pkg/secrets", "pkg/idempotency", "pkg/ratelimit", "pkg/webhooks"}, true},
		"pkg/memstore":              {[]string{"pkg/kyc", "pkg/webhooks", "pkg/idempotency", "pkg/ratelimit"}, false},
		"pkg/idempotency":           {nil, false},
		"pkg/ratelimit":             {[]string{"pkg/kyc", "pkg/telemetry"}, false},
		"pkg/webhooks":              {[]string{"pkg/kyc", "pkg/gridhook", "pkg/publicaddr", "pkg/telemetry"}, true},
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
			if aws(imp) && !rule.awsOK {
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
