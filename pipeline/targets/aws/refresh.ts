// Waiting for an instance refresh. Terraform starts the refresh when the launch template
// version changes but returns at once; this polls DescribeInstanceRefreshes until the
// refresh ends, showing its percentage, and turns a failed or rolled-back refresh into a
// DeployError that carries AWS's reason and the rollback details. Meanwhile it reads the
// stack's alarms (the ones the refresh's alarm specification watches), prints a line
// each time one changes state, and names those that fired when the refresh rolls back.

import { DescribeInstanceRefreshesCommand, type InstanceRefresh } from '@aws-sdk/client-auto-scaling';
import type { StageIO } from '../../context.ts';
import { DeployError, InterruptedError } from '../../errors.ts';
import { pollUntil } from '../../process/poll.ts';
import { alarmChanges, describeAlarms, describeFiredAlarm, firedAlarms, type AlarmState } from './alarms.ts';
import { callAws, type AwsCallIO } from './call.ts';
import type { AwsClients } from './clients.ts';
import { awsErrorInfo, isAwsErrorCode } from './errors.ts';

export const ACTIVE_STATUSES = new Set(['Pending', 'InProgress', 'Cancelling', 'RollbackInProgress', 'Baking']);
export const FAILED_STATUSES = new Set(['Failed', 'Cancelled', 'RollbackSuccessful', 'RollbackFailed']);

export function isActive(refresh: InstanceRefresh): boolean {
  return ACTIVE_STATUSES.has(refresh.Status ?? '');
}

/** The group's refreshes, newest first (AWS keeps six weeks of them). */
export async function listRefreshes(clients: AwsClients, asgName: string, io: AwsCallIO): Promise<InstanceRefresh[]> {
  const refreshes: InstanceRefresh[] = [];
  let token: string | undefined;
  try {
    do {
      const page = await callAws(
        io,
        { call: 'autoscaling:DescribeInstanceRefreshes', resource: asgName, retry: clients.retry },
        (signal) =>
          clients.autoscaling.send(
            new DescribeInstanceRefreshesCommand({
              AutoScalingGroupName: asgName,
              ...(token ? { NextToken: token } : {}),
            }),
            { abortSignal: signal },
          ),
      );
      refreshes.push(...(page.InstanceRefreshes ?? []));
      token = page.NextToken;
    } while (token);
  } catch (error) {
    // A group that does not exist yet has no refreshes.
    if (
      isAwsErrorCode(error, 'ValidationError', 'ResourceNotFound') &&
      /not found|does not exist/i.test(awsErrorInfo(error).message)
    )
      return [];
    throw error;
  }
  return refreshes.sort((a, b) => (b.StartTime?.getTime() ?? 0) - (a.StartTime?.getTime() ?? 0));
}

/**
 * The refresh this deploy started: one that is not in `before` (it may already have
 * ended). Without a `before` list (listing failed), only a refresh that started after the
 * apply began counts. A refresh that was running before the apply is someone else's (or
 * an interrupted run's): it is never adopted. Undefined when the apply started none.
 */
export function refreshToWatch(
  refreshes: readonly InstanceRefresh[],
  before: ReadonlySet<string> | undefined,
  applyStartedAt?: Date,
): InstanceRefresh | undefined {
  if (before) return refreshes.find((r) => r.InstanceRefreshId && !before.has(r.InstanceRefreshId));
  const since = applyStartedAt?.getTime() ?? Number.POSITIVE_INFINITY;
  return refreshes.find((r) => r.InstanceRefreshId && (r.StartTime?.getTime() ?? 0) >= since);
}

/** One refresh by id; undefined when AWS no longer lists it. */
export async function describeRefresh(
  clients: AwsClients,
  asgName: string,
  refreshId: string,
  io: AwsCallIO,
): Promise<InstanceRefresh | undefined> {
  const page = await callAws(
    io,
    {
      call: 'autoscaling:DescribeInstanceRefreshes',
      resource: `${asgName} (refresh ${refreshId})`,
      retry: clients.retry,
    },
    (signal) =>
      clients.autoscaling.send(
        new DescribeInstanceRefreshesCommand({ AutoScalingGroupName: asgName, InstanceRefreshIds: [refreshId] }),
        { abortSignal: signal },
      ),
  );
  return page.InstanceRefreshes?.find((refresh) => refresh.InstanceRefreshId === refreshId);
}

/** "InProgress 50% (1 instance to update): Waiting for instances to warm up." */
export function formatRefreshProgress(refresh: InstanceRefresh): string {
  const percent = refresh.PercentageComplete ?? 0;
  const remaining = refresh.InstancesToUpdate;
  const left = remaining !== undefined ? ` (${remaining} instance${remaining === 1 ? '' : 's'} to update)` : '';
  const reason = refresh.StatusReason ? `: ${refresh.StatusReason}` : '';
  return `instance refresh ${refresh.Status ?? 'unknown'} ${percent}%${left}${reason}`;
}

/** The lines that explain a refresh that did not succeed. */
export function describeRefreshFailure(refresh: InstanceRefresh): string[] {
  const lines = [
    `instance refresh ${refresh.InstanceRefreshId ?? '?'} ended ${refresh.Status ?? 'unknown'} at ${refresh.PercentageComplete ?? 0}%`,
  ];
  if (refresh.StatusReason) lines.push(`reason: ${refresh.StatusReason}`);
  const rollback = refresh.RollbackDetails;
  if (rollback) {
    if (rollback.RollbackReason) lines.push(`rollback reason: ${rollback.RollbackReason}`);
    if (rollback.RollbackStartTime) lines.push(`rollback started: ${rollback.RollbackStartTime.toISOString()}`);
    if (rollback.PercentageCompleteOnRollback !== undefined)
      lines.push(`refresh was ${rollback.PercentageCompleteOnRollback}% complete when the rollback started`);
    if (rollback.InstancesToUpdateOnRollback !== undefined)
      lines.push(`instances still to update when the rollback started: ${rollback.InstancesToUpdateOnRollback}`);
  }
  if (refresh.Status === 'RollbackSuccessful')
    lines.push('the group runs the previous launch template version again; the new image was not deployed');
  if (refresh.Status === 'RollbackFailed')
    lines.push(
      'the rollback failed too: the group may run a mix of old and new instances; inspect it in the EC2 console',
    );
  return lines;
}

