// One-off commands (service.release, run.ts) on the aws target: not built yet. They will
// run on a one-off instance from the new AMI with the fleet's security group and
// instance profile; until then a deploy that needs one stops before the Auto Scaling
// group is touched, saying so.

import { DeployError } from '../../errors.ts';
import type { OneOffCommand } from '../target.ts';

/** The aws target cannot run one-off commands yet (release commands, run.ts). */
export class OneOffNotYetError extends DeployError {}

export function oneOffNotYet(command: Pick<OneOffCommand, 'purpose'>): OneOffNotYetError {
  const what = command.purpose === 'release' ? 'service.release commands' : 'run.ts one-off commands';
  return new OneOffNotYetError(`the aws target cannot run ${what} yet`, [
    command.purpose === 'release'
      ? 'the Auto Scaling group was not touched; remove service.release for this environment, or deploy it to target local'
      : 'run the command on target local, or on an instance of the fleet',
  ]);
}
