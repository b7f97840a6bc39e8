// The stack's Auto Scaling group as AWS describes it: the one read that the fleet check
// (fleet.ts), the unchanged-deploy check (serves-already.ts) and the one-off instance's
// launch settings (one-off.ts) each start from.

import {
  DescribeAutoScalingGroupsCommand,
  type AutoScalingClient,
  type AutoScalingGroup,
} from '@aws-sdk/client-auto-scaling';
import { callAws, type AwsCallIO, type RetryPolicy } from './call.ts';

/** The group named `asgName`; undefined when it does not exist. */
export async function describeGroup(
  io: AwsCallIO,
  clients: { autoscaling: AutoScalingClient; retry: RetryPolicy },
  asgName: string,
): Promise<AutoScalingGroup | undefined> {
  const answer = await callAws(
    io,
    { call: 'autoscaling:DescribeAutoScalingGroups', resource: asgName, retry: clients.retry },
    (signal) =>
      clients.autoscaling.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [asgName] }), {
        abortSignal: signal,
      }),
  );
  return answer.AutoScalingGroups?.find((group) => group.AutoScalingGroupName === asgName);
}
