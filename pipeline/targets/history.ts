// Which history an environment has: this machine's .deploy/ENV/history.jsonl, and for an
// aws environment whose state is in S3 the copy beside the state as well. Deploys,
// rollbacks, destroys, retention and status all get it from here.

import type { Environment } from '../config/schema.ts';
import { localHistory, type HistoryStore } from '../state/history.ts';
import { historyObject, s3Url } from './aws/state-objects.ts';

/**
 * Not bound to the run's interrupt signal on purpose: an interrupted run is still
 * recorded, and each S3 call has its own timeouts (clients.ts).
 */
export function historyOf(env: Environment, stateDir: string, processEnv: NodeJS.ProcessEnv): HistoryStore {
  const local = localHistory(stateDir);
  const object = env.target === 'aws' ? historyObject(env) : undefined;
  if (!object) return local;
  // The S3 client is loaded on first use (status of a local environment never pays for
  // it) and closed after each use, so no idle connection keeps the process alive.
  const withShared = async <T>(use: (store: HistoryStore) => Promise<T>): Promise<T> => {
    const [{ s3History }, { createS3Client }, { retryPolicy }] = await Promise.all([
      import('./aws/history-s3.ts'),
      import('./aws/clients.ts'),
      import('./aws/call.ts'),
    ]);
    const client = createS3Client(object.region, processEnv);
    try {
      return await use(
        s3History(local, {
          client,
          object,
          retry: retryPolicy(processEnv),
          io: { signal: new AbortController().signal, debug: () => {}, progress: () => {} },
        }),
      );
    } finally {
      client.destroy();
    }
  };
  return {
    location: `${local.location} and ${s3Url(object)}`,
    append: (entry) => withShared((store) => store.append(entry)),
    read: () => withShared((store) => store.read()),
  };
}
