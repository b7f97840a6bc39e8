// Picks the target implementation for an environment.

import type { RunContext } from '../context.ts';
import { createAwsTarget } from './aws/index.ts';
import { createLocalTarget } from './local/index.ts';
import type { DeployTarget } from './target.ts';

export function createTarget(context: RunContext): DeployTarget {
  const env = context.env;
  switch (env.target) {
    case 'local':
      return createLocalTarget(context, env);
    case 'aws':
      return createAwsTarget(context, env);
  }
}