export interface RefreshWaitOptions {
  clients: AwsClients;
  asgName: string;
  refreshId: string;
  pollMs: number;
  deadlineMs: number;
  /** Extra lines for a failure (target health reasons). */
  explain?: () => Promise<string[]>;
  /** The stack's alarms (Terraform output alarm_names); none: no alarm is read. */
  alarmNames?: readonly string[];
}

/** What the wait has seen of the alarms so far. */
interface AlarmWatch {
  /** The states of the last look; undefined before the first. */
  last?: AlarmState[];
  fired: AlarmState[];
  /** The last read's failure, while reads fail: warned once per new message, retried every poll. */
  failing?: string;
}

/** One look at the alarms: a line per change, and what the next look compares with. */
async function watchAlarms(
  io: StageIO,
  clients: AwsClients,
  names: readonly string[],
  watch: AlarmWatch,
): Promise<AlarmWatch> {
  if (names.length === 0) return watch;
  let now: AlarmState[];
  try {
    now = await describeAlarms(clients, names, io);
  } catch (error) {
    if (error instanceof InterruptedError) throw error;
    const why = (error as Error).message;
    // The refresh itself still watches the alarms and rolls back; only the runner's view is
    // lost, and only until a read succeeds again: the next poll tries again.
    if (why !== watch.failing) io.warn(`cannot read the stack's alarms (trying again at the next poll): ${why}`);
    return { ...watch, failing: why };
  }
  if (watch.failing) io.info("the stack's alarms can be read again");
  // A line of its own (info also goes to the stage log): a state change is news, not progress.
  for (const line of alarmChanges(watch.last, now)) io.info(line);
  return { last: now, fired: firedAlarms(watch.fired, now) };
}

/** The headline and lines that say which alarms stopped the refresh, and why. */
function alarmVerdict(watch: AlarmWatch): { headline: string; lines: string[] } {
  if (watch.fired.length === 0) return { headline: '', lines: [] };
  const names = watch.fired.map((alarm) => alarm.name).join(', ');
  return {
    headline: ` after alarm${watch.fired.length > 1 ? 's' : ''} ${names} fired`,
    lines: watch.fired.map(describeFiredAlarm),
  };
}

/** Polls one refresh until it succeeds (resolves) or ends otherwise (DeployError). */
export async function waitForRefresh(io: StageIO, options: RefreshWaitOptions): Promise<InstanceRefresh> {
  const { clients, asgName, refreshId } = options;
  let last: InstanceRefresh | undefined;
  let lastShown = '';
  let alarms: AlarmWatch = { fired: [] };
  const alarmNames = options.alarmNames ?? [];
  const explain = async (): Promise<string[]> =>
    options.explain
      ? await options
          .explain()
          .catch((error: unknown) => [
            `target health could not be read: ${error instanceof Error ? error.message : String(error)}`,
          ])
      : [];
  try {
    const result = await pollUntil(io, {
      what: `instance refresh ${refreshId}`,
      deadlineMs: options.deadlineMs,
      intervalMs: options.pollMs,
      attempt: async () => {
        const refresh = await describeRefresh(clients, asgName, refreshId, io);
        if (!refresh) throw new DeployError(`instance refresh ${refreshId} of ${asgName} is gone`);
        last = refresh;
        const shown = formatRefreshProgress(refresh);
        if (shown !== lastShown) {
          // Once per change: a refresh takes minutes and is polled every few seconds.
          io.progress(shown);
          io.note(shown);
          lastShown = shown;
        }
        alarms = await watchAlarms(io, clients, alarmNames, alarms);
        if (refresh.Status === 'Successful') return { done: true, value: refresh };
        if (FAILED_STATUSES.has(refresh.Status ?? '')) {
          const verdict = alarmVerdict(alarms);
          throw new DeployError(
            `instance refresh of ${asgName} ended ${refresh.Status}${verdict.headline}${refresh.StatusReason ? `: ${refresh.StatusReason}` : ''}`,
            [...verdict.lines, ...describeRefreshFailure(refresh), ...(await explain())],
          );
        }
        return { done: false, status: shown };
      },
    });
    if (result.done) return result.value;
  } catch (error) {
    if (error instanceof InterruptedError) throw interrupted(asgName, refreshId);
    throw error;
  }
  throw new DeployError(
    `instance refresh of ${asgName} did not finish within ${Math.round(options.deadlineMs / 1000)} s (${last ? formatRefreshProgress(last) : 'no answer yet'})`,
    [
      'the refresh goes on in AWS (and rolls back by itself if it fails); run ./deploy.ts again to wait for it, or cancel it with',
      `  aws autoscaling cancel-instance-refresh --auto-scaling-group-name ${asgName}`,
      ...(await explain()),
    ],
  );
}

function interrupted(asgName: string, refreshId: string): InterruptedError {
  return new InterruptedError(`interrupted while waiting for instance refresh ${refreshId}`, [
    `the refresh goes on in AWS; check it with: aws autoscaling describe-instance-refreshes --auto-scaling-group-name ${asgName}`,
  ]);
}
