// Command coldstart measures the link function's Lambda cold start against
// a minimal hand-written function doing the same work (./minimal), and
// its CPU per warm request with each GOMAXPROCS setting: make coldstart
// (and make bench) builds the bootstraps and runs it; docs/performance.md,
// "Cold start and CPU", has the method and the figures.
//
// Everything runs on this machine: moto_server with template.yaml's tables
// and secrets (internal/motostack), the fake Sumsub (which checks every
// signature), and for each run a fresh Lambda Runtime Interface Emulator
// that starts the bootstrap on its first invocation, as Lambda does. The
// functions run with template.yaml's Globals environment (GOMAXPROCS).
//
//   - Cold total: from sending the first event to a freshly started
//     emulator to its answer (the bootstrap's process start, package init,
//     main and its start-up steps, the first request), medians of -runs
//     runs, the functions' order alternating from run to run; init is the
//     emulator's INIT REPORT (the bootstrap's start to its first request
//     for work).
//   - Package init: GODEBUG=inittrace=1, the sum of every package's init
//     clock, and the largest.
//   - CPU per warm request: utime+stime of the bootstrap (/proc/<pid>/stat)
//     over -cpu-rounds × -cpu-requests requests one after the other, per
//     GOMAXPROCS setting, the settings alternating round by round.
//   - Latency at a CPU share (-share of one CPU per -period; 128 MB is
//     128/1769 of a vCPU): the warm bootstrap moved into a cgroup with that
//     CPU bandwidth limit, p50 and p99 of -p99-requests requests per
//     setting. Needs a writable cgroup CPU controller (root); without one it
//     says so and skips.
//   - Binary sizes: every <dir>/<function>/bootstrap of -sizes.
//
// It asserts nothing about time (tools/coldstart's test checks only that
// both functions answer): the figures are for reading.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"
)

type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ", ") }
func (l *listFlag) Set(s string) error { *l = append(*l, s); return nil }

type options struct {
	rie, event, template, baseline string
	fns                            []function
	runs, platforms, inittrace     int
	cpu                            []string
	gomaxprocs                     []string
	cpuRequests, cpuRounds         int
	share                          float64
	period, pace                   time.Duration
	p99Requests                    int
	sizes                          string
}

