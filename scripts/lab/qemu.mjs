// One lab guest: boot a kernel with an initramfs in qemu, follow its console, and tell a
// failed boot (no ready marker in time, a panic before it) from a crash during the tests and
// from tests that ran. A guest is killed at its deadline, never waited on forever.
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';

const READY = 'COREBPF-LAB-READY';
const EXIT = 'COREBPF-LAB-EXIT';
const BEGIN = 'COREBPF-LAB-RESULTS-BEGIN';
const END = 'COREBPF-LAB-RESULTS-END';
const DONE = 'COREBPF-LAB-DONE';
const TAIL_LINES = 40;
/** console lines that mean the kernel died (seen under TCG: oopses in scheduler balancing,
 *  init killed by SIGSEGV) */
const DEATH = /Kernel panic - not syncing|---\[ end Kernel panic|BUG: kernel NULL pointer|Oops: |general protection fault|Attempted to kill init/;

export const ARCHES = {
  amd64: {
    qemu: 'qemu-system-x86_64',
    // cx16=off: qemu 7.2's TCG corrupts EFLAGS after SLUB's `cmpxchg16b %gs:(...)` (every
    // 6.12 death seen: a double fault at __kmalloc_noprof+0x130, EFLAGS holding bits of RAX;
    // up to 8 of 9 boots in one loaded run). Without CX16 the kernel takes SLUB's locked path.
    machine: (accel) => (accel === 'kvm' ? ['-accel', 'kvm', '-cpu', 'host'] : ['-accel', 'tcg', '-cpu', 'max,la57=off,cx16=off']),
    console: 'ttyS0',
  },
  arm64: {
    qemu: 'qemu-system-aarch64',
    // not -cpu max: node (V8) died at random there (SIGSEGV, SIGILL) under qemu 7.2's TCG
    machine: () => ['-M', 'virt', '-accel', 'tcg', '-cpu', 'cortex-a72'],
    console: 'ttyAMA0',
  },
};

/**
 * Boot once. Resolves with { outcome, ... }:
 *   'ran'         tests ran; exitCode and resultsB64 (gzip+base64 vitest JSON) when sent
 *   'boot-failed' no ready marker before bootDeadlineMs (or the kernel died first)
 *   'crashed'     the kernel died or the guest stopped after the ready marker, before DONE
 *   'timeout'     the tests did not finish before deadlineMs
 */
export function bootOnce({ arch, accel, kernel, initrd, memMb, cpus, cmdline, bootDeadlineMs, deadlineMs, logPath, onLine }) {
  const a = ARCHES[arch];
  const args = [
    ...a.machine(accel), '-m', String(memMb), '-smp', String(cpus),
    '-kernel', kernel, '-initrd', initrd,
    '-append', `console=${a.console} panic=-1 ${cmdline}`,
    '-display', 'none', '-serial', 'stdio', '-monitor', 'none', '-no-reboot', '-nic', 'none',
  ];
  const log = createWriteStream(logPath);
  log.write(`# ${a.qemu} ${args.map((x) => (/\s/.test(x) ? `'${x}'` : x)).join(' ')}\n`);
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(a.qemu, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let buf = '';
    let readyAt = 0, exitCode = null, inResults = false, b64 = [], death = null, done = false, settled = false;
    let why = null;
    // the console's last lines, for a report that has to say why a run gave no results
    const tail = [];
    const finish = (outcome, extra = {}) => {
      if (settled) return;
      settled = true;
      clearTimeout(bootTimer);
      clearTimeout(allTimer);
      if (child.exitCode === null) child.kill('SIGKILL');
      log.end();
      resolve({
        outcome, accel, bootMs: readyAt ? readyAt - started : null, totalMs: Date.now() - started,
        exitCode, resultsB64: b64.length ? b64.join('') : null, death, tail, ...extra,
      });
    };
    const line = (l) => {
      if (inResults) {
        if (l.includes(END)) inResults = false;
        else if (/^[A-Za-z0-9+/=]+$/.test(l.trim())) b64.push(l.trim());
        return;
      }
      log.write(l + '\n');
      tail.push(l);
      if (tail.length > TAIL_LINES) tail.shift();
      onLine?.(l);
      if (!readyAt && l.includes(READY)) { readyAt = Date.now(); clearTimeout(bootTimer); }
      // markers may follow a terminal escape that vitest left on the line
      else if (l.includes(EXIT)) exitCode = Number(/COREBPF-LAB-EXIT (\d+)/.exec(l)?.[1] ?? NaN);
      else if (l.includes(BEGIN)) inResults = true;
      else if (l.includes(DONE)) done = true;
      if (!death && DEATH.test(l)) {
        death = l.trim();
        // give the console a moment to show the trace, then stop the guest
        setTimeout(() => finish(readyAt ? 'crashed' : 'boot-failed', { why: `kernel died: ${death}` }), 2000);
      }
    };
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d) => {
      buf += d;
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        line(buf.slice(0, i).replace(/\r$/, ''));
        buf = buf.slice(i + 1);
      }
    });
    child.stderr.on('data', (d) => log.write(`# qemu: ${d}`));
    const bootTimer = setTimeout(() => { why = `no ${READY} within ${bootDeadlineMs / 1000} s`; finish('boot-failed', { why }); }, bootDeadlineMs);
    const allTimer = setTimeout(() => finish('timeout', { why: `tests still running after ${deadlineMs / 1000} s` }), deadlineMs);
    child.on('error', (e) => finish('boot-failed', { why: `cannot run ${a.qemu}: ${e.message}` }));
    child.on('exit', (code, sig) => {
      if (buf) line(buf);
      if (done && exitCode !== null) finish('ran');
      else if (!readyAt) finish('boot-failed', { why: death ? `kernel died: ${death}` : `qemu exited (${sig ?? code}) before ${READY}` });
      else finish('crashed', { why: death ? `kernel died: ${death}` : `guest stopped (${sig ?? code}) before the tests finished` });
    });
  });
}
