// Waiting for an instance refresh (pipeline/targets/aws/refresh.ts) against mocked
// DescribeInstanceRefreshes answers.

import { DescribeInstanceRefreshesCommand, type InstanceRefresh } from '@aws-sdk/client-auto-scaling';
import * as assert from 'uvu/assert';
import { DeployError, InterruptedError } from '../../pipeline/errors.ts';
import {
  describeRefreshFailure,
  formatRefreshProgress,
  listRefreshes,
  refreshToWatch,
  waitForRefresh,
} from '../../pipeline/targets/aws/refresh.ts';
import { awsError, mockedClients, recordingIO } from '../helpers/aws-io.ts';
import { suite } from '../support/suite.ts';

const Refresh = suite<{ mocks: ReturnType<typeof mockedClients> }>('instance refresh');

Refresh.before.each((context) => {
  context.mocks = mockedClients();
});

Refresh.after.each((context) => {
  context.mocks.restore();
});

const at = (minutesAgo: number): Date => new Date(Date.now() - minutesAgo * 60_000);

Refresh('the refresh to watch is one the apply started, never one running before it', () => {
  const old: InstanceRefresh = { InstanceRefreshId: 'old', Status: 'Successful', StartTime: at(600) };
  const running: InstanceRefresh = { InstanceRefreshId: 'run', Status: 'InProgress', StartTime: at(5) };
  const fresh: InstanceRefresh = { InstanceRefreshId: 'new', Status: 'Successful', StartTime: at(1) };
  assert.is(refreshToWatch([fresh, old], new Set(['old']))?.InstanceRefreshId, 'new');
  assert.is(refreshToWatch([fresh, running, old], new Set(['old', 'run', 'new'])), undefined);
  assert.is(refreshToWatch([old], new Set(['old'])), undefined);
  assert.is(refreshToWatch([], new Set()), undefined);
});

Refresh('refreshes are listed newest first across pages, and a missing group has none', async ({ mocks }) => {
  mocks.autoscaling
    .on(DescribeInstanceRefreshesCommand)
    .resolvesOnce({ InstanceRefreshes: [{ InstanceRefreshId: 'a', StartTime: at(60) }], NextToken: 'page2' })
    .resolvesOnce({ InstanceRefreshes: [{ InstanceRefreshId: 'b', StartTime: at(1) }] });
  const listed = await listRefreshes(mocks.clients, 'demo-staging', recordingIO());
  assert.equal(
    listed.map((r) => r.InstanceRefreshId),
    ['b', 'a'],
  );

  mocks.autoscaling.reset();
  mocks.autoscaling
    .on(DescribeInstanceRefreshesCommand)
    .rejects(awsError('ValidationError', 'AutoScalingGroup name not found - demo-staging'));
  assert.equal(await listRefreshes(mocks.clients, 'demo-staging', recordingIO()), []);
});

Refresh('progress reads as status, percentage, instances left and reason', () => {
  assert.is(
    formatRefreshProgress({
      Status: 'InProgress',
      PercentageComplete: 50,
      InstancesToUpdate: 1,
      StatusReason: 'Waiting for instances to warm up.',
    }),
    'instance refresh InProgress 50% (1 instance to update): Waiting for instances to warm up.',
  );
  assert.is(formatRefreshProgress({ Status: 'Pending' }), 'instance refresh Pending 0%');
});

Refresh('waiting ends when the refresh succeeds, showing each new state once', async ({ mocks }) => {
  mocks.autoscaling
    .on(DescribeInstanceRefreshesCommand)
    .resolvesOnce({ InstanceRefreshes: [{ InstanceRefreshId: 'r1', Status: 'InProgress', PercentageComplete: 0 }] })
    .resolvesOnce({ InstanceRefreshes: [{ InstanceRefreshId: 'r1', Status: 'InProgress', PercentageComplete: 0 }] })
    .resolvesOnce({ InstanceRefreshes: [{ InstanceRefreshId: 'r1', Status: 'InProgress', PercentageComplete: 50 }] })
    .resolves({ InstanceRefreshes: [{ InstanceRefreshId: 'r1', Status: 'Successful', PercentageComplete: 100 }] });
  const io = recordingIO();
  const done = await waitForRefresh(io, {
    clients: mocks.clients,
    asgName: 'demo-staging',
    refreshId: 'r1',
    pollMs: 1,
    deadlineMs: 5_000,
  });
  assert.is(done.Status, 'Successful');
  assert.equal(io.progressed, [
    'instance refresh InProgress 0%',
    'instance refresh InProgress 50%',
    'instance refresh Successful 100%',
  ]);
  const asked = mocks.autoscaling.commandCalls(DescribeInstanceRefreshesCommand)[0]?.args[0].input;
  assert.equal(asked, { AutoScalingGroupName: 'demo-staging', InstanceRefreshIds: ['r1'] });
});

