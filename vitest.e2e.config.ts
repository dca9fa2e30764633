// End-to-end tests against a real kube-apiserver (see docs/e2e.md).
// Run with `npm run test:e2e`; build the binaries first with scripts/install-kube.sh.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/e2e/**/*.test.ts'],
    // Each file starts its own etcd + kube-apiserver: run files one at a time.
    fileParallelism: false,
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 180_000,
    teardownTimeout: 30_000,
  },
});
