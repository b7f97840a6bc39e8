// The load balancer's deletion protection (aws.deletion_protection, on by default): the
// load balancer refuses to be deleted while it is on, so destroy, past its confirmation,
// turns it off through the API just before terraform destroy, and says so. Not by an
// apply of the last inputs: after an apply that failed halfway that would create what is
// missing only to delete it again.

import {
  DescribeLoadBalancerAttributesCommand,
  DescribeLoadBalancersCommand,
  ModifyLoadBalancerAttributesCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import type { StageIO } from '../../context.ts';
import { callAws } from './call.ts';
import type { AwsClients } from './clients.ts';
import { isAwsErrorCode } from './errors.ts';

const KEY = 'deletion_protection.enabled';

/** Turns the protection off when the load balancer exists with it on; says whether it did. */
export async function unprotectLoadBalancer(io: StageIO, clients: AwsClients, name: string): Promise<boolean> {
  let arn: string | undefined;
  try {
    const found = await callAws(
      io,
      { call: 'elasticloadbalancing:DescribeLoadBalancers', resource: name, retry: clients.retry },
      (signal) => clients.elbv2.send(new DescribeLoadBalancersCommand({ Names: [name] }), { abortSignal: signal }),
    );
    arn = found.LoadBalancers?.[0]?.LoadBalancerArn;
  } catch (error) {
    if (isAwsErrorCode(error, 'LoadBalancerNotFound', 'LoadBalancerNotFoundException')) return false;
    throw error;
  }
  if (!arn) return false;
  const loadBalancerArn = arn;
  const attributes = await callAws(
    io,
    { call: 'elasticloadbalancing:DescribeLoadBalancerAttributes', resource: name, retry: clients.retry },
    (signal) =>
      clients.elbv2.send(new DescribeLoadBalancerAttributesCommand({ LoadBalancerArn: loadBalancerArn }), {
        abortSignal: signal,
      }),
  );
  if (attributes.Attributes?.find((attribute) => attribute.Key === KEY)?.Value !== 'true') return false;
  io.info(`turning off the deletion protection of load balancer ${name} before destroying it`);
  await callAws(
    io,
    { call: 'elasticloadbalancing:ModifyLoadBalancerAttributes', resource: name, retry: clients.retry },
    (signal) =>
      clients.elbv2.send(
        new ModifyLoadBalancerAttributesCommand({
          LoadBalancerArn: loadBalancerArn,
          Attributes: [{ Key: KEY, Value: 'false' }],
        }),
        { abortSignal: signal },
      ),
  );
  return true;
}