func main() {
	var o options
	var fns listFlag
	var cpu, procs string
	flag.StringVar(&o.rie, "rie", "bin/aws-lambda-rie", "the Lambda Runtime Interface Emulator")
	flag.Var(&fns, "fn", `a bootstrap to measure: "name=path [KEY=VALUE ...]" (KEY= unsets); repeat`)
	flag.StringVar(&o.baseline, "baseline", "minimal", "the -fn the others' cold totals are divided by")
	flag.StringVar(&o.event, "event", "events/v1-success.json", "the API Gateway event (its customer and token are seeded)")
	flag.StringVar(&o.template, "template", "template.yaml", "the SAM template (its Globals environment is every function's)")
	flag.IntVar(&o.runs, "runs", 11, "cold runs per function, alternating")
	flag.IntVar(&o.platforms, "platforms", 0, "platform items seeded besides the event's (a start-up Scan reads them all)")
	flag.IntVar(&o.inittrace, "inittrace", 5, "GODEBUG=inittrace=1 runs per function (0: none)")
	flag.StringVar(&cpu, "cpu", "kyc-link", "comma-separated -fn names whose warm CPU and latency at -share are measured (empty: none)")
	flag.StringVar(&procs, "gomaxprocs", "1,2", "the GOMAXPROCS settings compared")
	flag.IntVar(&o.cpuRequests, "cpu-requests", 500, "warm requests per setting, variant and round (0: skip)")
	flag.IntVar(&o.cpuRounds, "cpu-rounds", 3, "rounds of the CPU measurement")
	flag.Float64Var(&o.share, "share", 128.0/1769, "CPU share for the latency measurement, of one CPU (128 MB: 128/1769)")
	flag.DurationVar(&o.period, "period", 100*time.Millisecond, "the CPU bandwidth limit's period (the kernel's default)")
	flag.DurationVar(&o.pace, "pace", 0, "pause between the latency measurement's requests")
	flag.IntVar(&o.p99Requests, "p99-requests", 400, "requests per setting and variant at -share (0: skip)")
	flag.StringVar(&o.sizes, "sizes", "", "print the size of every <dir>/<function>/bootstrap, for comma-separated dirs")
	flag.Parse()
	for _, s := range fns {
		f, err := parseFunction(s)
		if err != nil {
			fail(err)
		}
		o.fns = append(o.fns, f)
	}
	o.cpu = splitList(cpu)
	o.gomaxprocs = splitList(procs)
	if err := run(o, os.Stdout); err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "coldstart:", err)
	os.Exit(1)
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func run(o options, w io.Writer) error {
	if len(o.fns) == 0 {
		return fmt.Errorf("no -fn given")
	}
	if _, err := os.Stat(o.rie); err != nil {
		return fmt.Errorf("-rie: %w (make bin/aws-lambda-rie installs it)", err)
	}
	ev, err := readEvent(o.event)
	if err != nil {
		return err
	}
	globals, err := globalEnv(o.template)
	if err != nil {
		return err
	}
	ctx := context.Background()
	st, err := newStack(ctx, ev, o.platforms)
	if err != nil {
		return err
	}
	defer st.stop()
	env := environ(st.env, globals)
	fmt.Fprintf(w, "Environment: moto (template.yaml's tables and secrets, %d platform items), the fake Sumsub, the Lambda RIE; template.yaml Globals: %s\n\n",
		o.platforms+1, orNone(strings.Join(globals, " ")))

	if o.runs > 0 {
		if err := coldRuns(w, o, env, ev); err != nil {
			return err
		}
	}
	if o.inittrace > 0 {
		if err := initTraces(w, o, env); err != nil {
			return err
		}
	}
	for _, name := range o.cpu {
		i := slices.IndexFunc(o.fns, func(f function) bool { return f.name == name })
		if i < 0 {
			return fmt.Errorf("-cpu %s: no such -fn", name)
		}
		if o.cpuRequests > 0 && o.cpuRounds > 0 {
			if err := warmCPU(w, o, env, o.fns[i], ev); err != nil {
				return err
			}
		}
		if o.p99Requests > 0 {
			if err := latencyAtShare(w, o, env, o.fns[i], ev); err != nil {
				return err
			}
		}
	}
	if o.sizes != "" {
		return printSizes(w, o.sizes)
	}
	return nil
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// coldRuns starts each function cold -runs times, rotating their order
// run by run, and prints the medians.
func coldRuns(w io.Writer, o options, env []string, ev *event) error {
	cold := map[string][]time.Duration{}
	inits := map[string][]time.Duration{}
	for r := range o.runs {
		for i := range o.fns {
			f := o.fns[(i+r)%len(o.fns)]
			e, err := startRIE(o.rie, f.path, environ(env, f.env))
			if err != nil {
				return err
			}
			time.Sleep(50 * time.Millisecond) // the emulator's own start settles
			took, err := e.mustCreate(ev.body(""))
			if err != nil {
				e.stop()
				return fmt.Errorf("%s, cold run %d: %w", f.name, r+1, err)
			}
			if d, ok := e.initDuration(); ok {
				inits[f.name] = append(inits[f.name], d)
			}
			e.stop()
			cold[f.name] = append(cold[f.name], took)
		}
	}
	fmt.Fprintf(w, "Cold start: first answer of a fresh emulator (process start, init, first request), medians of %d runs, order rotating\n", o.runs)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "function\tcold total\t(min–max)\tinit (INIT REPORT)\trest (exec, first request)\tratio to %s\n", o.baseline)
	base := median(cold[o.baseline])
	for _, f := range o.fns {
		c, in := median(cold[f.name]), median(inits[f.name])
		ratio := "-"
		if base > 0 {
			ratio = fmt.Sprintf("%.2f", float64(c)/float64(base))
		}
		fmt.Fprintf(tw, "%s\t%s\t(%s–%s)\t%s\t%s\t%s\n", f.name, ms(c), ms(slices.Min(cold[f.name])), ms(slices.Max(cold[f.name])),
			ms(in), ms(c-in), ratio)
	}
	tw.Flush()
	fmt.Fprintln(w)
	return nil
}

var initLine = regexp.MustCompile(`^init (\S+) @[0-9.]+ ms, ([0-9.]+) ms clock`)

