// Picks the target implementation for an environment.

import type { RunContext } from '../context.ts';
import { createLocalTarget } from './local/index.ts';
import type { DeployTarget } from './target.ts';

export function createTarget(context: RunContext): DeployTarget {
  const env = context.env;
  switch (env.target) {
    case 'local':
      return createLocalTarget(context, env);
    case 'aws':
      throw new Error('the aws target is not implemented yet');
  }
}
