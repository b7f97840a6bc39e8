// Deploys from CI need what a thrown-away runner cannot keep; each target says what that
// is (the aws target: a remote Terraform state).

import { isCi } from '../ci.ts';
import { withKind } from '../targets/kind.ts';
import type { Environment } from './schema.ts';

/** Refuses (exit 2) an environment its target cannot deploy from CI (aws with local Terraform state). */
export function assertRemoteStateInCi(environment: Environment, env: NodeJS.ProcessEnv): void {
  if (!isCi(env)) return;
  const refusal = withKind(environment, (kind, typed) => kind.ciRefusal(typed));
  if (refusal) throw refusal;
}
