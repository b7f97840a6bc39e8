// The lock other machines see: for an aws environment whose state is in S3, an object next
// to the state (aws/deploy-lock-s3.ts), taken after this machine's own lock file. Other
// environments have only the lock file, and this returns undefined.

import type { Environment } from '../config/schema.ts';
import { stateObject } from './aws/state-objects.ts';

export interface SharedLock {
  release(): Promise<void>;
}

export async function acquireSharedLock(
  env: Environment,
  processEnv: NodeJS.ProcessEnv,
  command: string,
  warn: (text: string) => void,
): Promise<SharedLock | undefined> {
  const state = env.target === 'aws' ? stateObject(env) : undefined;
  if (!state) return undefined;
  // Loaded only when needed: a local environment never pays for the S3 client.
  const [{ acquireS3Lock, lockObject }, { createS3Client }, { retryPolicy }] = await Promise.all([
    import('./aws/deploy-lock-s3.ts'),
    import('./aws/clients.ts'),
    import('./aws/call.ts'),
  ]);
  const client = createS3Client(state.region, processEnv);
  // Not bound to the run's interrupt signal: after Ctrl-C the lock must still be released.
  const io = { signal: new AbortController().signal, debug: () => {}, progress: () => {} };
  try {
    const held = await acquireS3Lock({
      client,
      object: lockObject(state),
      retry: retryPolicy(processEnv),
      io,
      command,
      onTakeover: (previous) =>
        warn(
          `took over an expired lock${previous ? ` of ${previous.owner} on ${previous.host} (${previous.command} since ${previous.started_at}, expired ${previous.expires_at})` : ''}`,
        ),
    });
    return {
      release: async () => {
        try {
          await held.release();
        } finally {
          client.destroy();
        }
      },
    };
  } catch (error) {
    client.destroy();
    throw error;
  }
}
