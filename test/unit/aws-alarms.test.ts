// The stack's alarms while an instance refresh runs (pipeline/targets/aws/alarms.ts and
// its use in refresh.ts), against mocked DescribeAlarms and DescribeInstanceRefreshes
// answers: a line per state change, the alarm that fired named on a rollback with
// CloudWatch's reason and the refresh's, and silence when the stack has no alarms.

import { DescribeInstanceRefreshesCommand, type InstanceRefresh } from '@aws-sdk/client-auto-scaling';
import { DescribeAlarmsCommand, type MetricAlarm } from '@aws-sdk/client-cloudwatch';
import * as assert from 'uvu/assert';
import { DeployError } from '../../pipeline/errors.ts';
import { alarmChanges, describeAlarms, firedAlarms } from '../../pipeline/targets/aws/alarms.ts';
import { waitForRefresh } from '../../pipeline/targets/aws/refresh.ts';
import { awsError, mockedClients, recordingIO } from '../helpers/aws-io.ts';
import { suite } from '../support/suite.ts';

const Alarms = suite<{ mocks: ReturnType<typeof mockedClients> }>('alarms during an instance refresh');

Alarms.before.each((context) => {
  context.mocks = mockedClients();
});

Alarms.after.each((context) => {
  context.mocks.restore();
});

const FIVE_XX = 'demo-staging-target-5xx-rate';
const UNHEALTHY = 'demo-staging-unhealthy-hosts';
const NAMES = [FIVE_XX, UNHEALTHY];
const BREACH =
  'Threshold Crossed: 1 out of the last 1 datapoints [0.42 (02/12/26 14:01:00)] was greater than the threshold (0.01) (minimum 1 datapoint for OK -> ALARM transition).';

const alarm = (name: string, state: string, reason = `${state} reason`, at = '2026-12-02T14:02:00Z'): MetricAlarm => ({
  AlarmName: name,
  StateValue: state as MetricAlarm['StateValue'],
  StateReason: reason,
  StateTransitionedTimestamp: new Date(at),
});

const refresh = (status: string, extra: Partial<InstanceRefresh> = {}): { InstanceRefreshes: InstanceRefresh[] } => ({
  InstanceRefreshes: [
    { InstanceRefreshId: 'r1', Status: status as InstanceRefresh['Status'], PercentageComplete: 50, ...extra },
  ],
});

const ROLLED_BACK = refresh('RollbackSuccessful', {
  StatusReason: 'The instance refresh was rolled back because alarm demo-staging-target-5xx-rate is in ALARM state.',
  RollbackDetails: { RollbackReason: 'Alarm threshold breached', PercentageCompleteOnRollback: 50 },
});

Alarms(
  'a line is printed each time an alarm changes state, with its old and new state and the reason',
  async ({ mocks }) => {
    mocks.autoscaling
      .on(DescribeInstanceRefreshesCommand)
      .resolvesOnce(refresh('InProgress'))
      .resolvesOnce(refresh('Baking'))
      .resolvesOnce(refresh('Baking'))
      .resolves(refresh('Successful', { PercentageComplete: 100 }));
    mocks.cloudwatch
      .on(DescribeAlarmsCommand)
      .resolvesOnce({ MetricAlarms: [alarm(FIVE_XX, 'INSUFFICIENT_DATA'), alarm(UNHEALTHY, 'OK')] })
      .resolvesOnce({
        MetricAlarms: [alarm(FIVE_XX, 'OK', 'Threshold Crossed: no datapoint above'), alarm(UNHEALTHY, 'OK')],
      })
      .resolvesOnce({ MetricAlarms: [alarm(FIVE_XX, 'OK'), alarm(UNHEALTHY, 'OK')] })
      .resolves({
        MetricAlarms: [alarm(FIVE_XX, 'OK'), alarm(UNHEALTHY, 'ALARM', 'Threshold Crossed: 2 datapoints [1.0, 1.0]')],
      });
    const io = recordingIO();
    await waitForRefresh(io, {
      clients: mocks.clients,
      asgName: 'demo-staging',
      refreshId: 'r1',
      pollMs: 1,
      deadlineMs: 5_000,
      alarmNames: NAMES,
    });
    assert.equal(io.infos, [
      `alarm ${FIVE_XX}: INSUFFICIENT_DATA → OK: Threshold Crossed: no datapoint above`,
      `alarm ${UNHEALTHY}: OK → ALARM: Threshold Crossed: 2 datapoints [1.0, 1.0]`,
    ]);
    assert.equal(mocks.cloudwatch.commandCalls(DescribeAlarmsCommand)[0]?.args[0].input.AlarmNames, NAMES);
  },
);

