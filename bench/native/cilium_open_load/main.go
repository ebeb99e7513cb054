// cilium/ebpf peer of bench/cases/load-peers.mjs: open + load + close of one object in a
// loop with cilium/ebpf (Debian's golang-github-cilium-ebpf-dev 0.9.1, built by
// scripts/bench-go-peer.sh with Debian's Go 1.19, GOPATH mode, no network).
//
//	cilium-open-load OBJ N
//
// The kernel's BTF is parsed once before the loop (btf.LoadKernelSpec) and passed to every
// load as ProgramOptions.KernelTypes, as cilium/ebpf's callers keep it (newer releases cache
// it themselves); when it cannot be parsed the reason goes to stderr as
// `kernel-types-error: ...` and loads run without it (cilium then fails on any CO-RE
// relocation). Per iteration, timed with the monotonic clock: ebpf.LoadCollectionSpec +
// ebpf.NewCollectionWithOptions, then (untimed) each program's kernel id, then (timed)
// Collection.Close. Output as bench/native/open_load.c:
//
//	iter I MS PROGS ID,ID,...
//	vmhwm KB
//
// (VmHWM of /proc/self/status: the peak resident set of this process image; getrusage's
// Maxrss would also keep the pre-exec copy of the parent's, see bench/README.md.)
//
// Exit status 1 when anything fails, with cilium/ebpf's error on stderr.
package main

import (
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"
)

func fail(format string, a ...interface{}) {
	fmt.Fprintf(os.Stderr, format+"\n", a...)
	os.Exit(1)
}

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintf(os.Stderr, "usage: %s OBJ N\n", os.Args[0])
		os.Exit(2)
	}
	path := os.Args[1]
	n, err := strconv.Atoi(os.Args[2])
	if err != nil {
		fail("N: %v", err)
	}
	kernel, err := btf.LoadKernelSpec()
	if err != nil {
		fmt.Fprintf(os.Stderr, "kernel-types-error: %v\n", err)
		kernel = nil
	}
	opts := ebpf.CollectionOptions{Programs: ebpf.ProgramOptions{KernelTypes: kernel}}
	for i := 1; i <= n; i++ {
		t0 := time.Now()
		spec, err := ebpf.LoadCollectionSpec(path)
		if err != nil {
			fail("LoadCollectionSpec(%s): %v", path, err)
		}
		coll, err := ebpf.NewCollectionWithOptions(spec, opts)
		if err != nil {
			fail("NewCollectionWithOptions(%s): %v", path, err)
		}
		loaded := time.Since(t0)
		names := make([]string, 0, len(coll.Programs))
		for name := range coll.Programs {
			names = append(names, name)
		}
		sort.Strings(names)
		ids := make([]string, 0, len(names))
		for _, name := range names {
			info, err := coll.Programs[name].Info()
			if err != nil {
				fail("program %s: info: %v", name, err)
			}
			id, ok := info.ID()
			if !ok {
				fail("program %s: the kernel reports no id", name)
			}
			ids = append(ids, strconv.FormatUint(uint64(id), 10))
		}
		t2 := time.Now()
		coll.Close()
		closed := time.Since(t2)
		fmt.Printf("iter %d %.4f %d %s\n", i, float64((loaded+closed).Nanoseconds())/1e6, len(names), strings.Join(ids, ","))
	}
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		fail("/proc/self/status: %v", err)
	}
	hwm := -1
	for _, line := range strings.Split(string(status), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmHWM:" {
			hwm, _ = strconv.Atoi(f[1])
		}
	}
	fmt.Printf("vmhwm %d\n", hwm)
}
