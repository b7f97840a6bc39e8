// Autoscaling around a deploy (pipeline/targets/aws/scaling.ts) against mocked Auto
// Scaling answers: scaling is held while a refresh is waited for and resumed on every way
// out; an apply keeps the capacity scaling chose; leftovers of a killed deploy are resumed.

import { ResumeProcessesCommand, SuspendProcessesCommand } from '@aws-sdk/client-auto-scaling';
import * as assert from 'uvu/assert';
import { DeployError, InterruptedError } from '../../pipeline/errors.ts';
import {
  desiredCapacity,
  resumeLeftovers,
  scalingInputs,
  withScalingHeld,
} from '../../pipeline/targets/aws/scaling.ts';
import { awsError, mockedClients, recordingIO } from '../helpers/aws-io.ts';
import { suite } from '../support/suite.ts';

const Scaling = suite<{ mocks: ReturnType<typeof mockedClients> }>('autoscaling around a deploy');

Scaling.before.each((context) => {
  context.mocks = mockedClients();
  context.mocks.autoscaling.on(SuspendProcessesCommand).resolves({}).on(ResumeProcessesCommand).resolves({});
});

Scaling.after.each((context) => {
  context.mocks.restore();
});

const HELD = { AutoScalingGroupName: 'demo-staging', ScalingProcesses: ['AlarmNotification'] };

/** The suspend and resume calls in the order they were made. */
function calls(mocks: ReturnType<typeof mockedClients>): string[] {
  return mocks.autoscaling.calls().map((call) => {
    const command = call.args[0] as { constructor: { name: string }; input: unknown };
    assert.equal(command.input, HELD);
    return command.constructor.name;
  });
}

Scaling('the refresh is waited for with AlarmNotification suspended, and it is resumed after', async ({ mocks }) => {
  const io = recordingIO();
  let during: string[] = [];
  const result = await withScalingHeld(io, mocks.clients, 'demo-staging', true, async () => {
    during = calls(mocks);
    return 'refreshed';
  });
  assert.is(result, 'refreshed');
  assert.equal(during, ['SuspendProcessesCommand']);
  assert.equal(calls(mocks), ['SuspendProcessesCommand', 'ResumeProcessesCommand']);
  assert.ok(io.infos.some((line) => line.includes('scaling of demo-staging resumed')));
});

Scaling('a failed refresh resumes scaling and keeps its own error', async ({ mocks }) => {
  const error = await withScalingHeld(recordingIO(), mocks.clients, 'demo-staging', true, async () => {
    throw new DeployError('instance refresh of demo-staging ended RollbackSuccessful');
  }).catch((caught: unknown) => caught);
  assert.instance(error, DeployError);
  assert.equal(calls(mocks), ['SuspendProcessesCommand', 'ResumeProcessesCommand']);
});

Scaling('Ctrl-C (the run aborted) still resumes scaling, on a signal of its own', async ({ mocks }) => {
  const io = recordingIO();
  const error = await withScalingHeld(io, mocks.clients, 'demo-staging', true, async () => {
    io.abort();
    throw new InterruptedError('interrupted while waiting for instance refresh r-1');
  }).catch((caught: unknown) => caught);
  assert.instance(error, InterruptedError);
  assert.equal(calls(mocks), ['SuspendProcessesCommand', 'ResumeProcessesCommand']);
});

Scaling(
  'a resume that fails is a warning with the command to run, never in place of the outcome',
  async ({ mocks }) => {
    mocks.autoscaling.on(ResumeProcessesCommand).rejects(awsError('AccessDenied', 'not allowed', 403));
    const io = recordingIO();
    const result = await withScalingHeld(io, mocks.clients, 'demo-staging', true, async () => 'refreshed');
    assert.is(result, 'refreshed');
    assert.match(io.warnings.join('\n'), 'could not resume the scaling of demo-staging');
    assert.match(
      io.warnings.join('\n'),
      'aws autoscaling resume-processes --auto-scaling-group-name demo-staging --scaling-processes AlarmNotification',
    );
  },
);

Scaling('without a scaling policy nothing is suspended', async ({ mocks }) => {
  await withScalingHeld(recordingIO(), mocks.clients, 'demo-staging', false, async () => undefined);
  assert.equal(mocks.autoscaling.calls().length, 0);
});

Scaling('processes an earlier deploy left suspended are resumed; others are left alone', async ({ mocks }) => {
  const io = recordingIO();
  await resumeLeftovers(io, mocks.clients, 'demo-staging', {
    AutoScalingGroupName: 'demo-staging',
    SuspendedProcesses: [{ ProcessName: 'AZRebalance' }],
  } as never);
  assert.equal(mocks.autoscaling.calls().length, 0, 'AZRebalance is the operator’s, not a leftover');
  await resumeLeftovers(io, mocks.clients, 'demo-staging', {
    AutoScalingGroupName: 'demo-staging',
    SuspendedProcesses: [{ ProcessName: 'AlarmNotification' }],
  } as never);
  assert.equal(calls(mocks), ['ResumeProcessesCommand']);
});

Scaling('an apply keeps the capacity scaling chose, within min and max; without scaling deploy.yaml decides', () => {
  const scaled = { min: 2, desired: 3, max: 6, scale: { cpu_percent: 60 } };
  assert.is(desiredCapacity(scaled, { DesiredCapacity: 5 } as never), 5);
  assert.is(desiredCapacity(scaled, { DesiredCapacity: 9 } as never), 6, 'max lowered below it');
  assert.is(desiredCapacity(scaled, { DesiredCapacity: 1 } as never), 2, 'min raised above it');
  assert.is(desiredCapacity(scaled, undefined), 3, 'a new group starts at desired');
  assert.is(desiredCapacity({ min: 2, desired: 3, max: 6 }, { DesiredCapacity: 5 } as never), 3);
});

Scaling('instances.scale becomes var.scaling with exactly one metric', () => {
  assert.equal(scalingInputs({ min: 1, desired: 2, max: 4, scale: { requests_per_target: 500 } }), {
    cpu_percent: null,
    requests_per_target: 500,
  });
  assert.is(scalingInputs({ min: 1, desired: 2, max: 4 }), null);
});

Scaling.run();
