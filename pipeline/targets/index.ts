// Picks the target implementation for an environment. Each target is imported only
// when used: the AWS SDK clients alone take about half a second to load, which a local
// no-op redeploy should not pay.

import type { RunContext } from '../context.ts';
import type { DeployTarget } from './target.ts';

export async function createTarget(context: RunContext): Promise<DeployTarget> {
  const env = context.env;
  switch (env.target) {
    case 'local':
      return (await import('./local/index.ts')).createLocalTarget(context, env);
    case 'aws':
      return (await import('./aws/index.ts')).createAwsTarget(context, env);
  }
}
