// The requests the demo sends, each with the answer the policies in resources/ should give.
// Sources are pods (their IP and the SPIFFE principal of their service account) or a forged
// identity; destinations are the pods that run a sidecar.

export interface DemoRequest {
  readonly title: string;
  /** `<namespace>/<pod>`, or a service account and IP given by hand. */
  readonly from: { readonly pod: string } | { readonly serviceAccount: string; readonly ip: string };
  /** A pod with a sidecar, `<namespace>/<pod>`. */
  readonly to: string;
  readonly port: number;
  readonly method: string;
  readonly path: string;
  readonly expect: 'ALLOW' | 'DENY';
}

const gateway = { pod: 'istio-system/istio-ingressgateway' };
const customer = { pod: 'yaobank/customer' };
const summary = { pod: 'yaobank/summary' };

export const REQUESTS: readonly DemoRequest[] = [
  {
    title: 'gateway reads the bank front page',
    from: gateway,
    to: 'yaobank/customer',
    port: 80,
    method: 'GET',
    path: '/',
    expect: 'ALLOW',
  },
  {
    title: 'gateway posts to the front page',
    from: gateway,
    to: 'yaobank/customer',
    port: 80,
    method: 'POST',
    path: '/',
    expect: 'DENY',
  },
  {
    title: 'customer asks summary for an account',
    from: customer,
    to: 'yaobank/summary',
    port: 80,
    method: 'GET',
    path: '/519940',
    expect: 'ALLOW',
  },
  {
    title: 'summary reads the account database',
    from: summary,
    to: 'yaobank/database',
    port: 2379,
    method: 'GET',
    path: '/v2/keys/accounts/519940',
    expect: 'ALLOW',
  },
  {
    title: 'customer dumps the whole database',
    from: customer,
    to: 'yaobank/database',
    port: 2379,
    method: 'GET',
    path: '/v2/keys?recursive=true',
    expect: 'DENY',
  },
  {
    title: "stolen summary identity from customer's IP",
    from: { serviceAccount: 'yaobank/summary', ip: '192.0.2.10' },
    to: 'yaobank/database',
    port: 2379,
    method: 'GET',
    path: '/v2/keys',
    expect: 'DENY',
  },
  {
    title: 'quarantined pod reads the front page',
    from: { pod: 'sandbox/attacker' },
    to: 'yaobank/customer',
    port: 80,
    method: 'GET',
    path: '/',
    expect: 'DENY',
  },
  {
    title: 'trading app: exact path',
    from: customer,
    to: 'yaobank/tradingapp',
    port: 8080,
    method: 'GET',
    path: '/projects/calico?x=1',
    expect: 'ALLOW',
  },
  {
    title: 'trading app: below the exact path',
    from: customer,
    to: 'yaobank/tradingapp',
    port: 8080,
    method: 'GET',
    path: '/projects/calico/extra',
    expect: 'DENY',
  },
  {
    title: 'trading app: under the /users prefix',
    from: customer,
    to: 'yaobank/tradingapp',
    port: 8080,
    method: 'GET',
    path: '/users/42',
    expect: 'ALLOW',
  },
  {
    title: 'trading app: /usersX is not under /users',
    from: customer,
    to: 'yaobank/tradingapp',
    port: 8080,
    method: 'GET',
    path: '/usersX',
    expect: 'DENY',
  },
  {
    title: 'trading app: dot-dot escape to /admin',
    from: customer,
    to: 'yaobank/tradingapp',
    port: 8080,
    method: 'GET',
    path: '/users/../admin',
    expect: 'DENY',
  },
  {
    title: 'trading app: POST under /users',
    from: customer,
    to: 'yaobank/tradingapp',
    port: 8080,
    method: 'POST',
    path: '/users',
    expect: 'DENY',
  },
];

/** The live edit: the database policy also admits service accounts labelled summary=reader. */
export const EDIT = {
  file: '40-yaobank-policy.yaml',
  find: "          selector: database == 'reader'",
  replace: "          selector: database == 'reader' || summary == 'reader'",
  description: "database policy now also admits service accounts labelled summary=reader (the customer's)",
  request: REQUESTS[4] as DemoRequest,
  expectAfter: 'ALLOW' as const,
};
