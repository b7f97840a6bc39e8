// Destroy's deletion-protection step (pipeline/targets/aws/deletion-protection.ts) against
// mocked ELBv2 answers: off when on, nothing when off or gone.

import {
  DescribeLoadBalancerAttributesCommand,
  DescribeLoadBalancersCommand,
  ModifyLoadBalancerAttributesCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import * as assert from 'uvu/assert';
import { unprotectLoadBalancer } from '../../pipeline/targets/aws/deletion-protection.ts';
import { awsError, mockedClients, recordingIO } from '../helpers/aws-io.ts';
import { suite } from '../support/suite.ts';

const Protection = suite<{ mocks: ReturnType<typeof mockedClients> }>(
  "destroy and the load balancer's deletion protection",
);

Protection.before.each((context) => {
  context.mocks = mockedClients();
});

Protection.after.each((context) => {
  context.mocks.restore();
});

const ARN = 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/demo-staging/0123456789abcdef';

Protection('a protected load balancer is unprotected, and destroy says so', async ({ mocks }) => {
  mocks.elbv2
    .on(DescribeLoadBalancersCommand)
    .resolves({ LoadBalancers: [{ LoadBalancerArn: ARN }] })
    .on(DescribeLoadBalancerAttributesCommand)
    .resolves({ Attributes: [{ Key: 'deletion_protection.enabled', Value: 'true' }] })
    .on(ModifyLoadBalancerAttributesCommand)
    .resolves({});
  const io = recordingIO();
  assert.ok(await unprotectLoadBalancer(io, mocks.clients, 'demo-staging'));
  assert.equal(mocks.elbv2.commandCalls(ModifyLoadBalancerAttributesCommand)[0]?.args[0].input, {
    LoadBalancerArn: ARN,
    Attributes: [{ Key: 'deletion_protection.enabled', Value: 'false' }],
  });
  assert.match(io.infos.join('\n'), 'turning off the deletion protection of load balancer demo-staging');
});

Protection('an unprotected or missing load balancer is left alone', async ({ mocks }) => {
  mocks.elbv2
    .on(DescribeLoadBalancersCommand)
    .resolves({ LoadBalancers: [{ LoadBalancerArn: ARN }] })
    .on(DescribeLoadBalancerAttributesCommand)
    .resolves({ Attributes: [{ Key: 'deletion_protection.enabled', Value: 'false' }] });
  assert.not.ok(await unprotectLoadBalancer(recordingIO(), mocks.clients, 'demo-staging'));
  mocks.elbv2.reset();
  mocks.elbv2.on(DescribeLoadBalancersCommand).rejects(awsError('LoadBalancerNotFound', 'not found'));
  assert.not.ok(await unprotectLoadBalancer(recordingIO(), mocks.clients, 'demo-staging'));
  assert.equal(mocks.elbv2.commandCalls(ModifyLoadBalancerAttributesCommand).length, 0);
});

Protection.run();
