// Whether the aws fleet already runs an image with given settings, so a release would
// change nothing (a re-run of the same deploy): the last applied Terraform inputs name
// that image and those settings, and every instance of the Auto Scaling group is in
// service on the launch template version the group pins (no refresh left half done).

import type { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { isDeepStrictEqual } from 'node:util';
import type { AwsCallIO, RetryPolicy } from './call.ts';
import { describeGroup } from './group.ts';
import type { TerraformInputs } from './terraform.ts';

export interface FleetWanted {
  imageId: string;
  /** service.env as the launch template's user data carries it. */
  env: Record<string, string>;
  /** service.secrets: variable → SSM parameter name. */
  secrets: Record<string, string>;
  desired: number;
}

/** The inputs of the last apply say this image and these settings (false without inputs). */
export function inputsMatch(inputs: TerraformInputs | undefined, wanted: FleetWanted): boolean {
  return (
    inputs !== undefined &&
    inputs.image.id === wanted.imageId &&
    isDeepStrictEqual(inputs.service_env, wanted.env) &&
    isDeepStrictEqual(inputs.service_ssm_parameters, wanted.secrets)
  );
}

export async function fleetServes(
  io: AwsCallIO,
  clients: { autoscaling: AutoScalingClient; retry: RetryPolicy },
  asgName: string,
  inputs: TerraformInputs | undefined,
  wanted: FleetWanted,
): Promise<boolean> {
  if (!inputsMatch(inputs, wanted)) return false;
  const group = await describeGroup(io, clients, asgName);
  const version = group?.LaunchTemplate?.Version;
  const instances = group?.Instances ?? [];
  const current = instances.filter(
    (instance) => instance.LifecycleState === 'InService' && instance.LaunchTemplate?.Version === version,
  );
  return version !== undefined && current.length >= wanted.desired && current.length === instances.length;
}
