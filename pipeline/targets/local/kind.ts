// The local target's answers outside a run (targets/kind.ts): Docker and HAProxy on this
// machine, secrets read by the runner, history in .deploy/ENV only.

import { awsOnlyDatabaseKeys, localDatabase } from '../../config/database.ts';
import { localSchema, type LocalEnvironment } from '../../config/schema.ts';
import { parseLocalReference } from '../../config/settings.ts';
import { localHistory } from '../../state/history.ts';
import type { TargetKind } from '../kind.ts';

export const localKind: TargetKind<LocalEnvironment> = {
  name: 'local',
  tools: { deploy: ['docker', 'packer', 'ansible-playbook'], destroy: ['docker'] },
  // Everything it removes is on this machine and comes back with the next deploy.
  destroyAsksToConfirm: false,
  // The containers run on the host's engine; the load balancer publishes on the host's
  // 127.0.0.1, which only the host's network namespace can see.
  toolingContainer: { dockerSocket: true, hostNetwork: true },
  secretsReadBy: 'runner',

  secretReferenceProblem: (reference) =>
    parseLocalReference(reference)
      ? undefined
      : `${JSON.stringify(reference)} is not a local secret reference: expected env:NAME (a variable of the runner's environment) or file:PATH (relative to deploy.yaml)`,

  healthIssues: () => [],

  normalize(raw, common, path, issues) {
    const before = issues.length;
    if (raw.aws)
      issues.push({
        path: `${path}.aws`,
        message: 'applies to target "aws" only; this environment has target "local"',
      });
    if (raw.image.base)
      issues.push({
        path: `${path}.image.base`,
        message: 'is an AMI filter for target "aws"; on target "local" set local.base_image',
      });
    issues.push(...awsOnlyDatabaseKeys(raw.database, path));
    if (issues.length > before) return undefined;
    const local = raw.local ?? (localSchema.fallback?.() as LocalEnvironment['local']);
    const database = localDatabase(raw.database);
    return { ...common, target: 'local', local, ...(database ? { database } : {}) };
  },

  hostPort: (env) => ({ port: env.local.port, key: 'local.port' }),
  ciRefusal: () => undefined,
  history: (_env, stateDir) => localHistory(stateDir),
  // Its state is this machine's: the lock file is the whole lock.
  sharedLock: async () => undefined,
};
