// In which order the aws target applies a deploy's Terraform inputs. The launch template
// carries the image and the runtime settings, and a new version of it starts an instance
// refresh at once (the group pins the latest version): so when release commands must run
// first, the first apply (provision) keeps the launch template as it is (the image and
// settings in service) while everything else converges (database, security groups,
// endpoints), and a second apply (rollout, after the release) changes it. Without release
// commands, or without an earlier apply (no fleet to protect), one apply does it all.

import { isDeepStrictEqual } from 'node:util';
import { PLACEHOLDER_AMI, type TerraformInputs } from './terraform.ts';

export interface ApplySteps {
  /** What provision applies. */
  first: TerraformInputs;
  /** What rollout applies after the release: the launch template change held back; absent when none is. */
  then?: TerraformInputs;
  /** Why there is one apply or two, for the stage's progress and --dry-run. */
  why: string;
}

/** The inputs that make the launch template (a change there is a new version and a refresh). */
function launchTemplateInputs(inputs: TerraformInputs) {
  return {
    image: inputs.image,
    service_env: inputs.service_env,
    service_ssm_parameters: inputs.service_ssm_parameters,
  };
}

/**
 * `wanted`: this deploy's inputs; `previous`: those of the last apply (terraform.tfvars.json),
 * undefined before the first; `hasRelease`: service.release is not empty.
 */
export function applySteps(
  wanted: TerraformInputs,
  previous: TerraformInputs | undefined,
  hasRelease: boolean,
): ApplySteps {
  if (!hasRelease) return { first: wanted, why: 'no release commands: one apply' };
  if (!previous || previous.image.id === PLACEHOLDER_AMI)
    return {
      first: wanted,
      why: `first deploy: the stack is created on ${wanted.image.id} (no fleet serves yet, so nothing to hold back until the release ran)`,
    };
  if (isDeepStrictEqual(launchTemplateInputs(previous), launchTemplateInputs(wanted)))
    return { first: wanted, why: `the launch template keeps ${wanted.image.id} and its settings: one apply` };
  // An SSM parameter the instances could not read before needs the instance role's policy
  // (iam.tf) before the release can read it, and that policy is made from the same input
  // as the user data: then only the image and the plain variables wait.
  const granted = new Set(Object.values(previous.service_ssm_parameters));
  const newParameters = Object.values(wanted.service_ssm_parameters).filter((name) => !granted.has(name));
  const held =
    newParameters.length === 0
      ? launchTemplateInputs(previous)
      : { image: previous.image, service_env: previous.service_env };
  return {
    first: { ...wanted, ...held },
    then: wanted,
    why:
      newParameters.length === 0
        ? `the launch template stays on ${previous.image.id} and its settings until the release ran; the rollout applies ${wanted.image.id}`
        : `the launch template stays on ${previous.image.id} until the release ran (the rollout applies ${wanted.image.id}); it takes the secrets' names at once, as the instance role must be allowed to read ${newParameters.join(', ')} before the release runs`,
  };
}
