// Waiting for healthy targets (pipeline/targets/aws/target-health.ts) against mocked
// DescribeTargetHealth answers.

import { DescribeTargetHealthCommand, type TargetHealthDescription } from '@aws-sdk/client-elastic-load-balancing-v2';
import * as assert from 'uvu/assert';
import { DeployError } from '../../pipeline/errors.ts';
import { formatTarget, waitForHealthyTargets } from '../../pipeline/targets/aws/target-health.ts';
import { mockedClients, recordingIO } from '../helpers/aws-io.ts';
import { suite } from '../support/suite.ts';

const Targets = suite<{ mocks: ReturnType<typeof mockedClients> }>('target health');

Targets.before.each((context) => {
  context.mocks = mockedClients();
});

Targets.after.each((context) => {
  context.mocks.restore();
});

const target = (id: string, State: string, Reason?: string, Description?: string): TargetHealthDescription =>
  ({ Target: { Id: id, Port: 8080 }, TargetHealth: { State, Reason, Description } }) as TargetHealthDescription;

const ARN = 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/demo/0123456789abcdef';

Targets('a target reads as id, port, state, reason code and description', () => {
  assert.is(
    formatTarget({ id: 'i-1:8080', state: 'unhealthy', reason: 'Target.Timeout', description: 'Request timed out' }),
    'i-1:8080 unhealthy Target.Timeout (Request timed out)',
  );
  assert.is(formatTarget({ id: 'i-1:8080', state: 'healthy' }), 'i-1:8080 healthy');
});

Targets('waiting ends once desired targets are healthy, even while old ones drain', async ({ mocks }) => {
  mocks.elbv2
    .on(DescribeTargetHealthCommand)
    .resolvesOnce({
      TargetHealthDescriptions: [
        target('i-old', 'healthy'),
        target('i-new', 'initial', 'Elb.InitialHealthChecking', 'Initial health checks in progress'),
      ],
    })
    .resolves({
      TargetHealthDescriptions: [
        target('i-old', 'draining', 'Target.DeregistrationInProgress'),
        target('i-new', 'healthy'),
        target('i-new2', 'healthy'),
      ],
    });
  const io = recordingIO();
  const targets = await waitForHealthyTargets(io, {
    clients: mocks.clients,
    targetGroupArn: ARN,
    want: 2,
    pollMs: 1,
    deadlineMs: 5_000,
  });
  assert.is(targets.filter((t) => t.state === 'healthy').length, 2);
  assert.ok(
    io.infos.includes(
      '1/2 targets healthy; waiting for:\ni-new:8080 initial Elb.InitialHealthChecking (Initial health checks in progress)',
    ),
    io.infos.join('|'),
  );
  assert.equal(mocks.elbv2.commandCalls(DescribeTargetHealthCommand)[0]?.args[0].input, { TargetGroupArn: ARN });
});

Targets('each unhealthy reason is shown once per change, not once per poll', async ({ mocks }) => {
  const failing = {
    TargetHealthDescriptions: [
      target('i-1', 'unhealthy', 'Target.FailedHealthChecks', 'Health checks failed with these codes: [503]'),
    ],
  };
  mocks.elbv2
    .on(DescribeTargetHealthCommand)
    .resolvesOnce(failing)
    .resolvesOnce(failing)
    .resolvesOnce(failing)
    .resolves({ TargetHealthDescriptions: [target('i-1', 'healthy')] });
  const io = recordingIO();
  await waitForHealthyTargets(io, {
    clients: mocks.clients,
    targetGroupArn: ARN,
    want: 1,
    pollMs: 1,
    deadlineMs: 5_000,
  });
  assert.is(io.infos.filter((line) => line.includes('Target.FailedHealthChecks')).length, 1);
});

Targets('targets still unhealthy at the deadline fail the deploy with their reasons', async ({ mocks }) => {
  mocks.elbv2
    .on(DescribeTargetHealthCommand)
    .resolves({ TargetHealthDescriptions: [target('i-1', 'unhealthy', 'Target.Timeout', 'Request timed out')] });
  const error = (await waitForHealthyTargets(recordingIO(), {
    clients: mocks.clients,
    targetGroupArn: ARN,
    want: 2,
    pollMs: 5,
    deadlineMs: 20,
  }).catch((e: unknown) => e)) as DeployError;
  assert.instance(error, DeployError);
  assert.is(error.message, 'only 0 of 2 targets became healthy within 0 s');
  assert.ok(error.details.includes('  i-1:8080 unhealthy Target.Timeout (Request timed out)'));
  assert.ok(
    error.details.some((line) => line.startsWith('Target.Timeout:')),
    'a hint for the reason that occurred',
  );
  assert.not.ok(
    error.details.some((line) => line.startsWith('Target.FailedHealthChecks:')),
    'no hint for reasons that did not occur',
  );
});

Targets('no registered targets at the deadline points at the group activity', async ({ mocks }) => {
  mocks.elbv2.on(DescribeTargetHealthCommand).resolves({ TargetHealthDescriptions: [] });
  const error = (await waitForHealthyTargets(recordingIO(), {
    clients: mocks.clients,
    targetGroupArn: ARN,
    want: 1,
    pollMs: 5,
    deadlineMs: 20,
  }).catch((e: unknown) => e)) as DeployError;
  assert.match(error.details.join('\n'), /no targets are registered: check the Auto Scaling group's activity history/);
});

Targets.run();
