// Package e2e runs a function's real binary in local mode for end-to-end
// tests: build it once per test binary, start it on a free port, collect
// its JSON log, and stop it with the test.
package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/grid-kyc/kyc-link/internal/logbuf"
)

// Main builds the package in the current directory into a temporary
// binary (with the build tags given, if any), sets *binary to its path,
// runs the tests and removes it. Use it from TestMain:
// os.Exit(e2e.Main(m, "name", &binary)).
func Main(m *testing.M, name string, binary *string, tags ...string) int {
	dir, err := os.MkdirTemp("", name+"-e2e")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	*binary = filepath.Join(dir, name)
	args := []string{"build", "-o", *binary}
	if len(tags) > 0 {
		args = append(args, "-tags", strings.Join(tags, ","))
	}
	if out, err := exec.Command("go", append(args, ".")...).CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build: %v\n%s", err, out)
		return 1
	}
	return m.Run()
}

// Start runs binary in local mode (PORT=0, not under Lambda) with env added
// to the test's environment, waits for its "listening" log line and returns
// the URL that line names, the process and its log. The process is
// interrupted and reaped when t ends.
func Start(t *testing.T, binary string, env ...string) (string, *exec.Cmd, *logbuf.Buffer) {
	t.Helper()
	cmd := exec.Command(binary)
	cmd.Env = append(os.Environ(), append([]string{"PORT=0", "AWS_LAMBDA_RUNTIME_API="}, env...)...)
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Signal(os.Interrupt); cmd.Wait() })
	logs := &logbuf.Buffer{}
	urlc := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			logs.Write(append(sc.Bytes(), '\n'))
			var line map[string]any
			if json.Unmarshal(sc.Bytes(), &line) == nil && line["msg"] == "listening" {
				u, _ := line["url"].(string)
				urlc <- u
			}
			if testing.Verbose() {
				fmt.Println(sc.Text())
			}
		}
	}()
	select {
	case u := <-urlc:
		return u, cmd, logs
	case <-time.After(20 * time.Second):
		t.Fatal("the binary did not start listening")
		return "", nil, nil
	}
}