Alarms('a rollback names the alarm that fired, its reason, and the refresh reason', async ({ mocks }) => {
  mocks.autoscaling
    .on(DescribeInstanceRefreshesCommand)
    .resolvesOnce(refresh('Baking'))
    .resolvesOnce(refresh('RollbackInProgress'))
    .resolves(ROLLED_BACK);
  mocks.cloudwatch
    .on(DescribeAlarmsCommand)
    .resolvesOnce({ MetricAlarms: [alarm(FIVE_XX, 'OK'), alarm(UNHEALTHY, 'OK')] })
    .resolvesOnce({ MetricAlarms: [alarm(FIVE_XX, 'ALARM', BREACH), alarm(UNHEALTHY, 'OK')] })
    // By the time the rollback has finished, the alarm is back to OK: it still counts as the one that fired.
    .resolves({
      MetricAlarms: [alarm(FIVE_XX, 'OK', 'Threshold Crossed: back', '2026-12-02T14:05:00Z'), alarm(UNHEALTHY, 'OK')],
    });
  const io = recordingIO();
  const error = await waitForRefresh(io, {
    clients: mocks.clients,
    asgName: 'demo-staging',
    refreshId: 'r1',
    pollMs: 1,
    deadlineMs: 5_000,
    alarmNames: NAMES,
  }).catch((e: unknown) => e);
  assert.instance(error, DeployError);
  const failure = error as DeployError;
  assert.is(failure.exitCode, 1);
  assert.is(
    failure.message,
    `instance refresh of demo-staging ended RollbackSuccessful after alarm ${FIVE_XX} fired: The instance refresh was rolled back because alarm demo-staging-target-5xx-rate is in ALARM state.`,
  );
  assert.is(failure.details[0], `alarm ${FIVE_XX} fired at 2026-12-02T14:02:00.000Z: ${BREACH}`);
  assert.ok(failure.details.includes('rollback reason: Alarm threshold breached'), failure.details.join('\n'));
  assert.ok(failure.details.some((line) => /previous launch template version/.test(line)));
  assert.ok(io.infos.includes(`alarm ${FIVE_XX}: OK → ALARM: ${BREACH}`));
});

Alarms('a rollback after two alarms fired names both', async ({ mocks }) => {
  mocks.autoscaling.on(DescribeInstanceRefreshesCommand).resolves(ROLLED_BACK);
  mocks.cloudwatch
    .on(DescribeAlarmsCommand)
    .resolves({ MetricAlarms: [alarm(FIVE_XX, 'ALARM', BREACH), alarm(UNHEALTHY, 'ALARM', 'hosts down')] });
  const io = recordingIO();
  const error = (await waitForRefresh(io, {
    clients: mocks.clients,
    asgName: 'demo-staging',
    refreshId: 'r1',
    pollMs: 1,
    deadlineMs: 5_000,
    alarmNames: NAMES,
  }).catch((e: unknown) => e)) as DeployError;
  assert.match(error.message, `ended RollbackSuccessful after alarms ${FIVE_XX}, ${UNHEALTHY} fired: `);
  assert.equal(error.details.slice(0, 2), [
    `alarm ${FIVE_XX} fired at 2026-12-02T14:02:00.000Z: ${BREACH}`,
    `alarm ${UNHEALTHY} fired at 2026-12-02T14:02:00.000Z: hosts down`,
  ]);
  // Already in ALARM at the first look: said as such, not as a change.
  assert.equal(io.infos, [`alarm ${FIVE_XX} is ALARM: ${BREACH}`, `alarm ${UNHEALTHY} is ALARM: hosts down`]);
});

Alarms('a rollback no alarm explains keeps the refresh reason alone', async ({ mocks }) => {
  mocks.autoscaling.on(DescribeInstanceRefreshesCommand).resolves(ROLLED_BACK);
  mocks.cloudwatch.on(DescribeAlarmsCommand).resolves({ MetricAlarms: [alarm(FIVE_XX, 'OK'), alarm(UNHEALTHY, 'OK')] });
  const error = (await waitForRefresh(recordingIO(), {
    clients: mocks.clients,
    asgName: 'demo-staging',
    refreshId: 'r1',
    pollMs: 1,
    deadlineMs: 5_000,
    alarmNames: NAMES,
  }).catch((e: unknown) => e)) as DeployError;
  assert.match(error.message, /^instance refresh of demo-staging ended RollbackSuccessful: The instance refresh/);
  assert.not.ok(error.details.some((line) => /fired/.test(line)));
});

