package main

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseStatTicks(t *testing.T) {
	// pid (comm) state ppid ... utime(14) stime(15): a command name with a
	// space and a parenthesis.
	line := "4242 (boot strap)) S 1 4242 4242 0 -1 4194560 1000 0 0 0 123 45 0 0 20 0 8 0 100 0 0"
	got, err := parseStatTicks(line)
	if err != nil || got != 168 {
		t.Fatalf("parseStatTicks = %d, %v; want 168 (123 + 45)", got, err)
	}
	if _, err := parseStatTicks("4242 (short) S 1"); err == nil {
		t.Fatal("a short stat line was read")
	}
	if _, err := cpuTicks(os.Getpid()); err != nil {
		t.Fatalf("cpuTicks of this process: %v", err)
	}
}

func TestParseInitTrace(t *testing.T) {
	out := "init runtime @0.024 ms, 0.49 ms clock, 0 bytes, 0 allocs\n" +
		"some log line\n" +
		"init github.com/x/y @1.7 ms, 0.65 ms clock, 586696 bytes, 3151 allocs\n" +
		"init github.com/x/y @1.9 ms, 0.010 ms clock, 16 bytes, 1 allocs\n"
	total, pkgs := parseInitTrace(out)
	if total != 1150*time.Microsecond || pkgs["github.com/x/y"] != 660*time.Microsecond || len(pkgs) != 2 {
		t.Fatalf("parseInitTrace = %s, %v", total, pkgs)
	}
}

func TestEnviron(t *testing.T) {
	got := environ([]string{"A=1", "B=2", "GOMAXPROCS=1"}, []string{"B=3", "GOMAXPROCS="}, []string{"C=4"})
	if want := []string{"A=1", "B=3", "C=4"}; !slices.Equal(got, want) {
		t.Fatalf("environ = %v; want %v (later sets win, KEY= unsets)", got, want)
	}
}

func TestParseFunction(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bootstrap")
	os.WriteFile(path, nil, 0o755)
	f, err := parseFunction("kyc-link@main=" + path + " GOMAXPROCS= GODEBUG=x=1")
	if err != nil || f.name != "kyc-link@main" || f.path != path || !slices.Equal(f.env, []string{"GOMAXPROCS=", "GODEBUG=x=1"}) {
		t.Fatalf("parseFunction = %+v, %v", f, err)
	}
	for _, bad := range []string{"", "name", "=" + path, "x=" + path + " NOTKV", "x=/no/such/bootstrap"} {
		if _, err := parseFunction(bad); err == nil {
			t.Errorf("parseFunction(%q) accepted", bad)
		}
	}
}

func TestPercentile(t *testing.T) {
	var ds []time.Duration
	for i := 100; i >= 1; i-- {
		ds = append(ds, time.Duration(i))
	}
	if p50, p99, p100 := percentile(ds, 50), percentile(ds, 99), percentile(ds, 100); p50 != 50 || p99 != 99 || p100 != 100 {
		t.Fatalf("p50 %d p99 %d p100 %d; want 50 99 100", p50, p99, p100)
	}
	if m := median([]time.Duration{3, 1, 2}); m != 2 {
		t.Fatalf("median = %d", m)
	}
	if percentile(nil, 99) != 0 {
		t.Fatal("percentile of nothing")
	}
}

// TestGlobalEnvIsTheTemplates: the cold runs use template.yaml's Globals
// environment, its literal values only; it sets GOMAXPROCS=1.
func TestGlobalEnvIsTheTemplates(t *testing.T) {
	tpl := filepath.Join(t.TempDir(), "template.yaml")
	os.WriteFile(tpl, []byte("Globals:\n  Function:\n    Environment:\n      Variables:\n        GOMAXPROCS: \"1\"\n        N: 2\n        REF: !Ref Param\n"), 0o644)
	got, err := globalEnv(tpl)
	if want := []string{"GOMAXPROCS=1", "N=2"}; err != nil || !slices.Equal(got, want) {
		t.Fatalf("globalEnv = %v, %v; want %v", got, err, want)
	}
	// Every deployed function runs with one P (docs/performance.md, "Cold
	// start and CPU"), and so do the cold runs.
	if got, err := globalEnv("../../template.yaml"); err != nil || !slices.Contains(got, "GOMAXPROCS=1") {
		t.Fatalf("template.yaml's Globals environment = %v, %v; want GOMAXPROCS=1 in it", got, err)
	}
}

func TestThousands(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", 15335586: "15,335,586"} {
		if got := thousands(n); got != want {
			t.Errorf("thousands(%d) = %s; want %s", n, got, want)
		}
	}
	if !strings.Contains(ms(1930*time.Microsecond), "1.93 ms") || ms(38800*time.Microsecond) != "38.8 ms" {
		t.Fatal(ms(1930*time.Microsecond), ms(38800*time.Microsecond))
	}
}

// linkTags are build-KycLinkFunction's (the Makefile's LAMBDA_TAGS
// without TRACING, and the link function's own): the tests build the
// bootstrap that is deployed.
const linkTags = "lambda.norpc,notrace,lambda_link"

func TestLinkTagsAreTheMakefiles(t *testing.T) {
	mk, err := os.ReadFile("../../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	prefix := regexp.MustCompile(`(?m)^LAMBDA_TAGS = (\S+)\$\(if \$\(TRACING\),,notrace,\)$`).FindSubmatch(mk)
	link := regexp.MustCompile(`(?m)^build-KycLinkFunction:\n\t\$\(LAMBDA_BUILD\) -tags \$\(LAMBDA_TAGS\)(\w+) `).FindSubmatch(mk)
	if prefix == nil || link == nil {
		t.Fatal("the Makefile has no LAMBDA_TAGS or build-KycLinkFunction line of the form this test reads")
	}
	if got := string(prefix[1]) + "notrace," + string(link[1]); got != linkTags {
		t.Fatalf("build-KycLinkFunction builds with %s; the tests with %s", got, linkTags)
	}
	if !regexp.MustCompile(`\$\(HOST_BUILD\) -tags \$\(LAMBDA_TAGS\)lambda_link -o \$\(BIN\)/coldstart/kyc-link/bootstrap`).Match(mk) {
		t.Fatal("make coldstart does not build the link bootstrap with build-KycLinkFunction's tags")
	}
}