// initTraces runs each bootstrap -inittrace times with
// GODEBUG=inittrace=1 (against a runtime API that refuses, so it stops
// after main) and prints the package init total and its largest parts.
func initTraces(w io.Writer, o options, env []string) error {
	fmt.Fprintf(w, "Package init (GODEBUG=inittrace=1, the sum of every package's init clock; medians of %d runs)\n", o.inittrace)
	closed, err := freeAddr() // nothing listens there
	if err != nil {
		return err
	}
	for _, f := range o.fns {
		var totals []time.Duration
		per := map[string][]time.Duration{}
		for range o.inittrace {
			cmd := exec.Command(f.path)
			cmd.Env = environ(env, f.env, []string{"PATH=" + os.Getenv("PATH"), "GODEBUG=inittrace=1", "AWS_LAMBDA_RUNTIME_API=" + closed})
			cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
			out := &syncBuffer{}
			cmd.Stderr, cmd.Stdout = out, io.Discard
			if err := cmd.Start(); err != nil {
				return err
			}
			timer := time.AfterFunc(20*time.Second, func() { syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) })
			cmd.Wait()
			timer.Stop()
			total, pkgs := parseInitTrace(out.String())
			if len(pkgs) == 0 {
				return fmt.Errorf("%s printed no init trace:\n%s", f.name, tail(out.String(), 2000))
			}
			totals = append(totals, total)
			for p, d := range pkgs {
				per[p] = append(per[p], d)
			}
		}
		type pkg struct {
			name string
			d    time.Duration
		}
		var top []pkg
		for p, ds := range per {
			top = append(top, pkg{p, median(ds)})
		}
		sort.Slice(top, func(i, j int) bool { return top[i].d > top[j].d || top[i].d == top[j].d && top[i].name < top[j].name })
		fmt.Fprintf(w, "  %s: %s in %d packages; largest:", f.name, ms(median(totals)), len(per))
		for _, p := range top[:min(8, len(top))] {
			fmt.Fprintf(w, " %s %s;", p.name, ms(p.d))
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintln(w)
	return nil
}

// parseInitTrace sums inittrace's lines: the total init clock and each
// package's.
func parseInitTrace(s string) (time.Duration, map[string]time.Duration) {
	pkgs := map[string]time.Duration{}
	var total time.Duration
	for _, line := range strings.Split(s, "\n") {
		m := initLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		v, _ := strconv.ParseFloat(m[2], 64)
		d := time.Duration(v * float64(time.Millisecond))
		pkgs[m[1]] += d
		total += d
	}
	return total, pkgs
}

// warm is one bootstrap kept warm under its emulator with one GOMAXPROCS
// setting.
type warm struct {
	setting string
	e       *emulator
	pid     int
	keys    int
}

func startWarm(o options, env []string, f function, setting string, ev *event) (*warm, error) {
	e, err := startRIE(o.rie, f.path, environ(env, f.env, []string{"GOMAXPROCS=" + setting}))
	if err != nil {
		return nil, err
	}
	wm := &warm{setting: setting, e: e}
	for range 20 { // the first is the cold start; then both variants warm
		if err := wm.call(ev, false); err != nil {
			e.stop()
			return nil, err
		}
		if err := wm.call(ev, true); err != nil {
			e.stop()
			return nil, err
		}
	}
	if wm.pid, err = e.bootstrapPID(); err != nil {
		e.stop()
		return nil, err
	}
	return wm, nil
}

// call sends the event, keyed with a new Idempotency-Key or not.
func (wm *warm) call(ev *event, keyed bool) error {
	_, err := wm.timed(ev, keyed)
	return err
}

func (wm *warm) timed(ev *event, keyed bool) (time.Duration, error) {
	key := ""
	if keyed {
		wm.keys++
		key = fmt.Sprintf("coldstart-%s-%d-%d", wm.setting, os.Getpid(), wm.keys)
	}
	took, err := wm.e.mustCreate(ev.body(key))
	if err != nil {
		return 0, fmt.Errorf("GOMAXPROCS=%s: %w", wm.setting, err)
	}
	return took, nil
}

var variants = []struct {
	name  string
	keyed bool
}{{"no key", false}, {"keyed (new Idempotency-Key)", true}}

// warmCPU prints f's CPU per warm request for each GOMAXPROCS setting.
func warmCPU(w io.Writer, o options, env []string, f function, ev *event) error {
	var ws []*warm
	defer func() {
		for _, wm := range ws {
			wm.e.stop()
		}
	}()
	for _, s := range o.gomaxprocs {
		wm, err := startWarm(o, env, f, s, ev)
		if err != nil {
			return err
		}
		ws = append(ws, wm)
	}
	ticks := make([][]int64, len(ws)) // [setting][variant]
	for i := range ticks {
		ticks[i] = make([]int64, len(variants))
	}
	for r := range o.cpuRounds {
		for j := range ws {
			i := j
			if r%2 == 1 {
				i = len(ws) - 1 - j
			}
			wm := ws[i]
			for v, variant := range variants {
				before, err := cpuTicks(wm.pid)
				if err != nil {
					return err
				}
				for range o.cpuRequests {
					if err := wm.call(ev, variant.keyed); err != nil {
						return err
					}
				}
				after, err := cpuTicks(wm.pid)
				if err != nil {
					return err
				}
				ticks[i][v] += after - before
			}
		}
	}
	n := o.cpuRounds * o.cpuRequests
	fmt.Fprintf(w, "CPU per warm request, %s (utime+stime of the bootstrap, /proc/<pid>/stat, over %d requests one after the other per cell; settings alternating in %d rounds)\n",
		f.name, n, o.cpuRounds)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprint(tw, "setting")
	for _, v := range variants {
		fmt.Fprintf(tw, "\t%s", v.name)
	}
	fmt.Fprintln(tw)
	for i, wm := range ws {
		fmt.Fprintf(tw, "GOMAXPROCS=%s", wm.setting)
		for v := range variants {
			per := time.Duration(ticks[i][v]) * clockTick / time.Duration(n)
			fmt.Fprintf(tw, "\t%s (%d ticks)", ms(per), ticks[i][v])
		}
		fmt.Fprintln(tw)
	}
	if len(ws) == 2 {
		fmt.Fprintf(tw, "ratio %s / %s", ws[0].setting, ws[1].setting)
		for v := range variants {
			fmt.Fprintf(tw, "\t%.2f", float64(ticks[0][v])/float64(ticks[1][v]))
		}
		fmt.Fprintln(tw)
	}
	tw.Flush()
	fmt.Fprintln(w)
	return nil
}

// latencyAtShare prints f's warm latency, p50 and p99, for each GOMAXPROCS
// setting with the bootstrap in a cgroup limited to -share of a CPU.
func latencyAtShare(w io.Writer, o options, env []string, f function, ev *event) error {
	title := fmt.Sprintf("Warm latency at a CPU share, %s (the bootstrap in a cgroup limited to %.1f%% of one CPU: %d µs per %s; %d requests per cell one after the other, pause %s; settings alternating every 50)",
		f.name, o.share*100, int64(o.share*float64(o.period.Microseconds())), o.period, o.p99Requests, o.pace)
	var ws []*warm
	var groups []*cpuGroup
	defer func() {
		for _, wm := range ws {
			wm.e.stop()
		}
		for _, g := range groups {
			g.remove()
		}
	}()
	for _, s := range o.gomaxprocs {
		wm, err := startWarm(o, env, f, s, ev)
		if err != nil {
			return err
		}
		ws = append(ws, wm)
		g, err := newCPUGroup(fmt.Sprintf("coldstart-%d-%s", os.Getpid(), s), o.share, o.period)
		if err != nil {
			fmt.Fprintf(w, "%s\n  not measured: %v\n\n", title, err)
			return nil
		}
		groups = append(groups, g)
		if err := g.add(wm.pid); err != nil {
			fmt.Fprintf(w, "%s\n  not measured: moving the bootstrap into %s: %v\n\n", title, g.dir, err)
			return nil
		}
	}
	lat := make([][][]time.Duration, len(ws))
	for i := range lat {
		lat[i] = make([][]time.Duration, len(variants))
	}
	const block = 50
	for done := 0; done < o.p99Requests; done += block {
		for j := range ws {
			i := j
			if (done/block)%2 == 1 {
				i = len(ws) - 1 - j
			}
			for v, variant := range variants {
				for range min(block, o.p99Requests-done) {
					took, err := ws[i].timed(ev, variant.keyed)
					if err != nil {
						return err
					}
					lat[i][v] = append(lat[i][v], took)
					time.Sleep(o.pace)
				}
			}
		}
	}
	fmt.Fprintln(w, title)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprint(tw, "setting")
	for _, v := range variants {
		fmt.Fprintf(tw, "\t%s p50\tp99", v.name)
	}
	fmt.Fprintln(tw)
	for i, wm := range ws {
		fmt.Fprintf(tw, "GOMAXPROCS=%s", wm.setting)
		for v := range variants {
			fmt.Fprintf(tw, "\t%s\t%s", ms(percentile(lat[i][v], 50)), ms(percentile(lat[i][v], 99)))
		}
		fmt.Fprintln(tw)
	}
	tw.Flush()
	fmt.Fprintln(w)
	return nil
}

// printSizes prints every <dir>/<function>/bootstrap's size, for each of
// the comma-separated dirs.
func printSizes(w io.Writer, dirs string) error {
	fmt.Fprintln(w, "Bootstraps (stripped)")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	for _, dir := range splitList(dirs) {
		paths, err := filepath.Glob(filepath.Join(dir, "*", "bootstrap"))
		if err != nil || len(paths) == 0 {
			return fmt.Errorf("-sizes %s: no <function>/bootstrap there", dir)
		}
		for _, p := range paths {
			fi, err := os.Stat(p)
			if err != nil {
				return err
			}
			fmt.Fprintf(tw, "%s\t%s B\t%.1f MB\t\n", p, thousands(fi.Size()), float64(fi.Size())/1e6)
		}
	}
	return tw.Flush()
}

func thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

func median(ds []time.Duration) time.Duration { return percentile(ds, 50) }

// percentile is the nearest-rank p-th percentile (0 for none).
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	if p == 50 && len(s)%2 == 0 {
		return (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	rank := int(float64(len(s))*p/100+0.999999) - 1
	return s[min(max(rank, 0), len(s)-1)]
}

func ms(d time.Duration) string {
	v := float64(d) / float64(time.Millisecond)
	if v < 10 {
		return fmt.Sprintf("%.2f ms", v)
	}
	return fmt.Sprintf("%.1f ms", v)
}
