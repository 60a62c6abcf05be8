// Two projects: pure unit tests beside the code, and integration tests under test/ that run real
// processes (sockets, network namespaces, a kube-apiserver).
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // The default output, then one summary of the suites a missing prerequisite kept from running.
    reporters: ['default', './test/harness/skip-summary-reporter.ts'],
    projects: [
      {
        test: {
          name: 'unit',
          include: ['{calico,sidecar,wireguard,agent,daemon,proto}/**/*.test.ts'],
          // Some unit tests compute for seconds (the scale store, property runs); vitest's 5 s
          // default fails them on a loaded 2-core machine.
          testTimeout: 30_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/**/*.test.ts', 'examples/**/*.test.ts'],
          testTimeout: 60_000,
          hookTimeout: 180_000,
          // One etcd + kube-apiserver per run, handed to tests via inject('apiServer'); and a check
          // that no test left its temporary directory (keys, captures, sockets) behind.
          globalSetup: ['test/harness/envtest/global-setup.ts', 'test/harness/temp-dirs-global-setup.ts'],
        },
      },
    ],
  },
});
