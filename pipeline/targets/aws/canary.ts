// The canary as AWS can judge it. The stack's alarms evaluate one-minute ALB metrics, and
// a datapoint arrives a minute or more after the requests it counts: a checkpoint shorter
// than three periods ends before any alarm can see the canary's traffic. And the refresh
// may take as long as its phases: each batch warms up and turns healthy, each checkpoint
// bakes; a fixed deadline shorter than that would give up on a refresh that goes well.

import type { AwsEnvironment } from '../../config/schema.ts';

/** The alarms' period (terraform/alarms.tf): one minute. */
export const ALARM_PERIOD_S = 60;
/** The shortest checkpoint on aws: three alarm periods. */
export const MIN_CHECKPOINT_S = 3 * ALARM_PERIOD_S;
/** terraform/variables.tf instance_warmup_s's default (default_instance_warmup of the group). */
export const INSTANCE_WARMUP_S = 30;

/** Seconds the refresh waits at the canary's checkpoint: bake_s, at least three alarm periods. */
export function checkpointSeconds(bakeS: number): number {
  return Math.max(bakeS, MIN_CHECKPOINT_S);
}

export interface RefreshDeadline {
  seconds: number;
  /** How it was reached, printed with the wait. */
  explanation: string;
}

/**
 * The longest a good refresh takes: per batch (the canary's, then the rest; one batch
 * without a canary) the instances' warmup and the health deadline, plus the checkpoint's
 * bake after the canary and the alarms' last period after the final batch.
 */
export function refreshDeadline(env: AwsEnvironment, canaryOn: boolean): RefreshDeadline {
  const batches = canaryOn ? 2 : 1;
  const perBatch = INSTANCE_WARMUP_S + env.health.deadline_s;
  const checkpoint = canaryOn ? checkpointSeconds(env.rollout.canary.bake_s) : 0;
  const seconds = batches * perBatch + checkpoint + ALARM_PERIOD_S;
  const parts = [
    `${batches} batch${batches > 1 ? 'es' : ''} × (warmup ${INSTANCE_WARMUP_S} s + health.deadline_s ${env.health.deadline_s} s)`,
    ...(canaryOn ? [`checkpoint ${checkpoint} s`] : []),
    `last alarm period ${ALARM_PERIOD_S} s`,
  ];
  return { seconds, explanation: `${seconds} s = ${parts.join(' + ')}` };
}
