// Package motoserver starts moto_server (a local AWS emulator serving
// DynamoDB, DynamoDB Streams, SQS and Secrets Manager) for tests and for
// make dev, on a free port, and stops it when the test ends.
//
// Clients reach moto through a proxy in this process (Server.URL) that
// runs one DynamoDB call at a time, so that conditional writes and
// transactions are atomic as in DynamoDB (see atomicProxy).
//
// moto_server ships with this project's machine image, so a test that
// needs it and does not find it fails (Need) with the reason; the rest of
// the package still runs.
package motoserver

import (
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// Region is the region the emulator's clients use.
const Region = "us-east-1"

// errMissing is New's answer when moto_server is not on PATH.
var errMissing = errors.New("moto_server is not on PATH; these tests need it (it ships with this project's machine image; elsewhere: pip install 'moto[server]>=5')")

// Server is a running moto_server.
type Server struct {
	URL   string // the proxy in front of moto: point every client here
	cmd   *exec.Cmd
	proxy *http.Server
}

// New starts moto_server on a free loopback port, waits until it
// answers, and serves it through the atomic proxy on another. Stop it
// with Stop.
func New() (*Server, error) {
	bin, err := exec.LookPath("moto_server")
	if err != nil {
		return nil, errMissing
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("find a free port: %w", err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	cmd := exec.Command(bin, "-H", "127.0.0.1", "-p", strconv.Itoa(port))
	if os.Getenv("MOTO_LOG") != "" {
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start moto_server: %w", err)
	}
	s := &Server{cmd: cmd}
	direct := &url.URL{Scheme: "http", Host: net.JoinHostPort("127.0.0.1", strconv.Itoa(port))}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(direct.String() + "/moto-api/")
		if err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			s.Stop()
			return nil, fmt.Errorf("moto_server did not answer on %s within 30s: %w", direct, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	pl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		s.Stop()
		return nil, fmt.Errorf("find a free port for the proxy: %w", err)
	}
	s.proxy = &http.Server{Handler: newAtomicProxy(direct)}
	go s.proxy.Serve(pl)
	s.URL = "http://" + pl.Addr().String()
	return s, nil
}

// Stop ends the proxy and the emulator.
func (s *Server) Stop() {
	if s.proxy != nil {
		s.proxy.Close()
	}
	s.cmd.Process.Kill()
	s.cmd.Wait()
}

// Start runs moto_server for the rest of tb; it fails tb where moto_server
// is not installed (see Need).
func Start(tb testing.TB) *Server {
	tb.Helper()
	s, err := New()
	if errors.Is(err, errMissing) {
		s.Need(tb) // a nil s: fails with the reason
	}
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(s.Stop)
	return s
}

// Main runs a test binary's tests with one moto_server shared by them, and
// stops it afterwards. Use it from TestMain: os.Exit(motoserver.Main(m,
// &srv)). Without moto_server on PATH the tests still run with *srv nil,
// and those that call srv.Need fail with the reason.
func Main(m *testing.M, srv **Server) int {
	s, err := New()
	switch {
	case errors.Is(err, errMissing):
		fmt.Fprintf(os.Stderr, "motoserver: %v; tests that need it fail\n", err)
		return m.Run()
	case err != nil:
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer s.Stop()
	*srv = s
	return m.Run()
}

// Need fails tb when there is no moto_server (s is nil); otherwise it
// returns s.
func (s *Server) Need(tb testing.TB) *Server {
	tb.Helper()
	if s == nil {
		tb.Fatal(errMissing)
	}
	return s
}

// Name returns a table or secret name that no other test, run or -count
// pass uses: the emulator outlives one test, and secrets cannot be
// recreated under a deleted name at once.
func Name(prefix string) string {
	return prefix + "-" + strings.ToLower(rand.Text()[:12])
}

// Config is an AWS configuration pointed at the emulator.
func (s *Server) Config() aws.Config {
	return aws.Config{
		Region:       Region,
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
		BaseEndpoint: aws.String(s.URL),
	}
}

// DynamoDB returns a client for the emulator.
func (s *Server) DynamoDB() *dynamodb.Client { return dynamodb.NewFromConfig(s.Config()) }

// SecretsManager returns a client for the emulator.
func (s *Server) SecretsManager() *secretsmanager.Client {
	return secretsmanager.NewFromConfig(s.Config())
}

// SQS returns a client for the emulator.
func (s *Server) SQS() *sqs.Client { return sqs.NewFromConfig(s.Config()) }
