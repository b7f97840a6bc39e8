// What every helper of the local target needs, in one object: the environment, the
// names of what it creates, and where bakery's own files are. Created once by the
// target, passed to each helper; helpers take it instead of loose parameter bundles.

import type { LocalEnvironment } from '../../config/schema.ts';
import type { LocalNames } from './names.ts';

export interface LocalScope {
  /** bakery's installation (its docker/haproxy/ builds the load balancer image), not the user's project. */
  readonly root: string;
  readonly env: LocalEnvironment;
  readonly names: LocalNames;
}
