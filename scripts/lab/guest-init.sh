#!/bin/busybox sh
# /init of a lab guest: mount what the real-kernel suites need, run them, send the results
# over the console between markers, power off. With LAB_VERIFY (check --verify), it loads
# the load plans of that file into this kernel instead (scripts/lab/verify-guest.mjs). Everything it needs is in the initramfs:
# busybox, node and its libraries, the package at /corebpf, /lab/env (what to run) and, per
# kernel, /boot/config-$(uname -r) and /lab/modules/*.ko.
mkdir -p /sbin /usr/bin /usr/sbin
/bin/busybox --install -s
export PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin HOME=/root TERM=dumb LANG=C.UTF-8
mkdir -p /proc /sys /dev /tmp /run /root
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/shm /dev/pts
mount -t tmpfs -o mode=1777 tmpfs /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs -o mode=1777 tmpfs /tmp
mount -t tmpfs tmpfs /run
mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
mount -t securityfs securityfs /sys/kernel/security 2>/dev/null
mount -t bpf bpf /sys/fs/bpf
mount -t cgroup2 cgroup2 /sys/fs/cgroup
# tracefs is also reached through debugfs on old kernels
[ -e /sys/kernel/tracing/events ] || mount --bind /sys/kernel/debug/tracing /sys/kernel/tracing 2>/dev/null
hostname lab
# a process killed by a signal is logged with its pc, for a run that ends without results
echo 1 > /proc/sys/debug/exception-trace 2>/dev/null
ip link set lo up
printf '127.0.0.1 localhost lab\n::1 localhost\n' > /etc/hosts
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' > /etc/passwd
printf 'root:x:0:\nnogroup:x:65534:\n' > /etc/group
if [ -f /lab/modules.order ]; then
  while read -r m; do insmod "/lab/modules/$m.ko" 2>/dev/null || echo "lab: insmod $m failed"; done < /lab/modules.order
fi
. /lab/env
export LAB_KERNEL   # tests may scale long loops down under emulation (host-object's cycles)
[ -n "${LAB_NODE_FLAGS:-}" ] && export LAB_NODE_FLAGS   # V8 flags of the test forks (vitest.config.ts)
echo "COREBPF-LAB-READY $(uname -r) $(uname -m) cpus=$(grep -c ^processor /proc/cpuinfo) lsm=$(cat /sys/kernel/security/lsm 2>/dev/null)"
if [ "$LAB_TESTS" = none ]; then              # make lab-boots: the boot alone
  echo "COREBPF-LAB-EXIT 0"; echo COREBPF-LAB-DONE; poweroff -f
fi
cd /corebpf
if [ -n "${LAB_VERIFY:-}" ]; then               # check --verify: load every plan, nothing else
  { node /lab/verify-guest.mjs "$LAB_VERIFY" /tmp/results.json </dev/null; echo $? > /tmp/rc; } 2>&1 | cat
else
# through a pipe: the console is a terminal, and vitest's live view would fill the log;
# one process for every file: under emulation, starting node and compiling the wasm for
# each file took longer than most files' tests
# shellcheck disable=SC2086
{ LAB_RESULTS=/tmp/results.json NO_COLOR=1 node node_modules/vitest/vitest.mjs run $LAB_TESTS \
    --reporter=verbose --reporter=/lab/reporter.mjs --pool=forks --poolOptions.forks.singleFork=true --no-isolate \
    --testTimeout="$LAB_TEST_TIMEOUT" --hookTimeout="$LAB_TEST_TIMEOUT" </dev/null; echo $? > /tmp/rc; } 2>&1 | cat
fi
echo "COREBPF-LAB-EXIT $(cat /tmp/rc)"
# no results: a process died (node under TCG, now and then); the kernel logged how
[ -f /tmp/results.json ] || { echo 'lab: no results; the kernel log ends with:'; dmesg | tail -n 15; }
if [ -f /tmp/results.json ]; then
  # kernel messages (a WARN of a probe, an audit line) printed into the middle of a base64
  # line corrupt the results: only emergencies reach the console from here on
  echo 1 > /proc/sys/kernel/printk 2>/dev/null || true
  echo COREBPF-LAB-RESULTS-BEGIN
  gzip -c /tmp/results.json | base64
  echo COREBPF-LAB-RESULTS-END
fi
echo COREBPF-LAB-DONE
sync
poweroff -f
