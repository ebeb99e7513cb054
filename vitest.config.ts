import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'examples/**/*.test.ts'],
    // the bpffs at /sys/fs/bpf, mounted once where it is not (test/global-setup.ts)
    globalSetup: ['test/global-setup.ts'],
    // real-kernel and worker-thread tests: one file at a time on 2 cores keeps them honest
    fileParallelism: true,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // the lab's arm64 guest: V8 aborts in its wasm tier-up under qemu's TCG ("Check failed:
    // maybe_code.has_value()" in Runtime_WasmTriggerTierUp), so its test forks run without it
    ...(process.env.LAB_NODE_FLAGS ? { poolOptions: { forks: { execArgv: process.env.LAB_NODE_FLAGS.split(' ') } } } : {}),
  },
});
