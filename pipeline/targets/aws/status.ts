// What runs on the aws target, read only: the Auto Scaling group's instances with the
// image each one booted and its target health in the ALB's target group (reason code and
// description), the load balancer's state, the deployed AMI's tags; and, for
// status.ts --logs, each instance's journal from CloudWatch Logs (logs.ts) and the target-health reasons.
// And the stack's CloudWatch alarms that are in ALARM.

import { DescribeAutoScalingGroupsCommand, type AutoScalingGroup } from '@aws-sdk/client-auto-scaling';
import { DescribeInstancesCommand } from '@aws-sdk/client-ec2';
import { DescribeLoadBalancersCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import type { AwsEnvironment } from '../../config/schema.ts';
import type { StageIO } from '../../context.ts';
import { InputError } from '../../errors.ts';
import type {
  ImageDetails,
  InstanceStatus,
  LoadBalancerStatus,
  LogQuery,
  TargetStatus,
} from '../../operate/observed.ts';
import type { DeploymentRecord } from '../../state/record.ts';
import { describeAlarms, stackAlarmNames } from './alarms.ts';
import { callAws } from './call.ts';
import type { AwsClients } from './clients.ts';
import { isAwsErrorCode } from './errors.ts';
import { TAGS, describeAmi, tagValue } from './images.ts';
import { hasStream, logGroupName, readLogs } from './logs.ts';
import { scalingStatus } from './scaling.ts';
import { describeTargets, formatTarget, type TargetState } from './target-health.ts';
import { stackName } from './terraform.ts';

/** Tags Packer writes on every AMI (packer/app.pkr.hcl image_tags) that status shows. */
const STATUS_TAGS = { bakedAt: 'bakery:baked_at', layer: 'bakery:layer' } as const;

export async function awsStatus(
  io: StageIO,
  clients: AwsClients,
  env: AwsEnvironment,
  record: DeploymentRecord | undefined,
): Promise<TargetStatus> {
  const name = stackName(env);
  const [group, loadBalancer, image, alarms] = await Promise.all([
    describeGroup(io, clients, name),
    describeLoadBalancer(io, clients, name),
    record ? imageDetails(io, clients, record.image) : Promise.resolve(undefined),
    describeAlarms(clients, stackAlarmNames(name), io),
  ]);
  const members = group?.Instances ?? [];
  const ids = members.map((member) => member.InstanceId).filter((id): id is string => Boolean(id));
  const targetGroupArn = group?.TargetGroupARNs?.[0];
  const [images, targets] = await Promise.all([
    instanceImages(io, clients, ids),
    targetGroupArn ? describeTargets(clients, targetGroupArn, io) : Promise.resolve([] as TargetState[]),
  ]);
  const instances = members.map((member): InstanceStatus => {
    const id = member.InstanceId ?? '?';
    const target = targets.find((candidate) => candidate.id === id || candidate.id.startsWith(`${id}:`));
    const healthy = target?.state === 'healthy';
    const reason = [target?.reason, target?.description ? `(${target.description})` : undefined]
      .filter(Boolean)
      .join(' ');
    const state = member.LifecycleState ?? 'unknown';
    const image = images.get(id);
    const version = member.LaunchTemplate?.Version;
    const groupVersion = group?.LaunchTemplate?.Version;
    const outdated =
      groupVersion && version !== groupVersion
        ? `runs launch template version ${version ?? '?'}, not the group's ${groupVersion}`
        : undefined;
    return {
      name: id,
      ...(image ? { image } : {}),
      ...(outdated ? { outdated } : {}),
      state,
      running: state === 'InService' || state.startsWith('Pending'),
      health: target?.state ?? 'not registered',
      healthy,
      ...(reason ? { reason } : {}),
    };
  });
  const scaling = group ? await scalingStatus(io, clients, group) : undefined;
  return {
    ...(image ? { image } : {}),
    ...(scaling ? { scaling } : {}),
    instances,
    loadBalancer,
    desired: group?.DesiredCapacity ?? env.instances.desired,
    alarms: alarms.filter((alarm) => alarm.state === 'ALARM').map(({ name, reason }) => ({ name, reason })),
  };
}

async function describeGroup(io: StageIO, clients: AwsClients, name: string): Promise<AutoScalingGroup | undefined> {
  const result = await callAws(
    io,
    { call: 'autoscaling:DescribeAutoScalingGroups', resource: name, retry: clients.retry },
    (signal) =>
      clients.autoscaling.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [name] }), {
        abortSignal: signal,
      }),
  );
  return result.AutoScalingGroups?.find((group) => group.AutoScalingGroupName === name);
}

