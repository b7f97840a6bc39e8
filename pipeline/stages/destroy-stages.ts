// The destroy pipeline: preflight → deprovision → images. Destroying nothing succeeds.

import type { DestroyOptions, RunContext } from '../context.ts';
import { removeDeploymentRecord } from '../state/record.ts';
import type { AnyTarget } from '../targets/target.ts';
import type { Stage } from './run-stages.ts';

export interface DestroyResults {
  /** Human descriptions of what was removed, in order. */
  removed: string[];
  /** The database's final backup, when there was a database. */
  backup?: string;
}

/** What destroy says when a database goes without a final backup. */
export const NO_BACKUP = 'the database is removed with no final backup (a preview; pass --backup to keep one)';

export function destroyStages(
  context: RunContext,
  target: AnyTarget,
  options: DestroyOptions,
): Stage<DestroyResults>[] {
  const { env } = context;
  return [
    {
      name: 'preflight',
      title: 'Preflight checks',
      readOnly: true,
      run: async (_results, { io }) => {
        await target.preflightDestroy(io);
      },
    },
    {
      // Before anything holding data goes; --yes does not skip it, a failure stops destroy here.
      name: 'database-backup',
      title: 'Back up the database',
      run: async (_results, task) => {
        if (env.database && !options.backupDatabase) {
          task.io.warn(NO_BACKUP);
          task.skip('no final backup (a preview; --backup takes one)');
          return;
        }
        const backup = await target.backupDatabase?.(task.io);
        if (!backup) {
          task.skip('no database');
          return;
        }
        task.io.info(`final backup of the database: ${backup}`);
        return { backup };
      },
      plan: async (_results, task) => {
        if (!env.database) task.skip('no database');
        if (!options.backupDatabase) return { text: NO_BACKUP };
        return { text: `pg_dump the database to ${context.stateDir}/backups/<timestamp>.dump before removing it` };
      },
    },
    {
      name: 'deprovision',
      title: 'Remove instances and load balancer',
      run: async (results, { io }) => {
        const report = await target.teardown(io);
        await removeDeploymentRecord(context.stateDir);
        return { removed: [...results.removed, ...report.removed] };
      },
      plan: async () => ({ text: `remove everything ${target.name} created for ${env.app}/${env.name}` }),
    },
    {
      name: 'images',
      title: 'Remove images',
      run: async (results, task) => {
        if (options.keepImages) {
          task.skip('kept (--keep-images)');
          return;
        }
        return { removed: [...results.removed, ...(await target.images.removeAll(task.io))] };
      },
      plan: async (_results, task) => {
        if (options.keepImages) task.skip('kept (--keep-images)');
        return { text: `remove every image baked for ${env.app}/${env.name}` };
      },
    },
  ];
}
