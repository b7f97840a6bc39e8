// The aws target: AMIs baked by Packer (amazon-ebs), an Auto Scaling group behind an
// Application Load Balancer managed by Terraform (terraform/), rolled out by instance
// refresh and verified through the load balancer.
//
//   preflight  credentials, region, VPC and subnets (two zones), base AMI, instance type, tools
//   provision  terraform init → plan -out → apply of that plan (which starts a refresh
//              when the launch template's image changed), then terraform output; with
//              release commands the launch template's change waits (apply-steps.ts)
//   rollout    the held launch template change, when there is one (a second apply, after
//              the release); then poll the refresh until Successful; failed or rolled back → exit 1
//   verify     target health ≥ desired, then the URL's health path 200 N times in a row
//   teardown   terraform destroy (nothing to do without state)

import { rm } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { Agent, type Dispatcher } from 'undici';
import type { AwsEnvironment } from '../../config/schema.ts';
import type { RunContext, StageIO } from '../../context.ts';
import { DeployError, InterruptedError } from '../../errors.ts';
import { BAKERY_ROOT } from '../../install.ts';
import { readDeploymentRecord } from '../../state/record.ts';
import type { DeployTarget, Provisioned } from '../target.ts';
import { builderSourceCidr } from './builder-ip.ts';
import { activeEndpoints, configuredEndpoint, createAwsClients, type AwsClients } from './clients.ts';
import { refreshDeadline } from './canary.ts';
import { emulatorAlbAddress, loopbackDispatcher } from './emulator-health.ts';
import { checkFleet, describeFleet, outdatedInstances, startRefresh } from './fleet.ts';
import { amiStore, describeAmi } from './images.ts';
import {
  checkCredentials,
  checkInstanceType,
  checkRegion,
  checkTools,
  resolveBaseImage,
  resolveNetwork,
  type BaseImage,
  type NetworkPlan,
} from './preflight.ts';
import { describeRefresh, listRefreshes, refreshToWatch, waitForRefresh } from './refresh.ts';
import { finalSnapshotName, unprotected } from './database-inputs.ts';
import { fleetLaunchSpec, runOneOffInstance } from './one-off.ts';
import { fleetServes } from './serves-already.ts';
import { awsLogs, awsStatus } from './status.ts';
import { unprotectLoadBalancer } from './deletion-protection.ts';
import { checkEgressRoutes } from './egress.ts';
import { describeGroup } from './group.ts';
import { journalLines, logGroupName } from './logs.ts';
import { desiredCapacity, resumeLeftovers, withScalingHeld } from './scaling.ts';
import {
  describeTargets,
  targetInstances,
  unhealthyLines,
  waitForHealthyTargets,
  type TargetState,
} from './target-health.ts';
import {
  PLACEHOLDER_AMI,
  Terraform,
  backendConfig,
  formatPlan,
  localStateHasResources,
  readInputs,
  releaseSafetyInputs,
  stackName,
  stageModule,
  terraformInputs,
  terraformLayout,
  writeInputs,
  type PlanSummary,
  type ResolvedNetwork,
  type StackOutputs,
  type TerraformInputs,
} from './terraform.ts';
import { applySteps } from './apply-steps.ts';

export interface AwsTargetOptions {
  /** Clients to use instead of real ones (tests). */
  clients?: AwsClients;
  /** The process environment (endpoint variables, BAKERY_* settings). */
  env?: NodeJS.ProcessEnv;
}

/** Pause between polls of refreshes and target health; BAKERY_AWS_POLL_MS shortens it (tests, LocalStack). */
export const DEFAULT_POLL_MS = 10_000;

export function pollInterval(env: NodeJS.ProcessEnv): number {
  const value = Number.parseInt(env.BAKERY_AWS_POLL_MS ?? '', 10);
  return Number.isInteger(value) && value >= 10 ? value : DEFAULT_POLL_MS;
}

/** Destroy resolves no settings: the launch template that would carry them goes. */
const NO_SETTINGS = { variables: {} };

/** What deploy's preflight found; destroy's preflight finds nothing later steps need. */
export interface AwsFacts {
  network: NetworkPlan;
  baseImage: BaseImage;
}