Refresh(
  'a rolled back refresh fails with the reason, the rollback details and the target health',
  async ({ mocks }) => {
    mocks.autoscaling.on(DescribeInstanceRefreshesCommand).resolves({
      InstanceRefreshes: [
        {
          InstanceRefreshId: 'r2',
          Status: 'RollbackSuccessful',
          StatusReason: 'Instance refresh failed: instances did not pass health checks.',
          PercentageComplete: 0,
          RollbackDetails: {
            RollbackReason: 'Automatic rollback',
            PercentageCompleteOnRollback: 50,
            InstancesToUpdateOnRollback: 1,
            RollbackStartTime: new Date('2026-11-22T06:00:00Z'),
          },
        },
      ],
    });
    const error = await waitForRefresh(recordingIO(), {
      clients: mocks.clients,
      asgName: 'demo-staging',
      refreshId: 'r2',
      pollMs: 1,
      deadlineMs: 5_000,
      explain: async () => ['targets that are not healthy:', '  i-1:8080 unhealthy Target.FailedHealthChecks'],
    }).catch((e: unknown) => e);
    assert.instance(error, DeployError);
    const failure = error as DeployError;
    assert.is(failure.exitCode, 1);
    assert.is(
      failure.message,
      'instance refresh of demo-staging ended RollbackSuccessful: Instance refresh failed: instances did not pass health checks.',
    );
    assert.ok(failure.details.includes('rollback reason: Automatic rollback'));
    assert.ok(failure.details.includes('rollback started: 2026-11-22T06:00:00.000Z'));
    assert.ok(failure.details.includes('refresh was 50% complete when the rollback started'));
    assert.ok(failure.details.includes('instances still to update when the rollback started: 1'));
    assert.ok(failure.details.includes('  i-1:8080 unhealthy Target.FailedHealthChecks'));
  },
);

Refresh('failed, cancelled and failed rollbacks all fail the deploy', async ({ mocks }) => {
  for (const status of ['Failed', 'Cancelled', 'RollbackFailed'] as const) {
    mocks.autoscaling.reset();
    mocks.autoscaling
      .on(DescribeInstanceRefreshesCommand)
      .resolves({ InstanceRefreshes: [{ InstanceRefreshId: 'r3', Status: status }] });
    const error = await waitForRefresh(recordingIO(), {
      clients: mocks.clients,
      asgName: 'g',
      refreshId: 'r3',
      pollMs: 1,
      deadlineMs: 5_000,
    }).catch((e: unknown) => e);
    assert.instance(error, DeployError, status);
    assert.match((error as Error).message, new RegExp(`ended ${status}`));
  }
  assert.ok(describeRefreshFailure({ Status: 'RollbackFailed' }).some((line) => /rollback failed too/.test(line)));
});

Refresh('a refresh still running at the deadline fails and says it goes on in AWS', async ({ mocks }) => {
  mocks.autoscaling
    .on(DescribeInstanceRefreshesCommand)
    .resolves({ InstanceRefreshes: [{ InstanceRefreshId: 'r4', Status: 'InProgress', PercentageComplete: 10 }] });
  const error = (await waitForRefresh(recordingIO(), {
    clients: mocks.clients,
    asgName: 'g',
    refreshId: 'r4',
    pollMs: 5,
    deadlineMs: 30,
  }).catch((e: unknown) => e)) as DeployError;
  assert.instance(error, DeployError);
  assert.match(error.message, /did not finish within 0 s \(instance refresh InProgress 10%\)/);
  assert.match(error.details.join('\n'), /goes on in AWS/);
});

Refresh('Ctrl-C while waiting is an interruption, not a failure', async ({ mocks }) => {
  mocks.autoscaling
    .on(DescribeInstanceRefreshesCommand)
    .resolves({ InstanceRefreshes: [{ InstanceRefreshId: 'r5', Status: 'InProgress' }] });
  const io = recordingIO();
  setTimeout(() => io.abort(), 20);
  const error = await waitForRefresh(io, {
    clients: mocks.clients,
    asgName: 'g',
    refreshId: 'r5',
    pollMs: 5,
    deadlineMs: 5_000,
  }).catch((e: unknown) => e);
  assert.instance(error, InterruptedError);
  assert.is((error as InterruptedError).exitCode, 130);
});

Refresh.run();
