// The lock other machines see: for an aws environment whose state is in S3, an object next
// to the state (deploy-lock-s3.ts), taken after this machine's own lock file. With a local
// state there is only the lock file, and this returns undefined.

import type { AwsEnvironment } from '../../config/schema.ts';
import type { SharedLock } from '../kind.ts';
import { stateObject } from './state-objects.ts';

export async function acquireS3DeployLock(
  env: AwsEnvironment,
  processEnv: NodeJS.ProcessEnv,
  command: string,
  warn: (text: string) => void,
): Promise<SharedLock | undefined> {
  const state = stateObject(env);
  if (!state) return undefined;
  // Loaded only when needed: an environment with a local state never pays for the S3 client.
  const [{ acquireS3Lock, lockObject }, { createS3Client }, { retryPolicy }] = await Promise.all([
    import('./deploy-lock-s3.ts'),
    import('./clients.ts'),
    import('./call.ts'),
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