/** What provision made, and what the rollout needs to find the refresh it started. */
export interface AwsStack extends Provisioned {
  outputs: StackOutputs;
  /** Refresh ids that existed before this run's apply; undefined when they could not be listed. */
  refreshesBefore: ReadonlySet<string> | undefined;
  /** When the apply began: with no list from before, only refreshes started after it are this run's. */
  applyStartedAt: Date;
  /** Whether the apply created the Auto Scaling group (its first instances need no refresh). */
  createdGroup: boolean;
  /** The release's AMI: verify checks every InService instance runs it. */
  imageId: string;
  /**
   * The inputs whose launch template change provision held back until the release ran
   * (apply-steps.ts): rollout applies them. Absent when provision applied everything.
   */
  heldInputs?: TerraformInputs;
  /** The refresh this run started or watched (set by rollout): verify checks it ended Successful. */
  refreshId?: string;
  /** The desired capacity the apply set (scaling.ts: what scaling chose, with a policy): verify waits for as many. */
  desired?: number;
}

export function createAwsTarget(
  context: RunContext,
  env: AwsEnvironment,
  options: AwsTargetOptions = {},
): DeployTarget<AwsFacts, AwsStack> {
  const processEnv = options.env ?? context.processEnv;
  const clients = options.clients ?? createAwsClients(env.aws.region, processEnv);
  const images = amiStore(clients, env);
  const layout = terraformLayout(join(BAKERY_ROOT, 'terraform'), context.stateDir);
  const pollMs = pollInterval(processEnv);
  const backend = backendConfig(env, layout);
  // Tests against an AWS emulator only (emulator-health.ts): refused here, before anything starts, against AWS.
  const emulatorAlb = emulatorAlbAddress(processEnv);

  /** The network preflight found, as Terraform inputs; the configured one without it (destroy). */
  const networkInputs = (facts: AwsFacts | undefined): ResolvedNetwork =>
    facts
      ? { vpcId: facts.network.vpcId, subnetIds: facts.network.subnets.map((s) => s.id) }
      : { vpcId: env.aws.vpc_id ?? null, subnetIds: env.aws.subnet_ids ?? [] };

  /** The launch template maps the encrypted root volume to the image's own root device. */
  const rootDeviceName = async (io: StageIO, imageId: string): Promise<string | undefined> =>
    (await describeAmi(io, clients, imageId))?.RootDeviceName;

  const refreshIds = async (io: StageIO): Promise<Set<string> | undefined> => {
    try {
      const refreshes = await listRefreshes(clients, stackName(env), io);
      return new Set(refreshes.map((r) => r.InstanceRefreshId).filter((id): id is string => Boolean(id)));
    } catch (error) {
      io.note(
        `could not list instance refreshes before apply (only refreshes started after it count as this run's): ${error instanceof Error ? error.message : String(error)}`,
      );
      return undefined;
    }
  };

  /** Writes `inputs` as the last apply's, then plans and applies them (nothing when the plan is empty). */
  const applyInputs = async (io: StageIO, terraform: Terraform, inputs: TerraformInputs): Promise<PlanSummary> => {
    await writeInputs(layout.varFile, inputs);
    io.note(`inputs: ${relative(context.root, layout.varFile)}`);
    const plan = await terraform.plan(layout.varFile, layout.planFile);
    if (plan.changes) {
      io.info(`terraform: ${formatPlan(plan)}`);
      await terraform.apply(layout.planFile);
    } else {
      io.progress('infrastructure up to date');
    }
    await rm(layout.planFile, { force: true });
    return plan;
  };

  /** The endpoints, credentials and region: what deploy and destroy both check first. */
  const checkAccount = async (io: StageIO): Promise<void> => {
    const endpoints = activeEndpoints(processEnv);
    if (endpoints.length > 0) io.info('AWS endpoints from the environment', endpoints);
    io.progress('checking AWS credentials');
    const identity = await checkCredentials(clients, io);
    io.note(`AWS account ${identity.account} as ${identity.arn}`);
    io.progress(`account ${identity.account}, checking region ${env.aws.region}`);
    await checkRegion(clients, env, io);
  };

  /**
   * With a scaling policy, the inputs keep the desired capacity scaling chose (an apply must
   * not undo it), and processes an earlier deploy left suspended are resumed (not by a dry run).
   */
  const keepScaledCapacity = async (
    io: StageIO,
    inputs: TerraformInputs,
    options: { resume: boolean } = { resume: true },
  ): Promise<TerraformInputs> => {
    if (!env.instances.scale) return inputs;
    const group = await describeGroup(io, clients, stackName(env));
    if (options.resume) await resumeLeftovers(io, clients, stackName(env), group);
    const desired = desiredCapacity(env.instances, group);
    if (desired !== env.instances.desired)
      io.info(
        `instances.scale: keeping the desired capacity scaling chose, ${desired} (instances.desired is ${env.instances.desired})`,
      );
    return { ...inputs, instances: { ...inputs.instances, desired } };
  };

  /** The last journal lines (CloudWatch Logs) of the instances behind targets that are not healthy. */
  const journalOf = (io: StageIO, unhealthy: readonly TargetState[]): Promise<string[]> =>
    journalLines(io, clients, logGroupName(env.app, env.name), targetInstances(unhealthy));

  /** Target health lines for an error: what each target that is not healthy says, and its journal. */
  const targetReport = async (outputs: StackOutputs, io: StageIO): Promise<string[]> => {
    try {
      const targets = await describeTargets(clients, outputs.targetGroupArn, io);
      const lines = unhealthyLines(targets);
      if (targets.length === 0) return ['target group: no targets registered'];
      return lines.length === 0
        ? [`target group: all ${targets.length} targets healthy`]
        : [
            'targets that are not healthy:',
            ...lines.map((l) => `  ${l}`),
            ...(await journalOf(
              io,
              targets.filter((t) => t.state !== 'healthy'),
            )),
          ];
    } catch (error) {
      if (error instanceof InterruptedError) throw error;
      // An explanation that cannot be had is said, not dropped: the failure it explains stands.
      return [`target health could not be read: ${error instanceof Error ? error.message : String(error)}`];
    }
  };

  return {
    name: 'aws',
    packerSource: 'amazon-ebs.app',
    images,

    async preflight(io) {
      await checkAccount(io);
      io.progress('checking the VPC and subnets');
      const candidates = await resolveNetwork(clients, env, io);
      io.progress(`checking base AMI ${env.baseAmi.name}`);
      const baseImage = await resolveBaseImage(clients, env, io);
      io.progress(`checking ${env.aws.instance_type} in ${candidates.subnets.length} subnets`);
      const network = await checkInstanceType(clients, env, candidates, io);
      await checkEgressRoutes(clients, env, network, io);
      io.note(
        `VPC ${network.vpcId}${network.isDefaultVpc ? ' (default)' : ''}, subnets ${network.subnets.map((s) => `${s.id}@${s.availabilityZone}`).join(', ')}`,
      );
      io.note(`base AMI ${baseImage.id} (${baseImage.name})`);
      await checkTools(io, ['terraform', 'packer'], processEnv);
      return { network, baseImage };
    },

    async preflightDestroy(io) {
      await checkAccount(io);
      // Terraform is only needed when there may be state to destroy.
      if (env.aws.state.backend === 's3' || (await localStateHasResources(layout.localState)))
        await checkTools(io, ['terraform'], processEnv);
    },

    baseImageIdentity: async (_io, facts) => facts.baseImage.id,

    bakeVariables: (facts) => ({
      aws_region: env.aws.region,
      instance_type: env.aws.instance_type,
      base_ami_owner: env.baseAmi.owner,
      base_ami_name: env.baseAmi.name,
      // The AMI the fingerprint covers, by id: a Debian AMI published between preflight
      // and the bake must not slip in under the name filter.
      base_ami_id: facts.baseImage.id,
      ...(env.aws.kms_key_id ? { kms_key_id: env.aws.kms_key_id } : {}),
    }),

    // The app layer starts from the base-layer AMI (owned by this account); the
    // template's user data unmasks sshd on that builder, and the play masks it again.
    onBaseLayer: (baseLayer) => ({ base_ami_id: baseLayer.id }),

    async bakeEnvironment(io) {
      // Packer 1.6.6 reads none of the AWS_ENDPOINT_URL* variables: without this, a run
      // pointed at another endpoint would bake against AWS itself. Not in the fingerprint:
      // where the API answers does not change what the image holds.
      const ec2 = configuredEndpoint(processEnv, 'ec2');
      return {
        // Packer reads list variables from the environment as HCL expressions.
        PKR_VAR_ssh_source_cidrs: JSON.stringify([await builderSourceCidr(processEnv, io.signal)]),
        ...(ec2 ? { PKR_VAR_aws_endpoint_ec2: ec2.url } : {}),
      };
    },

    async provision(io, image, facts, settings) {
      await stageModule(layout, backend);
      const wanted = await keepScaledCapacity(
        io,
        terraformInputs(
          env,
          networkInputs(facts),
          { id: image.id, rootDeviceName: await rootDeviceName(io, image.id) },
          settings,
        ),
      );
      const steps = applySteps(wanted, await readInputs(layout.varFile), env.service.release.length > 0);
      if (env.service.release.length > 0) io.info(`release order: ${steps.why}`);

      const refreshesBefore = await refreshIds(io);
      const applyStartedAt = new Date();
      const terraform = new Terraform(io, layout.workDir);
      await terraform.init(backend);
      const plan = await applyInputs(io, terraform, steps.first);
      const outputs = await terraform.outputs();
      if (!outputs)
        throw new DeployError('terraform output lacks url, asg_name or target_group_arn', [
          `check ${layout.moduleDir}/outputs.tf`,
        ]);
      return {
        url: outputs.url,
        outputs,
        refreshesBefore,
        applyStartedAt,
        createdGroup: plan.actions.includes('create aws_autoscaling_group.this'),
        imageId: image.id,
        desired: wanted.instances.desired,
        ...(steps.then ? { heldInputs: steps.then } : {}),
      };
    },

    async plan(io, image, facts, settings) {
      await stageModule(layout, backend, layout.dryRunWorkDir);
      const previous = await readInputs(layout.varFile);
      // Before a bake there is no new image yet: plan with the deployed one (or the base
      // AMI), so the plan shows everything but the image change.
      const standIn = image?.id ?? previous?.image.id ?? facts.baseImage.id ?? PLACEHOLDER_AMI;
      const wanted = await keepScaledCapacity(
        io,
        terraformInputs(
          env,
          networkInputs(facts),
          { id: standIn, rootDeviceName: previous?.image.root_device_name ?? '/dev/xvda' },
          settings,
        ),
        { resume: false },
      );
      // Before a bake the image will change: decided as for a new image, planned with the stand-in.
      const steps = applySteps(
        image ? wanted : { ...wanted, image: { ...wanted.image, id: 'the image the bake will make' } },
        previous,
        env.service.release.length > 0,
      );
      await writeInputs(layout.dryRunVarFile, steps.then ? steps.first : wanted);
      const terraform = new Terraform(io, layout.dryRunWorkDir);
      await terraform.init(backend);
      const summary = await terraform.plan(layout.dryRunVarFile, layout.dryRunPlanFile, { lock: false });
      await rm(layout.dryRunPlanFile, { force: true });
      const note = image ? '' : ` (planned with ${standIn} for the image the bake will make)`;
      if (steps.then)
        return {
          provision: `terraform plan (launch template held on ${steps.first.image.id} and its settings until the release ran): ${formatPlan(summary)}`,
          rollout: `after the release, a second apply sets the launch template to ${image ? steps.then.image.id : 'the new image'} and the settings; an instance refresh replaces the instances (launch before terminate)`,
        };
      const refreshes =
        summary.actions.some((action) => /^(update|replace) aws_launch_template\.this$/.test(action)) || !image;
      const first =
        env.service.release.length > 0 && !previous ? ' (first deploy: one apply, the release runs after it)' : '';
      return {
        provision: `terraform plan: ${formatPlan(summary)}${note}${first}`,
        rollout: summary.actions.includes('create aws_autoscaling_group.this')
          ? 'no refresh: a new Auto Scaling group starts its first instances on the image'
          : refreshes
            ? 'an instance refresh replaces the instances (launch before terminate)'
            : 'no instance refresh: the launch template does not change',
      };
    },

    async rollout(io, stack, image, strategy) {
      if (strategy === 'recreate')
        io.warn(
          'the aws target always rolls with an instance refresh (launch before terminate); --strategy recreate does not apply',
        );
      const { outputs } = stack;
      let { refreshesBefore, applyStartedAt } = stack;
      if (stack.heldInputs) {
        // The release ran on the converged stack: now the launch template takes the new
        // image and settings, which starts the refresh watched below.
        io.info(`applying the launch template change held back for the release: ${stack.imageId}`);
        await stageModule(layout, backend);
        refreshesBefore = await refreshIds(io);
        applyStartedAt = new Date();
        const terraform = new Terraform(io, layout.workDir);
        await terraform.init(backend);
        await applyInputs(io, terraform, stack.heldInputs);
      }
      const watched = refreshToWatch(
        await listRefreshes(clients, outputs.asgName, io),
        refreshesBefore,
        applyStartedAt,
      );
      let refreshId = watched?.InstanceRefreshId;
      if (!refreshId && !stack.createdGroup) {
        // No change planned, yet instances of an older launch template may remain (a refresh
        // cancelled by someone else, or one that ended RollbackFailed): finish the job.
        const fleet = await describeFleet(clients, outputs.asgName, io);
        const outdated = fleet ? outdatedInstances(fleet, image.id) : [];
        if (outdated.length > 0) {
          io.info(`${outdated.length} instance(s) of ${outputs.asgName} do not run ${image.id}:`, outdated);
          refreshId = await startRefresh(clients, env, outputs.asgName, outputs.alarmNames, io);
          io.info(`started instance refresh ${refreshId} to replace them`);
        }
      }
      if (!refreshId) {
        return {
          skipped: stack.createdGroup
            ? `new Auto Scaling group ${outputs.asgName}: its first instances start on ${image.id}`
            : `no instance refresh needed: ${outputs.asgName} already runs ${image.id}`,
        };
      }
      stack.refreshId = refreshId;
      const deadline = refreshDeadline(env, releaseSafetyInputs(env.rollout, env.instances.desired).canary_percent > 0);
      io.info(`waiting for instance refresh ${refreshId} of ${outputs.asgName} (deadline ${deadline.explanation})`);
      const done = await withScalingHeld(io, clients, outputs.asgName, env.instances.scale !== undefined, () =>
        waitForRefresh(io, {
          clients,
          asgName: outputs.asgName,
          refreshId,
          pollMs,
          deadlineMs: deadline.seconds * 1000,
          explain: () => targetReport(outputs, io),
          alarmNames: outputs.alarmNames,
        }),
      );
      io.info(`instance refresh ${done.InstanceRefreshId} succeeded`);
      return { started: [refreshId], kept: [], retired: [] };
    },

    async waitForBackends(io, stack, deadline) {
      await waitForHealthyTargets(io, {
        clients,
        targetGroupArn: stack.outputs.targetGroupArn,
        want: stack.desired ?? env.instances.desired,
        pollMs,
        deadlineMs: Math.max(0, deadline - Date.now()),
        explain: (unhealthy) => journalOf(io, unhealthy),
      });
      // Healthy targets are not enough: each InService instance must run the release.
      const refresh = stack.refreshId
        ? await describeRefresh(clients, stack.outputs.asgName, stack.refreshId, io)
        : undefined;
      checkFleet(await describeFleet(clients, stack.outputs.asgName, io), stack.imageId, refresh);
    },

    explainUnhealthy: (io, stack) => targetReport(stack.outputs, io),

    healthDispatcher: (stack) =>
      emulatorAlb
        ? loopbackDispatcher(emulatorAlb)
        : stack.url.startsWith('https:')
          ? certificateDispatcher()
          : undefined,

    // On a one-off instance from the new AMI and the fleet's launch template (security
    // group, instance profile, Terraform's own settings), with `settings` in place of the
    // template's: during a release provision held the template on the settings in service
    // (apply-steps.ts). No TTY: the output comes back through the console.
    async runOneOff(io, image, settings, command) {
      if (command.attach.kind === 'terminal' && command.attach.tty)
        io.warn('the aws target has no terminal for one-off commands: the output is shown as the instance prints it');
      const fleet = await fleetLaunchSpec(io, clients, stackName(env));
      const outcome = await runOneOffInstance(io, clients, {
        app: env.app,
        environment: env.name,
        purpose: command.purpose,
        imageId: image.id,
        ...fleet,
        argv: command.argv,
        settings: {
          variables: { ...settings.variables },
          secretReferences: { ...settings.secretReferences },
          region: env.aws.region,
        },
        ...(command.timeoutMs !== undefined ? { timeoutMs: command.timeoutMs } : {}),
        pollMs: Math.min(pollMs, 5_000),
        onLine:
          command.attach.kind === 'stream'
            ? (line) => {
                io.progress(line);
                io.note(line);
              }
            : (line) => process.stdout.write(`${line}\n`),
      });
      return {
        exitCode: outcome.exitCode,
        lastLines: outcome.lines.slice(-20),
        timedOut: outcome.timedOut,
        where: `one-off instance ${outcome.instanceId}`,
      };
    },

    // A re-run of the same deploy runs no release: the last apply had this image and these
    // settings, every instance is in service on the launch template version it made, and a
    // deploy of this image finished (a first deploy's new group runs the image before its
    // release did). Asked after provision, which held back a launch template change when
    // there is a release (apply-steps.ts): so a new image or new settings answer false here.
    servesAlready: async (io, image) =>
      (await readDeploymentRecord(context.stateDir))?.image === image.id &&
      fleetServes(io, clients, stackName(env), await readInputs(layout.varFile), {
        imageId: image.id,
        env: { ...env.service.env },
        secrets: { ...env.service.secrets },
        // With scaling the group may run as few as min.
        desired: env.instances.scale ? env.instances.min : env.instances.desired,
      }),

    status: (io, record) => awsStatus(io, clients, env, record),
    logs: (io, query, write) => awsLogs(io, clients, env, query, write),

    // RDS deletes a database only with deletion protection off and takes the final snapshot
    // as it does: so the "backup" here is turning the protection off (an apply of the last
    // inputs with only that changed), and naming the snapshot teardown's destroy will take.
    // A snapshot of that name left by an earlier destroy makes the delete fail, keeping
    // the database: the error names it.
    async backupDatabase(io) {
      const inputs = await readInputs(layout.varFile);
      if (!inputs?.database) return undefined;
      if (backend.type === 'local' && !(await localStateHasResources(layout.localState))) return undefined;
      const snapshot = finalSnapshotName(env.app, env.name);
      if (inputs.database.deletion_protection) {
        await stageModule(layout, backend);
        await writeInputs(layout.varFile, { ...inputs, database: unprotected(inputs.database) });
        const terraform = new Terraform(io, layout.workDir);
        await terraform.init(backend);
        io.progress("turning off the database's deletion protection");
        const plan = await terraform.plan(layout.varFile, layout.planFile);
        if (plan.changes) await terraform.apply(layout.planFile);
        await rm(layout.planFile, { force: true });
      }
      return `RDS snapshot ${snapshot}, taken when destroy deletes the database (restore: aws rds restore-db-instance-from-db-snapshot --db-snapshot-identifier ${snapshot} …)`;
    },

    async teardown(io) {
      if (backend.type === 'local' && !(await localStateHasResources(layout.localState))) {
        io.info(`no Terraform resources in ${relative(context.root, layout.localState)}: nothing to destroy`);
        return { removed: [] };
      }
      await stageModule(layout, backend);
      // Destroy with the inputs of the last apply (what the state was made from); without
      // them (the first apply never finished) the configuration and a placeholder image do.
      if (!(await readInputs(layout.varFile)))
        await writeInputs(
          layout.varFile,
          terraformInputs(env, networkInputs(undefined), { id: PLACEHOLDER_AMI }, NO_SETTINGS),
        );
      const terraform = new Terraform(io, layout.workDir);
      await terraform.init(backend);
      const addresses = await terraform.stateList();
      if (addresses.length === 0) {
        io.info('the Terraform state has no resources: nothing to destroy');
        return { removed: [] };
      }
      if (addresses.includes('aws_lb.this')) await unprotectLoadBalancer(io, clients, stackName(env));
      await terraform.destroy(layout.varFile);
      await rm(layout.planFile, { force: true });
      return { removed: addresses.map((address) => `terraform ${address}`) };
    },
  };
}

/**
 * TLS settings for an HTTPS health URL: the load balancer's DNS name is not on the
 * certificate (that names the service's domain), so the chain is verified as usual but
 * the host name check is left to the user's DNS record.
 */
function certificateDispatcher(): Dispatcher {
  return new Agent({ connect: { rejectUnauthorized: true, checkServerIdentity: () => undefined } });
}
