// What the Auto Scaling group really runs: the launch template version the group pins and,
// for each instance, the version it was launched from and the AMI it booted. A refresh that
// was cancelled or ended in RollbackFailed leaves the group on the new version with old
// and new instances side by side; healthy targets alone do not show that, this does.

import { StartInstanceRefreshCommand, type InstanceRefresh } from '@aws-sdk/client-auto-scaling';
import { DescribeInstancesCommand } from '@aws-sdk/client-ec2';
import type { AwsEnvironment } from '../../config/schema.ts';
import { DeployError } from '../../errors.ts';
import { callAws, type AwsCallIO } from './call.ts';
import type { AwsClients } from './clients.ts';
import { isAwsErrorCode } from './errors.ts';
import { describeGroup } from './group.ts';
import { releaseSafetyInputs } from './terraform.ts';

export interface FleetInstance {
  id: string;
  /** The Auto Scaling lifecycle state: InService, Pending, Terminating… */
  lifecycle: string;
  /** The launch template version the instance was launched from. */
  launchTemplateVersion?: string;
  /** The AMI the instance booted, from EC2. */
  imageId?: string;
}

export interface Fleet {
  asgName: string;
  /** The launch template version the group launches new instances from. */
  launchTemplateVersion?: string;
  instances: FleetInstance[];
}

/** The group and its instances; undefined when the group does not exist. */
export async function describeFleet(clients: AwsClients, asgName: string, io: AwsCallIO): Promise<Fleet | undefined> {
  const group = await describeGroup(io, clients, asgName);
  if (!group) return undefined;
  const members = (group.Instances ?? []).filter((member) => member.InstanceId);
  const images = new Map<string, string>();
  const ids = members.map((member) => member.InstanceId as string);
  if (ids.length > 0) {
    const described = await callAws(
      io,
      { call: 'ec2:DescribeInstances', resource: ids.join(', '), retry: clients.retry },
      (signal) => clients.ec2.send(new DescribeInstancesCommand({ InstanceIds: ids }), { abortSignal: signal }),
    );
    for (const reservation of described.Reservations ?? [])
      for (const instance of reservation.Instances ?? [])
        if (instance.InstanceId && instance.ImageId) images.set(instance.InstanceId, instance.ImageId);
  }
  const launchTemplateVersion = group.LaunchTemplate?.Version;
  return {
    asgName,
    ...(launchTemplateVersion ? { launchTemplateVersion } : {}),
    instances: members.map((member): FleetInstance => {
      const id = member.InstanceId as string;
      const version = member.LaunchTemplate?.Version;
      const imageId = images.get(id);
      return {
        id,
        lifecycle: member.LifecycleState ?? 'unknown',
        ...(version ? { launchTemplateVersion: version } : {}),
        ...(imageId ? { imageId } : {}),
      };
    }),
  };
}

/**
 * One line per InService instance that does not run the group's launch template version
 * and the given AMI: "i-0abc runs ami-old from launch template version 3 (want ami-new, version 4)".
 */
export function outdatedInstances(fleet: Fleet, imageId: string): string[] {
  const want = `want ${imageId}${fleet.launchTemplateVersion ? `, version ${fleet.launchTemplateVersion}` : ''}`;
  return fleet.instances
    .filter((instance) => instance.lifecycle === 'InService')
    .filter(
      (instance) =>
        instance.imageId !== imageId ||
        (fleet.launchTemplateVersion !== undefined && instance.launchTemplateVersion !== fleet.launchTemplateVersion),
    )
    .map(
      (instance) =>
        `${instance.id} runs ${instance.imageId ?? 'an unknown AMI'} from launch template version ${instance.launchTemplateVersion ?? '?'} (${want})`,
    );
}

/**
 * Verify's last word on AWS: every InService instance runs the release's AMI from the
 * group's launch template version, and the refresh this run started (if any) ended
 * Successful. Otherwise a DeployError (exit 1, no record) naming the instances and the
 * refresh's status and reason.
 */
export function checkFleet(fleet: Fleet | undefined, imageId: string, refresh: InstanceRefresh | undefined): void {
  const problems: string[] = [];
  if (refresh && refresh.Status !== 'Successful')
    problems.push(
      `instance refresh ${refresh.InstanceRefreshId ?? '?'} is ${refresh.Status ?? 'unknown'}${refresh.StatusReason ? `: ${refresh.StatusReason}` : ''}`,
    );
  if (!fleet) {
    throw new DeployError('the Auto Scaling group is gone: nothing runs the release', problems);
  }
  const outdated = outdatedInstances(fleet, imageId);
  const inService = fleet.instances.filter((instance) => instance.lifecycle === 'InService').length;
  if (inService === 0) problems.push(`no instance of ${fleet.asgName} is InService`);
  if (outdated.length === 0 && problems.length === 0) return;
  throw new DeployError(
    outdated.length > 0
      ? `${outdated.length} of ${inService} InService instance(s) of ${fleet.asgName} do not run the release ${imageId}`
      : `${fleet.asgName} does not run the release ${imageId}`,
    [...outdated, ...problems, 'the deployment record is not updated; run ./deploy.ts again to finish the rollout'],
  );
}

/**
 * Starts the refresh a deploy needs when the group already pins the release's launch
 * template version but instances of an older one remain (a refresh cancelled by someone
 * else, or ended RollbackFailed). The preferences are the ones terraform/compute.tf gives
 * the refresh Terraform starts, so the canary and alarms behave the same.
 */
export async function startRefresh(
  clients: AwsClients,
  env: AwsEnvironment,
  asgName: string,
  alarmNames: readonly string[],
  io: AwsCallIO,
): Promise<string> {
  const safety = releaseSafetyInputs(env.rollout, env.instances.desired);
  const checkpoints = safety.canary_percent > 0 ? [safety.canary_percent, 100] : [];
  let started;
  try {
    started = await callAws(
      io,
      { call: 'autoscaling:StartInstanceRefresh', resource: asgName, retry: clients.retry },
      (signal) =>
        clients.autoscaling.send(
          new StartInstanceRefreshCommand({
            AutoScalingGroupName: asgName,
            Strategy: 'Rolling',
            Preferences: {
              MinHealthyPercentage: 100,
              MaxHealthyPercentage: 200,
              AutoRollback: true,
              SkipMatching: true,
              ScaleInProtectedInstances: 'Refresh',
              StandbyInstances: 'Terminate',
              ...(checkpoints.length > 0 ? { CheckpointPercentages: checkpoints, CheckpointDelay: safety.bake_s } : {}),
              ...(alarmNames.length > 0 ? { AlarmSpecification: { Alarms: [...alarmNames] } } : {}),
            },
          }),
          { abortSignal: signal },
        ),
    );
  } catch (error) {
    // Someone else's refresh (or one not listed yet): never adopted, never cancelled here.
    if (isAwsErrorCode(error, 'InstanceRefreshInProgress'))
      throw new DeployError(`an instance refresh of ${asgName} that this run did not start is in progress`, [
        'wait for it to end, then run ./deploy.ts again: it replaces whatever instances remain outdated',
        `  aws autoscaling describe-instance-refreshes --auto-scaling-group-name ${asgName}`,
      ]);
    throw error;
  }
  if (!started.InstanceRefreshId)
    throw new DeployError(`autoscaling:StartInstanceRefresh for ${asgName} answered without a refresh id`);
  return started.InstanceRefreshId;
}
