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
          include: [
            '{calico,policy,sidecar,wireguard,agent,daemon,dataplane,iproute,kube,node,proto,testing}/**/*.test.ts',
          ],
          // Some unit tests build Calico-scale stores or run randomised comparisons: seconds of
          // CPU on an idle core, several times that on a busy one. A time limit is no assertion
          // here (speed is for the benchmarks), so it only has to catch a hang.
          testTimeout: 60_000,
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
