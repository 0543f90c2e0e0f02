package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// function is a bootstrap under test and the environment it runs with
// besides the stack's (KEY= unsets a variable).
type function struct {
	name, path string
	env        []string
}

// parseFunction reads -fn's "name=path [KEY=VALUE ...]".
func parseFunction(s string) (function, error) {
	name, rest, ok := strings.Cut(s, "=")
	fields := strings.Fields(rest)
	if !ok || name == "" || len(fields) == 0 {
		return function{}, fmt.Errorf("-fn %q: want name=path [KEY=VALUE ...]", s)
	}
	path, err := filepath.Abs(fields[0])
	if err != nil {
		return function{}, err
	}
	if _, err := os.Stat(path); err != nil {
		return function{}, fmt.Errorf("-fn %s: %w", name, err)
	}
	for _, kv := range fields[1:] {
		if !strings.Contains(kv, "=") {
			return function{}, fmt.Errorf("-fn %s: %q is not KEY=VALUE", name, kv)
		}
	}
	return function{name: name, path: path, env: fields[1:]}, nil
}

// environ is base with each of over set in it (or removed: KEY=).
func environ(base []string, over ...[]string) []string {
	vars := map[string]string{}
	var order []string
	set := func(kv string) {
		k, v, _ := strings.Cut(kv, "=")
		if _, seen := vars[k]; !seen {
			order = append(order, k)
		}
		vars[k] = v
	}
	for _, kv := range base {
		set(kv)
	}
	for _, o := range over {
		for _, kv := range o {
			set(kv)
		}
	}
	var out []string
	for _, k := range order {
		if vars[k] != "" {
			out = append(out, k+"="+vars[k])
		}
	}
	return out
}

// emulator is one Lambda Runtime Interface Emulator running one bootstrap
// (started on the first invocation, as Lambda does), in a process group
// of its own.
type emulator struct {
	cmd *exec.Cmd
	out *syncBuffer
	url string
}

// startRIE starts rie with bootstrap and env (nothing of this process's
// environment but PATH), and returns once it accepts connections.
func startRIE(rie, bootstrap string, env []string) (*emulator, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	apiAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(rie, "--runtime-interface-emulator-address", addr, "--runtime-api-address", apiAddr, bootstrap)
	cmd.Env = environ([]string{"PATH=" + os.Getenv("PATH"), "AWS_LAMBDA_FUNCTION_TIMEOUT=10"}, env)
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start the emulator: %w", err)
	}
	e := &emulator{cmd: cmd, out: out, url: "http://" + addr + "/2015-03-31/functions/function/invocations"}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return e, nil
		}
		if time.Now().After(deadline) {
			e.stop()
			return nil, fmt.Errorf("the emulator did not listen on %s within 10 s:\n%s", addr, out.String())
		}
	}
}

// stop kills the emulator and the bootstrap it started (its process
// group).
func (e *emulator) stop() {
	syscall.Kill(-e.cmd.Process.Pid, syscall.SIGKILL)
	e.cmd.Wait()
}

// client sends invocations; no connection is shared between emulators.
var client = &http.Client{Timeout: 30 * time.Second}

// invoke sends one event and returns the function's status code and how
// long the answer took.
func (e *emulator) invoke(body []byte) (int, time.Duration, error) {
	start := time.Now()
	resp, err := client.Post(e.url, "application/json", bytes.NewReader(body))
	if err != nil {
		return 0, 0, err
	}
	raw, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	took := time.Since(start)
	if err != nil {
		return 0, 0, err
	}
	var ans struct {
		StatusCode int `json:"statusCode"`
	}
	if err := json.Unmarshal(raw, &ans); err != nil || ans.StatusCode == 0 {
		return 0, took, fmt.Errorf("not an API Gateway answer: %.300s", raw)
	}
	return ans.StatusCode, took, nil
}

// mustCreate invokes and wants the link's 201.
func (e *emulator) mustCreate(body []byte) (time.Duration, error) {
	status, took, err := e.invoke(body)
	if err == nil && status != http.StatusCreated {
		err = fmt.Errorf("status %d; want 201", status)
	}
	if err != nil {
		return 0, fmt.Errorf("%w\nemulator output:\n%s", err, tail(e.out.String(), 3000))
	}
	return took, nil
}

var initReport = regexp.MustCompile(`INIT REPORT\(durationMs: ([0-9.]+)\)`)

// initDuration is the emulator's INIT REPORT: from the bootstrap's start
// to its first request for an invocation (package init, main, Prime).
func (e *emulator) initDuration() (time.Duration, bool) {
	for deadline := time.Now().Add(time.Second); ; time.Sleep(5 * time.Millisecond) {
		if m := initReport.FindStringSubmatch(e.out.String()); m != nil {
			ms, _ := strconv.ParseFloat(m[1], 64)
			return time.Duration(ms * float64(time.Millisecond)), true
		}
		if time.Now().After(deadline) {
			return 0, false
		}
	}
}

// bootstrapPID is the pid of the process the emulator started (after the
// first invocation).
func (e *emulator) bootstrapPID() (int, error) {
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", e.cmd.Process.Pid))
	for _, t := range tasks {
		b, _ := os.ReadFile(t)
		for _, f := range strings.Fields(string(b)) {
			if pid, err := strconv.Atoi(f); err == nil {
				return pid, nil
			}
		}
	}
	return 0, errors.New("the emulator has started no bootstrap")
}

// cpuTicks is a process's user and system CPU time so far, in clock ticks
// (/proc/<pid>/stat utime+stime; exited threads included).
func cpuTicks(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	return parseStatTicks(string(b))
}

// parseStatTicks reads utime+stime (fields 14 and 15) of a stat line; the
// command name (field 2) may hold spaces and parentheses.
func parseStatTicks(stat string) (int64, error) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, errors.New("not a /proc stat line")
	}
	f := strings.Fields(stat[i+1:]) // field 3 onwards
	if len(f) < 13 {
		return 0, errors.New("short /proc stat line")
	}
	u, err1 := strconv.ParseInt(f[11], 10, 64)
	s, err2 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, err
	}
	return u + s, nil
}

// clockTick is USER_HZ, the unit of /proc's CPU times: 100 on every Linux
// architecture Go supports.
const clockTick = 10 * time.Millisecond

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}
