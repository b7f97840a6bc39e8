// Autoscaling around a deploy (terraform/scaling.tf makes the target-tracking policy):
//   - an apply keeps the desired capacity scaling chose (within min and max), instead of
//     resetting it to instances.desired;
//   - while the runner waits for an instance refresh, the group's AlarmNotification process
//     is suspended, so target tracking neither adds instances beside the canary nor
//     terminates one being judged; it is resumed on every way out (success, failure,
//     timeout, Ctrl-C). AWS lets scaling act during a refresh and counts new instances
//     towards its percentage, which would change the canary's share mid-judgement.
//   - status.ts shows min/desired/max, suspended processes and the last scaling activity.

import {
  DescribeScalingActivitiesCommand,
  ResumeProcessesCommand,
  SuspendProcessesCommand,
  type AutoScalingGroup,
} from '@aws-sdk/client-auto-scaling';
import type { Instances } from '../../config/schema.ts';
import type { StageIO } from '../../context.ts';
import type { ScalingStatus } from '../../operate/observed.ts';
import { callAws, type AwsCallIO } from './call.ts';
import type { AwsClients } from './clients.ts';
import { awsErrorInfo } from './errors.ts';

/** The processes held during a refresh: target tracking acts through its alarms' notifications. */
export const HELD_DURING_ROLLOUT = ['AlarmNotification'] as const;

/** var.scaling: exactly one metric, or null for no policy. */
export interface ScalingInputs {
  cpu_percent: number | null;
  requests_per_target: number | null;
}

export function scalingInputs(instances: Instances): ScalingInputs | null {
  const scale = instances.scale;
  if (!scale) return null;
  return { cpu_percent: scale.cpu_percent ?? null, requests_per_target: scale.requests_per_target ?? null };
}

/**
 * The desired capacity an apply sets: deploy.yaml's without scaling (or for a new group),
 * else what the group runs now, kept within deploy.yaml's min and max.
 */
export function desiredCapacity(instances: Instances, group: AutoScalingGroup | undefined): number {
  const current = group?.DesiredCapacity;
  if (!instances.scale || current === undefined) return instances.desired;
  return Math.min(instances.max, Math.max(instances.min, current));
}

async function setProcesses(
  io: AwsCallIO,
  clients: AwsClients,
  asgName: string,
  action: 'suspend' | 'resume',
): Promise<void> {
  const input = { AutoScalingGroupName: asgName, ScalingProcesses: [...HELD_DURING_ROLLOUT] };
  await callAws(
    io,
    {
      call: action === 'suspend' ? 'autoscaling:SuspendProcesses' : 'autoscaling:ResumeProcesses',
      resource: asgName,
      retry: clients.retry,
    },
    (signal) =>
      clients.autoscaling.send(
        action === 'suspend' ? new SuspendProcessesCommand(input) : new ResumeProcessesCommand(input),
        { abortSignal: signal },
      ),
  );
}

/**
 * Runs `work` (the wait for a refresh) with scaling held when `scaling` is on. The resume
 * runs on its own signal, so Ctrl-C (which aborts the run's) still resumes; a resume that
 * fails is said with the command that does it by hand, and never hides work's own error.
 */
export async function withScalingHeld<T>(
  io: StageIO,
  clients: AwsClients,
  asgName: string,
  scaling: boolean,
  work: () => Promise<T>,
): Promise<T> {
  if (!scaling) return work();
  await setProcesses(io, clients, asgName, 'suspend');
  io.info(`scaling of ${asgName} held during the instance refresh (${HELD_DURING_ROLLOUT.join(', ')} suspended)`);
  try {
    return await work();
  } finally {
    const cleanup = { ...io, signal: AbortSignal.timeout(60_000) };
    try {
      await setProcesses(cleanup, clients, asgName, 'resume');
      io.info(`scaling of ${asgName} resumed`);
    } catch (error) {
      io.warn(`could not resume the scaling of ${asgName}: ${awsErrorInfo(error).message}`, [
        `resume it by hand: aws autoscaling resume-processes --auto-scaling-group-name ${asgName} --scaling-processes ${HELD_DURING_ROLLOUT.join(' ')}`,
      ]);
    }
  }
}

/**
 * Processes left suspended by a deploy that could not resume them (killed, or the resume
 * failed): the next deploy resumes them before anything else.
 */
export async function resumeLeftovers(
  io: StageIO,
  clients: AwsClients,
  asgName: string,
  group: AutoScalingGroup | undefined,
): Promise<void> {
  const held = (group?.SuspendedProcesses ?? []).map((process) => process.ProcessName);
  if (!HELD_DURING_ROLLOUT.some((name) => held.includes(name))) return;
  io.info(`${asgName}: resuming ${HELD_DURING_ROLLOUT.join(', ')}, left suspended by an earlier deploy`);
  await setProcesses(io, clients, asgName, 'resume');
}

/** The group's size, its suspended processes and its last scaling activity, for status.ts. */
export async function scalingStatus(
  io: AwsCallIO,
  clients: AwsClients,
  group: AutoScalingGroup,
): Promise<ScalingStatus> {
  const name = group.AutoScalingGroupName ?? '?';
  const answer = await callAws(
    io,
    { call: 'autoscaling:DescribeScalingActivities', resource: name, retry: clients.retry },
    (signal) =>
      clients.autoscaling.send(new DescribeScalingActivitiesCommand({ AutoScalingGroupName: name, MaxRecords: 1 }), {
        abortSignal: signal,
      }),
  );
  const last = answer.Activities?.[0];
  const suspended = (group.SuspendedProcesses ?? [])
    .map((process) => process.ProcessName)
    .filter((process): process is string => Boolean(process));
  return {
    min: group.MinSize ?? 0,
    desired: group.DesiredCapacity ?? 0,
    max: group.MaxSize ?? 0,
    ...(suspended.length > 0 ? { suspended } : {}),
    ...(last
      ? {
          lastActivity: `${last.StartTime?.toISOString() ?? '?'} ${last.StatusCode ?? '?'}: ${last.Description ?? ''}${last.Cause ? ` (${last.Cause.replace(/\s+/g, ' ').trim()})` : ''}`,
        }
      : {}),
  };
}