Alarms('a stack without alarms prints nothing about them and never asks CloudWatch', async ({ mocks }) => {
  mocks.autoscaling
    .on(DescribeInstanceRefreshesCommand)
    .resolvesOnce(refresh('InProgress'))
    .resolves(refresh('Successful', { PercentageComplete: 100 }));
  const io = recordingIO();
  await waitForRefresh(io, { clients: mocks.clients, asgName: 'g', refreshId: 'r1', pollMs: 1, deadlineMs: 5_000 });
  await waitForRefresh(io, {
    clients: mocks.clients,
    asgName: 'g',
    refreshId: 'r1',
    pollMs: 1,
    deadlineMs: 5_000,
    alarmNames: [],
  });
  assert.equal(io.infos, []);
  assert.equal(io.warnings, []);
  assert.is(mocks.cloudwatch.commandCalls(DescribeAlarmsCommand).length, 0);
});

Alarms('alarms that cannot be read are said once and read again at every poll', async ({ mocks }) => {
  mocks.autoscaling
    .on(DescribeInstanceRefreshesCommand)
    .resolvesOnce(refresh('InProgress'))
    .resolvesOnce(refresh('InProgress', { PercentageComplete: 80 }))
    .resolves(refresh('Successful', { PercentageComplete: 100 }));
  mocks.cloudwatch
    .on(DescribeAlarmsCommand)
    .rejects(awsError('AccessDenied', 'User is not authorized to perform: cloudwatch:DescribeAlarms', 403));
  const io = recordingIO();
  const done = await waitForRefresh(io, {
    clients: mocks.clients,
    asgName: 'g',
    refreshId: 'r1',
    pollMs: 1,
    deadlineMs: 5_000,
    alarmNames: NAMES,
  });
  assert.is(done.Status, 'Successful');
  assert.is(io.warnings.length, 1, 'the same failure is said once');
  assert.match(
    io.warnings[0] as string,
    /cannot read the stack's alarms \(trying again at the next poll\): .*cloudwatch:DescribeAlarms.*AccessDenied/,
  );
  assert.is(mocks.cloudwatch.commandCalls(DescribeAlarmsCommand).length, 3, 'one failed read does not stop the others');
});

Alarms(
  'after a failed read the alarms are watched again: an alarm that fires later is still named',
  async ({ mocks }) => {
    mocks.autoscaling
      .on(DescribeInstanceRefreshesCommand)
      .resolvesOnce(refresh('InProgress'))
      .resolvesOnce(refresh('InProgress', { PercentageComplete: 50 }))
      .resolves(refresh('RollbackSuccessful', { StatusReason: 'alarm' }));
    mocks.cloudwatch
      .on(DescribeAlarmsCommand)
      .rejectsOnce(awsError('AccessDenied', 'not yet allowed', 403))
      .resolves({ MetricAlarms: [alarm(FIVE_XX, 'ALARM', 'Threshold Crossed'), alarm(UNHEALTHY, 'OK')] });
    const io = recordingIO();
    const error = await waitForRefresh(io, {
      clients: mocks.clients,
      asgName: 'g',
      refreshId: 'r1',
      pollMs: 1,
      deadlineMs: 5_000,
      alarmNames: NAMES,
    }).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    assert.ok(error);
    assert.match(error.message, new RegExp(`after alarm ${FIVE_XX} fired`));
    assert.match(io.infos.join('\n'), /the stack's alarms can be read again/);
  },
);

Alarms('the first look only speaks of an alarm already in ALARM; fired alarms accumulate', async ({ mocks }) => {
  mocks.cloudwatch
    .on(DescribeAlarmsCommand)
    .resolves({ MetricAlarms: [alarm(UNHEALTHY, 'ALARM', 'hosts down'), alarm(FIVE_XX, 'INSUFFICIENT_DATA')] });
  const first = await describeAlarms(mocks.clients, NAMES, recordingIO());
  assert.equal(
    first.map((a) => a.name),
    [FIVE_XX, UNHEALTHY],
    'sorted by name',
  );
  assert.equal(alarmChanges(undefined, first), [`alarm ${UNHEALTHY} is ALARM: hosts down`]);
  const fired = firedAlarms([], first);
  assert.equal(
    fired.map((a) => a.name),
    [UNHEALTHY],
  );
  const later = firedAlarms(fired, [
    { name: UNHEALTHY, state: 'OK', reason: '' },
    { name: FIVE_XX, state: 'ALARM', reason: 'x' },
  ]);
  assert.equal(
    later.map((a) => `${a.name} ${a.reason}`),
    [`${FIVE_XX} x`, `${UNHEALTHY} hosts down`],
  );
  assert.equal(await describeAlarms(mocks.clients, [], recordingIO()), []);
});

Alarms.run();
