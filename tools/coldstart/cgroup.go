package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// cpuGroup is a cgroup whose processes share a CPU bandwidth limit, as a
// Lambda sandbox's do (a fraction of one vCPU in proportion to memory).
type cpuGroup struct {
	dir string
	v2  bool
}

// newCPUGroup makes a cgroup limited to share of one CPU per period:
// cgroup v2's cpu.max, or v1's cpu.cfs_quota_us and cpu.cfs_period_us. It
// needs a writable cgroup file system (root, or a delegated subtree).
func newCPUGroup(name string, share float64, period time.Duration) (*cpuGroup, error) {
	quota := int64(share * float64(period.Microseconds()))
	if quota < 1000 {
		return nil, fmt.Errorf("a quota of %d µs per %s is under the kernel's 1 ms minimum", quota, period)
	}
	per := strconv.FormatInt(period.Microseconds(), 10)
	q := strconv.FormatInt(quota, 10)
	if b, err := os.ReadFile("/sys/fs/cgroup/cgroup.controllers"); err == nil && strings.Contains(string(b), "cpu") {
		g := &cpuGroup{dir: filepath.Join("/sys/fs/cgroup", name), v2: true}
		os.WriteFile("/sys/fs/cgroup/cgroup.subtree_control", []byte("+cpu"), 0)
		if err := os.Mkdir(g.dir, 0o755); err != nil {
			return nil, err
		}
		if err := os.WriteFile(filepath.Join(g.dir, "cpu.max"), []byte(q+" "+per), 0); err != nil {
			g.remove()
			return nil, err
		}
		return g, nil
	}
	if _, err := os.Stat("/sys/fs/cgroup/cpu/cpu.cfs_quota_us"); err != nil {
		return nil, errors.New("no cgroup CPU controller (neither v2 cpu.max nor v1 cpu.cfs_quota_us)")
	}
	g := &cpuGroup{dir: filepath.Join("/sys/fs/cgroup/cpu", name)}
	if err := os.Mkdir(g.dir, 0o755); err != nil {
		return nil, err
	}
	for f, v := range map[string]string{"cpu.cfs_period_us": per, "cpu.cfs_quota_us": q} {
		if err := os.WriteFile(filepath.Join(g.dir, f), []byte(v), 0); err != nil {
			g.remove()
			return nil, err
		}
	}
	return g, nil
}

// add moves a process (all its threads) into the group.
func (g *cpuGroup) add(pid int) error {
	return os.WriteFile(filepath.Join(g.dir, "cgroup.procs"), []byte(strconv.Itoa(pid)), 0)
}

// remove deletes the group; its processes must have ended.
func (g *cpuGroup) remove() {
	for range 50 {
		if err := os.Remove(g.dir); err == nil || os.IsNotExist(err) {
			return
		}
		time.Sleep(20 * time.Millisecond) // killed processes still leaving
	}
	fmt.Fprintf(os.Stderr, "coldstart: could not remove the cgroup %s\n", g.dir)
}
