// The canary as AWS can judge it (pipeline/targets/aws/canary.ts): a checkpoint of at least
// three alarm periods, min_requests passed to the alarm, and a refresh deadline derived
// from the checkpoint, warmup and batches, printed with the wait.

import * as assert from 'uvu/assert';
import { checkpointSeconds, MIN_CHECKPOINT_S, refreshDeadline } from '../../pipeline/targets/aws/canary.ts';
import { releaseSafetyInputs } from '../../pipeline/targets/aws/terraform.ts';
import { awsEnvironment } from '../helpers/aws-io.ts';
import { suite } from '../support/suite.ts';

const Canary = suite('aws canary');

Canary('the checkpoint is at least three one-minute alarm periods', () => {
  assert.is(MIN_CHECKPOINT_S, 180);
  assert.is(checkpointSeconds(10), 180, "deploy.yaml's default of 10 s cannot be judged by one-minute alarms");
  assert.is(checkpointSeconds(600), 600);
  const env = awsEnvironment();
  assert.is(releaseSafetyInputs(env.rollout, env.instances.desired).bake_s, 180);
  assert.is(
    releaseSafetyInputs({ ...env.rollout, canary: { instances: 0, bake_s: 0 } }, 2).bake_s,
    0,
    'no canary, no checkpoint',
  );
});

Canary('min_requests reaches the alarm', () => {
  const env = awsEnvironment();
  assert.is(releaseSafetyInputs({ ...env.rollout, min_requests: 75 }, 2).min_requests, 75);
});

Canary('the refresh deadline adds every batch, the checkpoint and the last alarm period', () => {
  const env = awsEnvironment({}, { health: { ...awsEnvironment().health, deadline_s: 300 } });
  const withCanary = refreshDeadline(env, true);
  // 2 × (30 + 300) + 180 + 60
  assert.is(withCanary.seconds, 900);
  assert.is(
    withCanary.explanation,
    '900 s = 2 batches × (warmup 30 s + health.deadline_s 300 s) + checkpoint 180 s + last alarm period 60 s',
  );
  const longBake = awsEnvironment({}, { rollout: { ...env.rollout, canary: { instances: 1, bake_s: 1200 } } });
  assert.ok(
    refreshDeadline(longBake, true).seconds > 1200 + 2 * longBake.health.deadline_s,
    'a long canary never times the refresh out',
  );
  assert.is(refreshDeadline(env, false).seconds, 390, 'one batch, no checkpoint');
});

Canary.run();
