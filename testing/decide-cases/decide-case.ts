// The shape of one black-box decision case: PolicySync messages, a Check request and the answer
// alp-mesh must give. Kept apart from the case tables so they import it without a loop.
import type { CheckRequest } from '../../proto/gen/envoy/service/auth/v3/CheckRequest.js';
import type { ToDataplane } from '../../proto/gen/felix/ToDataplane.js';

export interface DecideCase {
  /** `<spec row> <what it checks>`, unique. */
  name: string;
  /** Proto-loader input objects, snake_case, without in_sync. */
  messages: ToDataplane[];
  request: CheckRequest;
  /** alp-mesh's answer; `message` is compared exactly when given. */
  expect: { code: number; message?: string };
}
