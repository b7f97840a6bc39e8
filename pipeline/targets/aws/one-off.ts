// One-off commands on the aws target (service.release, run.ts): one instance from the new
// AMI with the fleet's launch template (its security group, instance profile, IMDSv2,
// encrypted root volume and runtime settings), in one of the stack's subnets, never
// attached to the Auto Scaling group or the load balancer. Its cloud-config runs the
// command once (one-off-script.ts) and prints the output to the serial console; this
// polls GetConsoleOutput (Latest=true), streams the new lines, reads the exit code, and
// terminates the instance on every way out: success, failure, timeout, error, Ctrl-C.

import type { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import {
  DescribeInstancesCommand,
  DescribeLaunchTemplateVersionsCommand,
  GetConsoleOutputCommand,
  RunInstancesCommand,
  TerminateInstancesCommand,
  type EC2Client,
  type ResponseLaunchTemplateData,
} from '@aws-sdk/client-ec2';
import { setTimeout as sleep } from 'node:timers/promises';
import type { StageIO } from '../../context.ts';
import { DeployError, InterruptedError } from '../../errors.ts';
import { callAws, type RetryPolicy } from './call.ts';
import { awsErrorInfo, isAwsErrorCode } from './errors.ts';
import { describeGroup } from './group.ts';
import {
  newLines,
  oneOffMarker,
  oneOffScript,
  oneOffUserData,
  readConsole,
  type OneOffSettings,
} from './one-off-script.ts';

export type OneOffIO = Pick<StageIO, 'signal' | 'progress' | 'note' | 'debug' | 'warn'>;

export interface OneOffClients {
  ec2: EC2Client;
  retry: RetryPolicy;
}

/** Where the fleet's instances come from: its launch template (pinned version) and subnets. */
export interface FleetLaunchSpec {
  launchTemplateId: string;
  launchTemplateVersion: string;
  subnetIds: string[];
}

export interface OneOffRequest {
  app: string;
  environment: string;
  purpose: 'release' | 'run';
  /** The AMI to run the command on (the new release's). */
  imageId: string;
  /** The fleet's launch template (terraform output launch_template_id) and the version whose settings apply. */
  launchTemplateId: string;
  launchTemplateVersion?: string;
  /** The fleet's security group; by default the one on the launch template's network interface. */
  securityGroupId?: string;
  /** The fleet's subnets; the first with capacity is used. */
  subnetIds: readonly string[];
  /** What runs, as the service user in the app's directory with the venv first on PATH. */
  argv: readonly string[];
  /** The runtime settings to run with instead of the launch template's (which may still be the old ones). */
  settings?: OneOffSettings;
  /** From launch to exit code; undefined for no limit but the instance's own lifetime cap. */
  timeoutMs?: number;
  /** From launch until the script says BEGIN (boot, cloud-init). */
  bootTimeoutMs?: number;
  pollMs: number;
  /** Each output line, as soon as it is read back. */
  onLine?: (line: string) => void;
  /** Test seam for the marker. */
  marker?: string;
}

export interface OneOffOutcome {
  exitCode: number;
  /** Every output line read back, in order. */
  lines: string[];
  timedOut: boolean;
  instanceId: string;
}

/** The instance could not be started (no capacity in any subnet, a launch template without settings). */
export class OneOffLaunchError extends DeployError {}

/** The instance started but ended without an exit code (stopped, terminated, the secrets unit failed, never booted). */
export class OneOffInstanceError extends DeployError {}

export const DEFAULT_BOOT_TIMEOUT_MS = 10 * 60_000;
/** Without a timeout (run.ts) the instance still powers itself off after this long. */
export const DEFAULT_LIFETIME_MINUTES = 12 * 60;
/** How long a just-started instance may be unknown to EC2's read calls. */
const NOT_FOUND_GRACE_MS = 60_000;
const CAPACITY_CODES = ['InsufficientInstanceCapacity', 'Unsupported', 'InsufficientFreeAddressesInSubnet'];
const ENDED_STATES = new Set(['shutting-down', 'terminated', 'stopping', 'stopped']);

export async function runOneOffInstance(
  io: OneOffIO,
  clients: OneOffClients,
  request: OneOffRequest,
): Promise<OneOffOutcome> {
  const marker = request.marker ?? oneOffMarker();
  const version = request.launchTemplateVersion ?? '$Latest';
  const template = await templateData(io, clients, request.launchTemplateId, version);
  const securityGroupId = request.securityGroupId ?? template.NetworkInterfaces?.[0]?.Groups?.[0];
  if (!securityGroupId)
    throw new OneOffLaunchError(`launch template ${request.launchTemplateId} names no security group`, [
      "run ./deploy.ts to restore the stack (terraform/compute.tf sets the instances' group on their interface)",
    ]);
  const userData = oneOffUserData(
    template.UserData,
    oneOffScript({
      app: request.app,
      argv: request.argv,
      marker,
      lifetimeMinutes: request.timeoutMs !== undefined ? request.timeoutMs / 60_000 + 10 : DEFAULT_LIFETIME_MINUTES,
    }),
    request.settings,
  );
  const instanceId = await launch(io, clients, { ...request, securityGroupId }, version, userData, marker);
  try {
    return await follow(io, clients, request, instanceId, marker);
  } finally {
    await terminate(io, clients, instanceId);
  }
}

/** The Auto Scaling group's launch template, the version it pins, and its subnets. */
export async function fleetLaunchSpec(
  io: OneOffIO,
  clients: { autoscaling: AutoScalingClient; retry: RetryPolicy },
  asgName: string,
): Promise<FleetLaunchSpec> {
  const group = await describeGroup(io, clients, asgName);
  const template = group?.LaunchTemplate;
  const subnetIds = (group?.VPCZoneIdentifier ?? '').split(',').filter((id) => id !== '');
  if (!template?.LaunchTemplateId || subnetIds.length === 0)
    throw new OneOffLaunchError(
      `there is no Auto Scaling group ${asgName} with a launch template to start a one-off instance from`,
      ['run ./deploy.ts once to create the stack'],
    );
  return {
    launchTemplateId: template.LaunchTemplateId,
    launchTemplateVersion: template.Version ?? '$Latest',
    subnetIds,
  };
}

async function templateData(
  io: OneOffIO,
  clients: OneOffClients,
  launchTemplateId: string,
  version: string,
): Promise<ResponseLaunchTemplateData> {
  const answer = await callAws(
    io,
    { call: 'ec2:DescribeLaunchTemplateVersions', resource: launchTemplateId, retry: clients.retry },
    (signal) =>
      clients.ec2.send(
        new DescribeLaunchTemplateVersionsCommand({ LaunchTemplateId: launchTemplateId, Versions: [version] }),
        { abortSignal: signal },
      ),
  );
  const found = answer.LaunchTemplateVersions?.[0];
  if (!found)
    throw new OneOffLaunchError(`launch template ${launchTemplateId} has no version ${version}`, [
      'run ./deploy.ts to create the stack before running one-off commands',
    ]);
  return found.LaunchTemplateData ?? {};
}

async function launch(
  io: OneOffIO,
  clients: OneOffClients,
  request: OneOffRequest & { securityGroupId: string },
  version: string,
  userData: string,
  marker: string,
): Promise<string> {
  const tried: string[] = [];
  for (const subnetId of request.subnetIds) {
    io.progress(`starting a one-off instance of ${request.imageId} in ${subnetId}`);
    try {
      const answer = await callAws(
        io,
        { call: 'ec2:RunInstances', resource: `${request.imageId} (${request.purpose})`, retry: clients.retry },
        (signal) =>
          clients.ec2.send(
            new RunInstancesCommand({
              LaunchTemplate: { LaunchTemplateId: request.launchTemplateId, Version: version },
              ImageId: request.imageId,
              MinCount: 1,
              MaxCount: 1,
              UserData: userData,
              InstanceInitiatedShutdownBehavior: 'terminate',
              // The same interface as the fleet's (launch template), in a chosen subnet.
              NetworkInterfaces: [
                {
                  DeviceIndex: 0,
                  SubnetId: subnetId,
                  Groups: [request.securityGroupId],
                  AssociatePublicIpAddress: false,
                  DeleteOnTermination: true,
                },
              ],
              TagSpecifications: [
                {
                  ResourceType: 'instance',
                  Tags: [
                    { Key: 'Name', Value: `${request.app}-${request.environment}-${request.purpose}` },
                    { Key: 'bakery:app', Value: request.app },
                    { Key: 'bakery:env', Value: request.environment },
                    // The deploy policy terminates only instances with this tag and bakery:app.
                    { Key: 'bakery:role', Value: 'one-off' },
                  ],
                },
              ],
              // A retried call after a lost answer starts no second instance.
              ClientToken: `${marker}-${subnetId}`.slice(0, 64),
            }),
            { abortSignal: signal },
          ),
      );
      const instanceId = answer.Instances?.[0]?.InstanceId;
      if (!instanceId) throw new OneOffLaunchError('ec2:RunInstances answered without an instance id');
      io.note(`one-off instance ${instanceId} (${request.purpose}: ${request.argv.join(' ')})`);
      return instanceId;
    } catch (error) {
      if (!isAwsErrorCode(error, ...CAPACITY_CODES)) throw error;
      tried.push(`${subnetId}: ${awsErrorInfo(error).code}`);
    }
  }
  throw new OneOffLaunchError(`no subnet of the stack could start a one-off instance of ${request.imageId}`, tried);
}

async function follow(
  io: OneOffIO,
  clients: OneOffClients,
  request: OneOffRequest,
  instanceId: string,
  marker: string,
): Promise<OneOffOutcome> {
  const started = Date.now();
  const bootDeadline = started + (request.bootTimeoutMs ?? DEFAULT_BOOT_TIMEOUT_MS);
  const deadline = request.timeoutMs !== undefined ? started + request.timeoutMs : Number.POSITIVE_INFINITY;
  const lines: string[] = [];
  let seen = 0;
  let began = false;
  let latest = true;
  for (;;) {
    if (io.signal.aborted) throw new InterruptedError(`interrupted while ${instanceId} ran the one-off command`);
    const output = await consoleOutput(io, clients, instanceId, latest).catch((error: unknown) => {
      // Latest=true is for Nitro instances only; older types answer the buffered output.
      if (latest && isAwsErrorCode(error, 'UnsupportedOperation')) {
        latest = false;
        return '';
      }
      // EC2 is eventually consistent: a new instance may be unknown for a few seconds.
      if (isAwsErrorCode(error, 'InvalidInstanceID.NotFound') && Date.now() < started + NOT_FOUND_GRACE_MS) return '';
      throw error;
    });
    const reading = readConsole(output, marker);
    began ||= reading.began || reading.lines.length > 0;
    const fresh = newLines(reading, seen);
    if (fresh.missed > 0) {
      const note = `(${fresh.missed} line${fresh.missed === 1 ? '' : 's'} scrolled off the console before they were read)`;
      lines.push(note);
      request.onLine?.(note);
    }
    for (const line of fresh.lines) {
      lines.push(line.text);
      request.onLine?.(line.text);
      seen = line.n;
    }
    if (reading.failure)
      throw new OneOffInstanceError(`the one-off instance ${instanceId} could not run the command`, [reading.failure]);
    if (reading.exitCode !== undefined) return { exitCode: reading.exitCode, lines, timedOut: false, instanceId };

    const now = Date.now();
    if (now >= deadline) return { exitCode: 124, lines, timedOut: true, instanceId };
    if (!began && now >= bootDeadline)
      throw new OneOffInstanceError(
        `the one-off instance ${instanceId} did not start the command within ${Math.round((bootDeadline - started) / 1000)} s`,
        ['its console output: aws ec2 get-console-output --latest --instance-id ' + instanceId],
      );
    const state = await instanceState(io, clients, instanceId).catch((error: unknown) => {
      if (isAwsErrorCode(error, 'InvalidInstanceID.NotFound') && Date.now() < started + NOT_FOUND_GRACE_MS)
        return undefined;
      throw error;
    });
    if (state && ENDED_STATES.has(state.name)) {
      // One last read: the exit code may have reached the console just before power-off.
      const last = readConsole(await consoleOutput(io, clients, instanceId, latest).catch(() => ''), marker);
      if (last.exitCode !== undefined) {
        for (const line of newLines(last, seen).lines) {
          lines.push(line.text);
          request.onLine?.(line.text);
        }
        return { exitCode: last.exitCode, lines, timedOut: false, instanceId };
      }
      throw new OneOffInstanceError(`the one-off instance ${instanceId} ended (${state.name}) before the command did`, [
        state.reason ?? 'no reason given',
        ...lines.slice(-5).map((line) => `  ${line}`),
      ]);
    }
    io.progress(`${instanceId}: ${began ? 'running the command' : `booting (${state?.name ?? 'pending'})`}`);
    const pause = Math.min(request.pollMs, Math.max(0, Math.min(deadline, began ? deadline : bootDeadline) - now));
    try {
      await sleep(pause, undefined, { signal: io.signal });
    } catch {
      throw new InterruptedError(`interrupted while ${instanceId} ran the one-off command`);
    }
  }
}

async function consoleOutput(
  io: OneOffIO,
  clients: OneOffClients,
  instanceId: string,
  latest: boolean,
): Promise<string> {
  const answer = await callAws(
    io,
    { call: 'ec2:GetConsoleOutput', resource: instanceId, retry: clients.retry },
    (signal) =>
      clients.ec2.send(new GetConsoleOutputCommand({ InstanceId: instanceId, Latest: latest }), {
        abortSignal: signal,
      }),
  );
  return answer.Output ? Buffer.from(answer.Output, 'base64').toString('utf8') : '';
}

async function instanceState(
  io: OneOffIO,
  clients: OneOffClients,
  instanceId: string,
): Promise<{ name: string; reason?: string } | undefined> {
  const answer = await callAws(
    io,
    { call: 'ec2:DescribeInstances', resource: instanceId, retry: clients.retry },
    (signal) => clients.ec2.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] }), { abortSignal: signal }),
  );
  const instance = answer.Reservations?.[0]?.Instances?.[0];
  if (!instance?.State?.Name) return undefined;
  const reason = instance.StateReason?.Message ?? instance.StateTransitionReason;
  return { name: instance.State.Name, ...(reason ? { reason } : {}) };
}

/**
 * Always, also after Ctrl-C: the run's own signal may be aborted, so the call gets a
 * fresh one with a bound of its own. A failure is a warning naming the instance (its
 * lifetime cap and shutdown behaviour still end it).
 */
async function terminate(io: OneOffIO, clients: OneOffClients, instanceId: string): Promise<void> {
  const cleanup = { ...io, signal: AbortSignal.timeout(60_000) };
  try {
    await callAws(cleanup, { call: 'ec2:TerminateInstances', resource: instanceId, retry: clients.retry }, (signal) =>
      clients.ec2.send(new TerminateInstancesCommand({ InstanceIds: [instanceId] }), { abortSignal: signal }),
    );
    io.note(`terminated the one-off instance ${instanceId}`);
  } catch (error) {
    if (isAwsErrorCode(error, 'InvalidInstanceID.NotFound')) return;
    io.warn(`could not terminate the one-off instance ${instanceId}: ${awsErrorInfo(error).message}`, [
      `terminate it by hand: aws ec2 terminate-instances --instance-ids ${instanceId}`,
    ]);
  }
}
