package gridhooktest

import (
	"bufio"
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// NodeVerifier is the platform-side check in Node.js (nodeverify.js): the
// same rules Grid's own platform-side verifier applies.
//
//go:embed nodeverify.js
var NodeVerifier string

// Node is the path of node; a missing node fails t with the reason (it ships
// with this project's machine image).
func Node(t testing.TB) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("node is not installed (it ships with this project's machine image; elsewhere install Node.js 18 or later): " + err.Error())
	}
	return node
}

// NodeVerify reports whether Node's crypto.verify accepts header for body
// with the public key publicPEM, as a platform on Node.js checks it.
func NodeVerify(t testing.TB, publicPEM, header string, body []byte) bool {
	t.Helper()
	cmd := exec.Command(Node(t), "-e", NodeVerifier, "verify")
	cmd.Env = append(os.Environ(), "PUB="+publicPEM, "HEADER="+header, "BODY="+base64.StdEncoding.EncodeToString(body))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node: %v: %s", err, out)
	}
	switch string(out) {
	case "true":
		return true
	case "false":
		return false
	}
	t.Fatalf("node printed %q", out)
	return false
}

// NodeResult is what the Node platform made of one webhook.
type NodeResult struct {
	ID        string `json:"id"`
	Type      string `json:"type"`
	Verified  bool   `json:"verified"`
	Duplicate bool   `json:"duplicate"`
}

// NodePlatform is a platform endpoint served by Node.js that verifies each
// webhook with NodeVerifier before answering (200, 401, or 409 for an id it
// has seen).
type NodePlatform struct {
	URL     string // where to deliver, e.g. http://127.0.0.1:4711/hook
	results chan NodeResult
}

// StartNodePlatform starts one; it stops when t ends.
func StartNodePlatform(t testing.TB) *NodePlatform {
	t.Helper()
	cmd := exec.Command(Node(t), "-e", NodeVerifier, "serve")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	p := &NodePlatform{results: make(chan NodeResult, 100)}
	port := make(chan int, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for first := true; sc.Scan(); first = false {
			if first {
				var hello struct{ Port int }
				json.Unmarshal(sc.Bytes(), &hello)
				port <- hello.Port
				continue
			}
			var r NodeResult
			if json.Unmarshal(sc.Bytes(), &r) == nil {
				p.results <- r
			}
		}
		close(p.results)
	}()
	select {
	case n := <-port:
		if n == 0 {
			t.Fatal("the Node platform did not say its port")
		}
		p.URL = "http://127.0.0.1:" + strconv.Itoa(n) + "/hook"
	case <-time.After(20 * time.Second):
		t.Fatal("the Node platform did not start")
	}
	return p
}

// PinKey gives the platform the public key PEM it verifies against.
func (p *NodePlatform) PinKey(t testing.TB, publicPEM string) {
	t.Helper()
	resp, err := http.Post(strings.TrimSuffix(p.URL, "/hook")+"/key", "application/x-pem-file", strings.NewReader(publicPEM))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
}

// Next waits up to timeout for the platform's verdict on the next webhook.
func (p *NodePlatform) Next(t testing.TB, timeout time.Duration) NodeResult {
	t.Helper()
	select {
	case r, ok := <-p.results:
		if !ok {
			t.Fatal("the Node platform stopped")
		}
		return r
	case <-time.After(timeout):
		t.Fatalf("no webhook reached the Node platform within %s", timeout)
		return NodeResult{}
	}
}
