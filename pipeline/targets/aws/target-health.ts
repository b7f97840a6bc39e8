// Target health of the ALB's target group: wait until enough targets are healthy, and
// say why the others are not (the reason codes AWS gives, such as
// Target.FailedHealthChecks or Elb.InitialHealthChecking).

import { DescribeTargetHealthCommand, type TargetHealthDescription } from '@aws-sdk/client-elastic-load-balancing-v2';
import type { StageIO } from '../../context.ts';
import { DeployError } from '../../errors.ts';
import { pollUntil } from '../../process/poll.ts';
import { callAws, type AwsCallIO } from './call.ts';
import type { AwsClients } from './clients.ts';

/** What the target health reason codes usually mean for a baked service. */
const REASON_HINTS: Record<string, string> = {
  'Target.FailedHealthChecks':
    'the service answers, but not 200 on the health path: its journal lines are below, all of them with ./status.ts ENV --logs',
  'Target.Timeout':
    'no answer on the service port: the service is not listening, or listens on another port than service.port',
  'Target.ResponseCodeMismatch': 'the health path answers with another status than 200',
  'Elb.InitialHealthChecking': 'the first health checks are still running: a longer health.deadline_s gives them time',
  'Target.NotInUse': 'the target group is not used by a listener yet',
};

export interface TargetState {
  id: string;
  state: string;
  reason?: string;
  description?: string;
}

export async function describeTargets(
  clients: AwsClients,
  targetGroupArn: string,
  io: AwsCallIO,
): Promise<TargetState[]> {
  const { TargetHealthDescriptions = [] } = await callAws(
    io,
    { call: 'elasticloadbalancing:DescribeTargetHealth', resource: targetGroupArn, retry: clients.retry },
    (signal) =>
      clients.elbv2.send(new DescribeTargetHealthCommand({ TargetGroupArn: targetGroupArn }), { abortSignal: signal }),
  );
  return TargetHealthDescriptions.map(toState).sort((a, b) => a.id.localeCompare(b.id));
}

function toState(description: TargetHealthDescription): TargetState {
  const health = description.TargetHealth;
  return {
    id: `${description.Target?.Id ?? '?'}${description.Target?.Port ? `:${description.Target.Port}` : ''}`,
    state: health?.State ?? 'unknown',
    ...(health?.Reason ? { reason: health.Reason } : {}),
    ...(health?.Description ? { description: health.Description } : {}),
  };
}

/** "i-0abc:8080 unhealthy Target.FailedHealthChecks (Health checks failed)". */
export function formatTarget(target: TargetState): string {
  const reason = target.reason ? ` ${target.reason}` : '';
  const description = target.description ? ` (${target.description})` : '';
  return `${target.id} ${target.state}${reason}${description}`;
}

export function unhealthyLines(targets: readonly TargetState[]): string[] {
  return targets.filter((t) => t.state !== 'healthy').map(formatTarget);
}

export interface TargetWaitOptions {
  clients: AwsClients;
  targetGroupArn: string;
  /** Healthy targets needed (the group's desired capacity). */
  want: number;
  pollMs: number;
  deadlineMs: number;
  /** Lines for the failure about the targets that are not healthy (their journal). */
  explain?: (unhealthy: readonly TargetState[]) => Promise<string[]>;
}

/** The instance ids of targets ("i-0abc:8080" → "i-0abc"). */
export function targetInstances(targets: readonly TargetState[]): string[] {
  return [...new Set(targets.map((target) => target.id.split(':')[0] as string))];
}

/** Polls until at least `want` targets are healthy; every change in the others is shown. */
export async function waitForHealthyTargets(io: StageIO, options: TargetWaitOptions): Promise<TargetState[]> {
  let lastReport = '';
  let targets: TargetState[] = [];
  const result = await pollUntil(io, {
    what: 'healthy targets',
    deadlineMs: options.deadlineMs,
    intervalMs: options.pollMs,
    attempt: async () => {
      targets = await describeTargets(options.clients, options.targetGroupArn, io);
      const healthy = targets.filter((t) => t.state === 'healthy').length;
      const count = `${healthy}/${options.want} targets healthy`;
      if (healthy >= options.want) {
        io.progress(count);
        return { done: true, value: targets };
      }
      const others = unhealthyLines(targets);
      const report = [count, ...others].join('; ');
      if (report !== lastReport) {
        // Once per change, not once per poll: the count on the live line, and the reasons
        // as lasting lines (a live line would show only the last target).
        io.progress(`${count}${targets.length === 0 ? ' (no targets registered yet)' : ''}`);
        if (others.length > 0) io.info(`${count}; waiting for:`, others);
        else io.note(report);
        lastReport = report;
      }
      return { done: false, status: report };
    },
  });
  if (result.done) return result.value;
  const healthy = targets.filter((t) => t.state === 'healthy').length;
  const others = unhealthyLines(targets);
  const reasons = new Set(targets.map((t) => t.reason).filter((r): r is string => Boolean(r)));
  throw new DeployError(
    `only ${healthy} of ${options.want} targets became healthy within ${Math.round(options.deadlineMs / 1000)} s`,
    [
      ...(others.length > 0
        ? ['targets that are not healthy:', ...others.map((l) => `  ${l}`)]
        : ["no targets are registered: check the Auto Scaling group's activity history"]),
      ...Object.entries(REASON_HINTS)
        .filter(([reason]) => reasons.has(reason))
        .map(([reason, hint]) => `${reason}: ${hint}`),
      ...(options.explain ? await options.explain(targets.filter((t) => t.state !== 'healthy')) : []),
    ],
  );
}
