// Once before any test file: the bpffs at /sys/fs/bpf, which the pinning tests of several
// files use. systemd mounts it at boot; a machine without systemd (a container, a bare VM,
// this project's CI on a fresh boot) may not have it. Mounting it here, once, and not in
// each file: two files mounting at the same time would stack two bpffs there, and the
// second would hide the first's pins.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

export default function setup(): void {
  if (process.getuid?.() !== 0) return;
  const mounted = readFileSync('/proc/mounts', 'utf8').split('\n').some((l) => {
    const f = l.split(' ');
    return f[1] === '/sys/fs/bpf' && f[2] === 'bpf';
  });
  if (mounted) return;
  try {
    execFileSync('mount', ['-t', 'bpf', 'bpf', '/sys/fs/bpf'], { stdio: 'pipe' });
  } catch (e) {
    // the tests that pin then fail with ENOENT under /sys/fs/bpf, and this says why
    console.warn(`global-setup: could not mount a bpffs at /sys/fs/bpf: ${(e as Error).message.split('\n')[0]}`);
  }
}