async function describeLoadBalancer(io: StageIO, clients: AwsClients, name: string): Promise<LoadBalancerStatus> {
  try {
    const result = await callAws(
      io,
      { call: 'elasticloadbalancing:DescribeLoadBalancers', resource: name, retry: clients.retry },
      (signal) => clients.elbv2.send(new DescribeLoadBalancersCommand({ Names: [name] }), { abortSignal: signal }),
    );
    const state = result.LoadBalancers?.[0]?.State?.Code ?? 'missing';
    return { name, state, up: state === 'active' };
  } catch (error) {
    if (isAwsErrorCode(error, 'LoadBalancerNotFound', 'LoadBalancerNotFoundException'))
      return { name, state: 'missing', up: false };
    throw error;
  }
}

/** The AMI each instance booted, by instance id. */
async function instanceImages(io: StageIO, clients: AwsClients, ids: string[]): Promise<Map<string, string>> {
  const images = new Map<string, string>();
  if (ids.length === 0) return images;
  const result = await callAws(
    io,
    { call: 'ec2:DescribeInstances', resource: ids.join(', '), retry: clients.retry },
    (signal) => clients.ec2.send(new DescribeInstancesCommand({ InstanceIds: ids }), { abortSignal: signal }),
  );
  for (const reservation of result.Reservations ?? [])
    for (const instance of reservation.Instances ?? [])
      if (instance.InstanceId && instance.ImageId) images.set(instance.InstanceId, instance.ImageId);
  return images;
}

async function imageDetails(io: StageIO, clients: AwsClients, id: string): Promise<ImageDetails> {
  const image = await describeAmi(io, clients, id);
  if (!image) return { id, exists: false };
  const tag = (key: string): string | undefined => tagValue(image, key);
  const found = {
    name: image.Name,
    fingerprint: tag(TAGS.fingerprint),
    gitRevision: tag(TAGS.gitRevision),
    bakedAt: tag(STATUS_TAGS.bakedAt) ?? image.CreationDate,
    // Layer tags are not baked yet: an AMI without one is the app layer deploys use.
    layer: tag(STATUS_TAGS.layer) ?? 'app',
  };
  return {
    id,
    exists: image.State === undefined || image.State === 'available',
    ...Object.fromEntries(Object.entries(found).filter(([, value]) => value !== undefined)),
  };
}

/**
 * The instances' journal from the environment's CloudWatch Logs group (logs.ts): every
 * instance in the group, or the one --instance names (also one that is gone: its stream
 * is kept for the retention). Then, unless following, the target-health line of every
 * target, which says what the load balancer sees.
 */
export async function awsLogs(
  io: StageIO,
  clients: AwsClients,
  env: AwsEnvironment,
  query: LogQuery,
  write: (line: string) => void,
  pollMs = 2_000,
): Promise<void> {
  const name = stackName(env);
  const group = await describeGroup(io, clients, name);
  const members = (group?.Instances ?? []).map((member) => member.InstanceId).filter((id): id is string => Boolean(id));
  const logGroup = logGroupName(env.app, env.name);
  const streams = query.instance !== undefined ? [query.instance] : members;
  if (
    query.instance !== undefined &&
    !members.includes(query.instance) &&
    !(await hasStream(io, clients, logGroup, query.instance))
  )
    throw new InputError(
      `--instance ${JSON.stringify(query.instance)}: no such instance in the Auto Scaling group ${name}, and no log stream of that name in ${logGroup}`,
      [`see the instances with: ./status.ts ${env.name}`],
    );
  if (streams.length === 0)
    throw new InputError(`the Auto Scaling group ${name} has no instances`, [
      `see the instances with: ./status.ts ${env.name}`,
    ]);
  await readLogs(io, clients, { group: logGroup, streams, query, pollMs }, write);
  const targetGroupArn = group?.TargetGroupARNs?.[0];
  if (!targetGroupArn || query.follow) return;
  for (const target of await describeTargets(clients, targetGroupArn, io)) {
    if (query.instance === undefined || target.id.startsWith(query.instance))
      write(`target-health | ${formatTarget(target)}`);
  }
}
