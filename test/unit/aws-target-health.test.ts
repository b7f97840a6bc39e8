// Waiting for healthy targets (pipeline/targets/aws/target-health.ts) against mocked
// DescribeTargetHealth answers.

import { DescribeTargetHealthCommand, type TargetHealthDescription } from '@aws-sdk/client-elastic-load-balancing-v2';
import * as assert from 'uvu/assert';
import { DeployError } from '../../pipeline/errors.ts';
import { GetLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { journalLines } from '../../pipeline/targets/aws/logs.ts';
import { formatTarget, targetInstances, waitForHealthyTargets } from '../../pipeline/targets/aws/target-health.ts';
import { awsError, mockedClients, recordingIO } from '../helpers/aws-io.ts';
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

Targets("a failed wait ends with the failing instances' last journal lines from CloudWatch Logs", async ({ mocks }) => {
  mocks.elbv2.on(DescribeTargetHealthCommand).resolves({
    TargetHealthDescriptions: [
      target('i-1', 'unhealthy', 'Target.FailedHealthChecks', 'Health checks failed with these codes: [500]'),
      target('i-2', 'healthy'),
      target('i-3', 'unhealthy', 'Target.Timeout'),
    ],
  });
  mocks.logs
    .on(GetLogEventsCommand, { logStreamName: 'i-1' })
    .resolves({
      events: [
        { timestamp: Date.parse('2026-12-07T22:00:00Z'), message: 'demo[9]: Traceback (most recent call last):' },
        { timestamp: Date.parse('2026-12-07T22:00:00Z'), message: 'demo[9]: KeyError: DATABASE_URL' },
      ],
    })
    .on(GetLogEventsCommand, { logStreamName: 'i-3' })
    .rejects(awsError('ResourceNotFoundException', 'The specified log stream does not exist.'));
  const io = recordingIO();
  const error = (await waitForHealthyTargets(io, {
    clients: mocks.clients,
    targetGroupArn: ARN,
    want: 3,
    pollMs: 5,
    deadlineMs: 20,
    explain: (unhealthy) => journalLines(io, mocks.clients, '/bakery/demo/staging', targetInstances(unhealthy)),
  }).catch((e: unknown) => e)) as DeployError;
  assert.instance(error, DeployError);
  const details = error.details.join('\n');
  assert.match(details, 'Target.FailedHealthChecks: the service answers, but not 200 on the health path');
  assert.not.match(details, 'journalctl');
  assert.ok(
    error.details
      .join('\n')
      .includes(
        [
          'last journal lines of i-1 (CloudWatch Logs /bakery/demo/staging):',
          '  i-1 | 2026-12-07T22:00:00.000Z demo[9]: Traceback (most recent call last):',
          '  i-1 | 2026-12-07T22:00:00.000Z demo[9]: KeyError: DATABASE_URL',
          'last journal lines of i-3 (CloudWatch Logs /bakery/demo/staging):',
          '  (none shipped: the instance may not have booted far enough)',
        ].join('\n'),
      ),
    details,
  );
  assert.equal(
    mocks.logs.commandCalls(GetLogEventsCommand).map((call) => call.args[0].input.logStreamName),
    ['i-1', 'i-3'],
    'only the instances that are not healthy',
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
