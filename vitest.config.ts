import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // real-kernel and worker-thread tests: one file at a time on 2 cores keeps them honest
    fileParallelism: true,
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
