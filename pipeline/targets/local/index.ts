// The local target: Docker containers behind HAProxy. (Being filled in.)

import type { LocalEnvironment } from '../../config/schema.ts';
import type { RunContext } from '../../context.ts';
import { DeployError } from '../../errors.ts';
import type { DeployTarget } from '../target.ts';

export function createLocalTarget(_context: RunContext, env: LocalEnvironment): DeployTarget {
  const notYet = async (): Promise<never> => {
    throw new DeployError('the local target is not implemented yet');
  };
  return {
    name: 'local',
    packerSource: 'docker.app',
    images: { findByFingerprint: notYet, resolve: notYet, adopt: notYet, prune: notYet, removeAll: notYet },
    preflight: async () => {},
    baseImageIdentity: async () => env.local.base_image,
    bakeVariables: () => ({ base_docker_image: env.local.base_image }),
    provision: notYet,
    rolloutSkipReason: notYet,
    rollout: notYet,
    verify: notYet,
    plan: async () => 'local target not implemented yet',
    teardown: async () => ({ removed: [] }),
  };
}
