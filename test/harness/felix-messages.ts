// PolicySync messages in wire form for integration tests: the builders the decision cases use,
// plus removals and a small ready-made snapshot.
import type { ToDataplane } from '../../proto/gen/felix/ToDataplane.js';
import { endpoint, gnp, gnpPolicy, profile, tier } from '../../testing/wire-builders.js';

export { endpoint, gnp, gnpPolicy, ipSet, profile, tier } from '../../testing/wire-builders.js';

export function endpointRemove(): ToDataplane {
  return {
    workload_endpoint_remove: {
      id: { orchestrator_id: 'k8s', workload_id: 'default/app', endpoint_id: 'eth0' },
    },
  };
}

export function policyRemove(name: string): ToDataplane {
  return { active_policy_remove: { id: gnp(name) } };
}

/** A pod whose namespace profile allows everything, guarded by one policy that denies /admin. */
export function denyAdminSnapshot(): ToDataplane[] {
  return [
    gnpPolicy('deny-admin', [{ action: 'deny', http_match: { paths: [{ prefix: '/admin' }] } }]),
    profile('kns.default', [{ action: 'allow' }]),
    endpoint([tier('default', [gnp('deny-admin')], 'Pass')], ['kns.default']),
  ];
}
