// Target health of the ALB's target group: wait until enough targets are healthy, and
// say why the others are not (the reason codes AWS gives, such as
// Target.FailedHealthChecks or Elb.InitialHealthChecking).

import { setTimeout as sleep } from 'node:timers/promises';
import { DescribeTargetHealthCommand, type TargetHealthDescription } from '@aws-sdk/client-elastic-load-balancing-v2';
import type { StageIO } from '../../context.ts';
import { DeployError, InterruptedError } from '../../errors.ts';
import type { AwsClients } from './clients.ts';
import { describeAwsError } from './errors.ts';

/** What the target health reason codes usually mean for a baked service. */
const REASON_HINTS: Record<string, string> = {
  'Target.FailedHealthChecks': 'the service answers, but not 200 on the health path: check the service log on the instance (journalctl)',
  'Target.Timeout': 'no answer on the service port: the service is not listening, or listens on another port than service.port',
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

export async function describeTargets(clients: AwsClients, targetGroupArn: string, signal: AbortSignal): Promise<TargetState[]> {
  const { TargetHealthDescriptions = [] } = await clients.elbv2.send(new DescribeTargetHealthCommand({ TargetGroupArn: targetGroupArn }), { abortSignal: signal });
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
}

/** Polls until at least `want` targets are healthy; every change in the others is shown. */
export async function waitForHealthyTargets(io: StageIO, options: TargetWaitOptions): Promise<TargetState[]> {
  const deadline = Date.now() + options.deadlineMs;
  let lastReport = '';
  let targets: TargetState[] = [];
  for (;;) {
    if (io.signal.aborted) throw new InterruptedError('interrupted while waiting for healthy targets');
    try {
      targets = await describeTargets(options.clients, options.targetGroupArn, io.signal);
    } catch (error) {
      if (io.signal.aborted) throw new InterruptedError('interrupted while waiting for healthy targets');
      throw new DeployError(`reading target health failed: ${describeAwsError(error)}`);
    }
    const healthy = targets.filter((t) => t.state === 'healthy').length;
    if (healthy >= options.want) {
      io.progress(`${healthy}/${options.want} targets healthy`);
      return targets;
    }
    const others = unhealthyLines(targets);
    const report = [`${healthy}/${options.want} targets healthy`, ...others].join('; ');
    if (report !== lastReport) {
      // Once per change, not once per poll: the count on the live line, and the reasons
      // as lasting lines (a live line would show only the last target).
      io.progress(`${healthy}/${options.want} targets healthy${targets.length === 0 ? ' (no targets registered yet)' : ''}`);
      if (others.length > 0) io.info(`${healthy}/${options.want} targets healthy; waiting for:`, others);
      else io.note(report);
      lastReport = report;
    }
    if (Date.now() >= deadline) {
      const reasons = new Set(targets.map((t) => t.reason).filter((r): r is string => Boolean(r)));
      throw new DeployError(`only ${healthy} of ${options.want} targets became healthy within ${Math.round(options.deadlineMs / 1000)} s`, [
        ...(others.length > 0 ? ['targets that are not healthy:', ...others.map((l) => `  ${l}`)] : ["no targets are registered: check the Auto Scaling group's activity history"]),
        ...Object.entries(REASON_HINTS)
          .filter(([reason]) => reasons.has(reason))
          .map(([reason, hint]) => `${reason}: ${hint}`),
      ]);
    }
    await sleep(Math.min(options.pollMs, Math.max(0, deadline - Date.now())), undefined, { signal: io.signal }).catch(() => {});
  }
}
