// Deploys from CI need a remote Terraform state. A CI runner is thrown away after the
// job: state kept in .deploy/ENV/ on it would be lost, the next run would try to create
// every resource again, and two runs could not lock it against each other.

import { isCi } from '../ci.ts';
import { UsageError } from '../errors.ts';
import type { Environment } from './schema.ts';

/** Refuses (exit 2) an aws environment with local Terraform state when running in CI. */
export function assertRemoteStateInCi(environment: Environment, env: NodeJS.ProcessEnv): void {
  if (!isCi(env) || environment.target !== 'aws' || environment.aws.state.backend !== 'local') return;
  throw new UsageError(
    `environments.${environment.name}.aws.state.backend: "local" cannot be used from CI: the Terraform state would stay on the CI runner and be lost with it, so the next run would create everything again`,
    [
      `set backend: s3 with a bucket under environments.${environment.name}.aws.state in deploy.yaml (key and region are optional)`,
      'CI is detected from the CI environment variable; unset it (or CI=false) only for a run on a machine that keeps .deploy/',
    ],
  );
}
