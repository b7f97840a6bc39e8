// Whether the aws fleet already runs an image with given settings
// (pipeline/targets/aws/serves-already.ts), against mocked DescribeAutoScalingGroups.

import { DescribeAutoScalingGroupsCommand, type Instance } from '@aws-sdk/client-auto-scaling';
import * as assert from 'uvu/assert';
import { fleetServes, inputsMatch, type FleetWanted } from '../../pipeline/targets/aws/serves-already.ts';
import { terraformInputs, type TerraformInputs } from '../../pipeline/targets/aws/terraform.ts';
import { awsEnvironment, mockedClients, recordingIO } from '../helpers/aws-io.ts';
import { suite } from '../support/suite.ts';

const Serves = suite<{ mocks: ReturnType<typeof mockedClients> }>('the aws fleet already serves an image');

Serves.before.each((context) => {
  context.mocks = mockedClients();
});

Serves.after.each((context) => {
  context.mocks.restore();
});

const INPUTS: TerraformInputs = {
  ...terraformInputs(awsEnvironment(), { vpcId: null, subnetIds: [] }, { id: 'ami-0new' }, { variables: {} }),
  service_env: { LOG_LEVEL: 'info' },
};
const WANTED: FleetWanted = { imageId: 'ami-0new', env: { LOG_LEVEL: 'info' }, secrets: {}, desired: 2 };

const instance = (version: string, state = 'InService'): Instance => ({
  InstanceId: `i-${version}-${Math.random()}`,
  AvailabilityZone: 'eu-west-1a',
  LifecycleState: state as Instance['LifecycleState'],
  HealthStatus: 'Healthy',
  ProtectedFromScaleIn: false,
  LaunchTemplate: { LaunchTemplateId: 'lt-1', Version: version },
});

function group(mocks: ReturnType<typeof mockedClients>, instances: Instance[]): void {
  mocks.autoscaling.on(DescribeAutoScalingGroupsCommand).resolves({
    AutoScalingGroups: [
      {
        AutoScalingGroupName: 'demo-staging',
        LaunchTemplate: { LaunchTemplateId: 'lt-1', Version: '3' },
        Instances: instances,
        MinSize: 2,
        MaxSize: 4,
        DesiredCapacity: 2,
        DefaultCooldown: 300,
        AvailabilityZones: [],
        HealthCheckType: 'ELB',
        CreatedTime: new Date(),
      },
    ],
  });
}

Serves('the last inputs must name the image and the same settings', () => {
  assert.ok(inputsMatch(INPUTS, WANTED));
  assert.not.ok(inputsMatch(INPUTS, { ...WANTED, imageId: 'ami-0other' }));
  assert.not.ok(inputsMatch(INPUTS, { ...WANTED, env: { LOG_LEVEL: 'debug' } }));
  assert.not.ok(inputsMatch(INPUTS, { ...WANTED, secrets: { TOKEN: '/t' } }));
  assert.not.ok(inputsMatch(undefined, WANTED));
});

Serves('every instance in service on the pinned version: it serves already', async ({ mocks }) => {
  group(mocks, [instance('3'), instance('3')]);
  assert.ok(await fleetServes(recordingIO(), mocks.clients, 'demo-staging', INPUTS, WANTED));
});

Serves('an instance on another version, one still starting, or too few: it does not', async ({ mocks }) => {
  group(mocks, [instance('3'), instance('2')]);
  assert.not.ok(await fleetServes(recordingIO(), mocks.clients, 'demo-staging', INPUTS, WANTED));
  mocks.autoscaling.reset();
  group(mocks, [instance('3'), instance('3', 'Pending')]);
  assert.not.ok(await fleetServes(recordingIO(), mocks.clients, 'demo-staging', INPUTS, WANTED));
  mocks.autoscaling.reset();
  group(mocks, [instance('3')]);
  assert.not.ok(await fleetServes(recordingIO(), mocks.clients, 'demo-staging', INPUTS, WANTED));
});

Serves('other inputs need no AWS call to say no', async ({ mocks }) => {
  assert.not.ok(
    await fleetServes(recordingIO(), mocks.clients, 'demo-staging', INPUTS, { ...WANTED, imageId: 'ami-x' }),
  );
  assert.is(mocks.autoscaling.commandCalls(DescribeAutoScalingGroupsCommand).length, 0);
});

Serves.run();
