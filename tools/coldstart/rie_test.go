//go:build integration

package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/grid-kyc/kyc-link/internal/faultproxy"
	"github.com/grid-kyc/kyc-link/pkg/sumsub/sumsubtest"
)

// rie is the emulator make test installs ($KYC_RIE), or bin/'s.
func rie(t *testing.T) string {
	p := os.Getenv("KYC_RIE")
	if p == "" {
		p = "../../bin/aws-lambda-rie"
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("the Lambda Runtime Interface Emulator (make bin/aws-lambda-rie installs it): %v", err)
	}
	return p
}

var (
	buildMu sync.Mutex
	built   = map[string]string{}
)

// build builds pkg's bootstrap with tags as make coldstart does, once per
// test binary.
func build(t *testing.T, pkg, tags string) string {
	buildMu.Lock()
	defer buildMu.Unlock()
	if p, ok := built[pkg]; ok {
		return p
	}
	dir, err := os.MkdirTemp("", "coldstart-test-")
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "bootstrap")
	cmd := exec.Command("go", "build", "-tags", tags, "-trimpath", "-o", out, pkg)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, b)
	}
	built[pkg] = out
	return out
}

func TestMain(m *testing.M) {
	code := m.Run()
	for _, p := range built {
		os.RemoveAll(filepath.Dir(p))
	}
	os.Exit(code)
}

// TestBothFunctionsAnswerUnderTheRIE runs what make coldstart measures,
// once each, and checks only what is not time: both functions answer the
// event with the link's 201 under the emulator on moto, the minimal one's
// Sumsub request is signed as Sumsub wants it (the fake Sumsub refused
// none), and each part of the report is printed.
func TestBothFunctionsAnswerUnderTheRIE(t *testing.T) {
	emulator := rie(t)
	o := options{rie: emulator, baseline: "minimal", runs: 1, inittrace: 1, cpuRequests: 2, cpuRounds: 1, gomaxprocs: []string{"1", "2"},
		fns: []function{{name: "minimal", path: build(t, "./minimal", "lambda.norpc")}, {name: "kyc-link", path: build(t, "../../functions/kyc-link", linkTags)}}}
	ev, err := readEvent("../../events/v1-success.json")
	if err != nil {
		t.Fatal(err)
	}
	st, err := newStack(context.Background(), ev, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer st.stop()
	globals, err := globalEnv("../../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	env := environ(st.env, globals)

	var out bytes.Buffer
	alone := o
	alone.fns = o.fns[:1]
	if err := coldRuns(&out, alone, env, ev); err != nil {
		t.Fatal(err)
	}
	if n, refused := st.sumsub.Count(sumsubtest.LinkPath), st.sumsub.Rejected(); n != 1 || refused != 0 {
		t.Fatalf("the minimal function: %d accepted link requests, %d refused; want 1 and 0", n, refused)
	}
	if err := coldRuns(&out, o, env, ev); err != nil {
		t.Fatal(err)
	}
	if err := initTraces(&out, o, env); err != nil {
		t.Fatal(err)
	}
	if err := warmCPU(&out, o, env, o.fns[1], ev); err != nil {
		t.Fatal(err)
	}
	if refused := st.sumsub.Rejected(); refused != 0 {
		t.Fatalf("the fake Sumsub refused %d requests", refused)
	}
	report := out.String()
	for _, want := range []string{"ratio to minimal", "\nkyc-link ", "\nminimal ", "Package init", "  kyc-link: ", "GOMAXPROCS=1 ", "GOMAXPROCS=2 "} {
		if !strings.Contains(report, want) {
			t.Errorf("the report has no %q:\n%s", want, report)
		}
	}
}

// TestLinkColdStartScansNoTable: the link function's Lambda init (its
// start-up steps) and first request read the platforms table, if at all,
// one platform at a time: no Scan, whatever the number of platforms; and
// the secrets in one call.
func TestLinkColdStartScansNoTable(t *testing.T) {
	emulator := rie(t)
	ev, err := readEvent("../../events/v1-success.json")
	if err != nil {
		t.Fatal(err)
	}
	st, err := newStack(context.Background(), ev, 3)
	if err != nil {
		t.Fatal(err)
	}
	defer st.stop()
	proxy := faultproxy.New(t, st.moto.URL)
	globals, err := globalEnv("../../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	e, err := startRIE(emulator, build(t, "../../functions/kyc-link", linkTags), environ(st.env, globals, []string{"AWS_ENDPOINT_URL=" + proxy.URL}))
	if err != nil {
		t.Fatal(err)
	}
	defer e.stop()
	if _, err := e.mustCreate(ev.body("")); err != nil {
		t.Fatal(err)
	}
	if gets := proxy.Count("GetItem"); gets == 0 {
		t.Fatalf("no GetItem went through the proxy; want the customer's")
	}
	// The start-up secrets (tokens, Sumsub, idempotency key) come in one
	// batch read.
	if batches, singles := proxy.Count("BatchGetSecretValue"), proxy.Count("GetSecretValue"); batches != 1 || singles != 0 {
		t.Errorf("%d BatchGetSecretValue and %d GetSecretValue calls; want the secrets in one batch", batches, singles)
	}
	if n := proxy.Count("Scan"); n != 0 {
		t.Errorf("the cold start scanned %d times; want no Scan (each platform's limit loads on its first link)", n)
	}
}
