// The stack's CloudWatch alarms while an instance refresh runs. The refresh watches them
// itself (alarm_specification in terraform/compute.tf) and rolls back when one is in
// ALARM; the runner reads the same alarms so the operator sees them change state as it
// happens, and a rollback names the alarm that caused it and CloudWatch's reason.
//
// Everything here is a pure step over what DescribeAlarms answered: the wait loop in
// refresh.ts keeps the last states it saw and passes them back in.

import { DescribeAlarmsCommand, type MetricAlarm } from '@aws-sdk/client-cloudwatch';
import { callAws, type AwsCallIO } from './call.ts';
import type { AwsClients } from './clients.ts';

/**
 * The alarms terraform/alarms.tf gives a stack, by name suffix. The refresh wait takes the
 * names from Terraform's alarm_names output; status.ts, which runs no Terraform, asks
 * CloudWatch for these (the p99 alarm exists only with rollout.max_p99_ms; a name that
 * does not exist is simply not in the answer). test/unit/terraform-static.test.ts keeps
 * the two in step.
 */
export const ALARM_SUFFIXES = ['target-5xx-rate', 'unhealthy-hosts', 'target-p99'] as const;

export function stackAlarmNames(stack: string): string[] {
  return ALARM_SUFFIXES.map((suffix) => `${stack}-${suffix}`);
}

export interface AlarmState {
  name: string;
  /** OK, ALARM or INSUFFICIENT_DATA. */
  state: string;
  /** CloudWatch's StateReason ("Threshold Crossed: 1 datapoint [0.5] was greater than the threshold (0.01)."). */
  reason: string;
  /** When the state last changed. */
  since?: Date;
}

/** The alarms' current states (DescribeAlarms takes at most 100 names; a stack has three). */
export async function describeAlarms(
  clients: Pick<AwsClients, 'cloudwatch' | 'retry'>,
  names: readonly string[],
  io: AwsCallIO,
): Promise<AlarmState[]> {
  if (names.length === 0) return [];
  const answer = await callAws(
    io,
    { call: 'cloudwatch:DescribeAlarms', resource: names.join(', '), retry: clients.retry },
    (signal) =>
      clients.cloudwatch.send(new DescribeAlarmsCommand({ AlarmNames: [...names], MaxRecords: 100 }), {
        abortSignal: signal,
      }),
  );
  return (answer.MetricAlarms ?? []).map(alarmState).sort((a, b) => a.name.localeCompare(b.name));
}

function alarmState(alarm: MetricAlarm): AlarmState {
  const since = alarm.StateTransitionedTimestamp ?? alarm.StateUpdatedTimestamp;
  return {
    name: alarm.AlarmName ?? '?',
    state: alarm.StateValue ?? 'unknown',
    reason: alarm.StateReason ?? '',
    ...(since ? { since } : {}),
  };
}

/**
 * The lines for what changed since the last look: "alarm X: OK → ALARM: reason". On the
 * first look (no `before`) only an alarm already in ALARM is worth a line; OK and
 * INSUFFICIENT_DATA (a new alarm without data yet) are the normal start.
 */
export function alarmChanges(before: readonly AlarmState[] | undefined, now: readonly AlarmState[]): string[] {
  const previous = new Map((before ?? []).map((alarm) => [alarm.name, alarm]));
  const lines: string[] = [];
  for (const alarm of now) {
    const old = previous.get(alarm.name);
    if (!before) {
      if (alarm.state === 'ALARM') lines.push(`alarm ${alarm.name} is ALARM${withReason(alarm)}`);
      continue;
    }
    if (old?.state === alarm.state) continue;
    lines.push(`alarm ${alarm.name}: ${old?.state ?? 'new'} → ${alarm.state}${withReason(alarm)}`);
  }
  return lines;
}

/**
 * The alarms that fired during the wait so far: `fired` (what the earlier looks found)
 * with those in ALARM now. An alarm stays in the list once it fired, with the reason it
 * had then: a rollback takes minutes and the alarm may be back to OK when it ends.
 */
export function firedAlarms(fired: readonly AlarmState[], now: readonly AlarmState[]): AlarmState[] {
  const byName = new Map(fired.map((alarm) => [alarm.name, alarm]));
  for (const alarm of now) if (alarm.state === 'ALARM') byName.set(alarm.name, alarm);
  return [...byName.values()].sort((a, b) => a.name.localeCompare(b.name));
}

/** "alarm demo-staging-target-5xx-rate fired at 12:01:02Z: Threshold Crossed: …" */
export function describeFiredAlarm(alarm: AlarmState): string {
  const at = alarm.since ? ` at ${alarm.since.toISOString()}` : '';
  return `alarm ${alarm.name} fired${at}${withReason(alarm)}`;
}

function withReason(alarm: AlarmState): string {
  return alarm.reason ? `: ${alarm.reason}` : '';
}
