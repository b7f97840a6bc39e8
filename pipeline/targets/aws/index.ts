// The aws target: AMIs baked by Packer (amazon-ebs), an Auto Scaling group behind an
// Application Load Balancer managed by Terraform (terraform/), rolled out by instance
// refresh and verified through the load balancer.
//
//   preflight  credentials, region, VPC and subnets (two zones), base AMI, instance type, tools
//   provision  terraform init → plan -out → apply of that plan (which starts a refresh
//              when the launch template's image changed), then terraform output
//   rollout    poll the refresh until Successful; failed or rolled back → exit 1
//   verify     target health ≥ desired, then the URL's health path 200 N times in a row
//   teardown   terraform destroy (nothing to do without state)

import { rm } from 'node:fs/promises';
import { relative } from 'node:path';
import type { InstanceRefresh } from '@aws-sdk/client-auto-scaling';
import { Agent, type Dispatcher } from 'undici';
import type { AwsEnvironment } from '../../config/schema.ts';
import type { RolloutStrategy, RunContext, StageIO } from '../../context.ts';
import { DeployError } from '../../errors.ts';
import { waitForHttpHealthy } from '../../stages/http-health.ts';
import type { DeployTarget, ImageRef, TeardownReport } from '../target.ts';
import { builderSourceCidr } from './builder-ip.ts';
import { activeEndpoints, createAwsClients, type AwsClients } from './clients.ts';
import { AmiStore } from './images.ts';
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
import { listRefreshes, refreshToWatch, waitForRefresh } from './refresh.ts';
import { describeTargets, unhealthyLines, waitForHealthyTargets } from './target-health.ts';
import {
  PLACEHOLDER_AMI,
  Terraform,
  backendConfig,
  formatPlan,
  localStateHasResources,
  readInputs,
  stackName,
  stageModule,
  terraformInputs,
  terraformLayout,
  writeInputs,
  type PlanSummary,
  type ResolvedNetwork,
  type StackOutputs,
  type TerraformLayout,
} from './terraform.ts';

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

export class AwsTarget implements DeployTarget {
  readonly name = 'aws' as const;
  readonly packerSource = 'amazon-ebs.app';
  readonly images: AmiStore;

  private readonly clients: AwsClients;
  private readonly processEnv: NodeJS.ProcessEnv;
  private readonly layout: TerraformLayout;
  private readonly pollMs: number;

  private network: NetworkPlan | undefined;
  private baseImage: BaseImage | undefined;
  private outputs: StackOutputs | undefined;
  private lastPlan: PlanSummary | undefined;
  /** Refresh ids that existed before this run's apply. */
  private refreshesBefore: Set<string> | undefined;
  private watched: InstanceRefresh | undefined;

  constructor(
    private readonly context: RunContext,
    private readonly env: AwsEnvironment,
    options: AwsTargetOptions = {},
  ) {
    this.processEnv = options.env ?? process.env;
    this.clients = options.clients ?? createAwsClients(env.aws.region, this.processEnv);
    this.images = new AmiStore(this.clients, env);
    this.layout = terraformLayout(context.root, context.stateDir);
    this.pollMs = pollInterval(this.processEnv);
  }

  async preflight(io: StageIO, purpose: 'deploy' | 'destroy'): Promise<void> {
    const endpoints = activeEndpoints(this.processEnv);
    if (endpoints.length > 0) io.info('AWS endpoints from the environment', endpoints);

    io.progress('checking AWS credentials');
    const identity = await checkCredentials(this.clients, io.signal);
    io.note(`AWS account ${identity.account} as ${identity.arn}`);
    io.progress(`account ${identity.account}, checking region ${this.env.aws.region}`);
    await checkRegion(this.clients, this.env, io.signal);
    stackName(this.env);

    if (purpose === 'destroy') {
      // Terraform is only needed when there may be state to destroy.
      if (this.env.aws.state.backend === 's3' || (await localStateHasResources(this.layout.localState))) await checkTools(io, ['terraform'], this.processEnv);
      return;
    }

    io.progress('checking the VPC and subnets');
    const network = await resolveNetwork(this.clients, this.env, io.signal);
    io.progress(`checking base AMI ${this.env.baseAmi.name}`);
    this.baseImage = await resolveBaseImage(this.clients, this.env, io.signal);
    io.progress(`checking ${this.env.aws.instance_type} in ${network.subnets.length} subnets`);
    this.network = await checkInstanceType(this.clients, this.env, network, io);
    io.note(`VPC ${this.network.vpcId}${this.network.isDefaultVpc ? ' (default)' : ''}, subnets ${this.network.subnets.map((s) => `${s.id}@${s.availabilityZone}`).join(', ')}`);
    io.note(`base AMI ${this.baseImage.id} (${this.baseImage.name})`);
    await checkTools(io, ['terraform', 'packer'], this.processEnv);
  }

  async baseImageIdentity(io: StageIO): Promise<string> {
    this.baseImage ??= await resolveBaseImage(this.clients, this.env, io.signal);
    return this.baseImage.id;
  }

  bakeVariables(): Record<string, string> {
    return {
      aws_region: this.env.aws.region,
      instance_type: this.env.aws.instance_type,
      base_ami_owner: this.env.baseAmi.owner,
      base_ami_name: this.env.baseAmi.name,
    };
  }

  async bakeEnvironment(io: StageIO): Promise<Record<string, string>> {
    // Packer reads list variables from the environment as HCL expressions.
    return { PKR_VAR_ssh_source_cidrs: JSON.stringify([await builderSourceCidr(this.processEnv, io.signal)]) };
  }

  async provision(io: StageIO, image: ImageRef): Promise<void> {
    const backend = backendConfig(this.env, this.layout);
    await stageModule(this.layout, backend);
    await writeInputs(this.layout.varFile, terraformInputs(this.env, this.resolvedNetwork(), { id: image.id, rootDeviceName: await this.rootDeviceName(io, image.id) }));
    io.note(`inputs: ${relative(this.context.root, this.layout.varFile)}`);

    this.refreshesBefore = await this.refreshIds(io);
    const terraform = new Terraform(io, this.layout);
    await terraform.init(backend);
    this.lastPlan = await terraform.plan(this.layout.varFile, this.layout.planFile);
    if (this.lastPlan.changes) {
      io.info(`terraform: ${formatPlan(this.lastPlan)}`);
      await terraform.apply(this.layout.planFile);
    } else {
      io.progress('infrastructure up to date');
    }
    await rm(this.layout.planFile, { force: true });
    this.outputs = await terraform.outputs();
    if (!this.outputs) throw new DeployError('terraform output lacks url, asg_name or target_group_arn', [`check ${this.layout.moduleDir}/outputs.tf`]);
  }

  async rolloutSkipReason(io: StageIO, image: ImageRef): Promise<string | false> {
    const outputs = await this.stackOutputs(io);
    this.watched = refreshToWatch(await listRefreshes(this.clients, outputs.asgName, io.signal), this.refreshesBefore ?? new Set());
    if (this.watched) return false;
    const created = this.lastPlan?.actions.includes('create aws_autoscaling_group.this') ?? false;
    return created
      ? `new Auto Scaling group ${outputs.asgName}: its first instances start on ${image.id}`
      : `no instance refresh needed: ${outputs.asgName} already runs ${image.id}`;
  }

  async rollout(io: StageIO, _image: ImageRef, strategy: RolloutStrategy): Promise<void> {
    if (strategy === 'recreate') io.warn('the aws target always rolls with an instance refresh (launch before terminate); --strategy recreate does not apply');
    const outputs = await this.stackOutputs(io);
    this.watched ??= refreshToWatch(await listRefreshes(this.clients, outputs.asgName, io.signal), this.refreshesBefore ?? new Set());
    if (!this.watched?.InstanceRefreshId) return;
    io.info(`waiting for instance refresh ${this.watched.InstanceRefreshId} of ${outputs.asgName}`);
    const done = await waitForRefresh(io, {
      clients: this.clients,
      asgName: outputs.asgName,
      refreshId: this.watched.InstanceRefreshId,
      pollMs: this.pollMs,
      deadlineMs: this.env.health.deadline_s * 1000,
      explain: () => this.targetReport(outputs, io.signal),
    });
    io.info(`instance refresh ${done.InstanceRefreshId} succeeded`);
  }

  async verify(io: StageIO): Promise<string> {
    const outputs = await this.stackOutputs(io);
    const deadline = Date.now() + this.env.health.deadline_s * 1000;
    await waitForHealthyTargets(io, {
      clients: this.clients,
      targetGroupArn: outputs.targetGroupArn,
      want: this.env.instances.desired,
      pollMs: this.pollMs,
      deadlineMs: deadline - Date.now(),
    });

    const healthUrl = new URL(this.env.service.health_path, outputs.url).toString();
    const dispatcher = healthUrl.startsWith('https:') ? certificateDispatcher() : undefined;
    try {
      await waitForHttpHealthy({
        url: healthUrl,
        healthyThreshold: this.env.health.healthy_threshold,
        intervalMs: Math.min(this.env.health.interval_s * 1000, this.pollMs),
        timeoutMs: this.env.health.timeout_s * 1000,
        deadlineMs: Math.max(1000, deadline - Date.now()),
        signal: io.signal,
        ...(dispatcher ? { dispatcher } : {}),
        onAttempt: (attempt) => io.progress(`GET ${healthUrl} → ${attempt.result}${attempt.ok ? ` (${attempt.streak}/${this.env.health.healthy_threshold})` : ''}`),
        explainTimeout: () => this.targetReport(outputs, io.signal),
      });
    } finally {
      await dispatcher?.close();
    }
    return outputs.url;
  }

  async plan(io: StageIO, image: ImageRef | undefined): Promise<string> {
    const backend = backendConfig(this.env, this.layout);
    await stageModule(this.layout, backend);
    const previous = await readInputs(this.layout.varFile);
    // Before a bake there is no new image yet: plan with the deployed one (or the base
    // AMI), so the plan shows everything but the image change.
    const standIn = image?.id ?? previous?.image.id ?? this.baseImage?.id ?? PLACEHOLDER_AMI;
    await writeInputs(this.layout.dryRunVarFile, terraformInputs(this.env, this.resolvedNetwork(), { id: standIn, rootDeviceName: previous?.image.root_device_name ?? '/dev/xvda' }));
    const terraform = new Terraform(io, this.layout);
    await terraform.init(backend);
    const summary = await terraform.plan(this.layout.dryRunVarFile);
    const note = image ? '' : ` (planned with ${standIn} for the image the bake will make)`;
    return `terraform plan: ${formatPlan(summary)}${note}`;
  }

  async teardown(io: StageIO): Promise<TeardownReport> {
    const backend = backendConfig(this.env, this.layout);
    if (backend.type === 'local' && !(await localStateHasResources(this.layout.localState))) {
      io.info(`no Terraform resources in ${relative(this.context.root, this.layout.localState)}: nothing to destroy`);
      return { removed: [] };
    }
    await stageModule(this.layout, backend);
    // Destroy with the inputs of the last apply (what the state was made from); without
    // them (the first apply never finished) the configuration and a placeholder image do.
    if (!(await readInputs(this.layout.varFile))) {
      await writeInputs(this.layout.varFile, terraformInputs(this.env, { vpcId: this.env.aws.vpc_id ?? null, subnetIds: this.env.aws.subnet_ids ?? [] }, { id: PLACEHOLDER_AMI }));
    }
    const terraform = new Terraform(io, this.layout);
    await terraform.init(backend);
    const addresses = await terraform.stateList();
    if (addresses.length === 0) {
      io.info('the Terraform state has no resources: nothing to destroy');
      return { removed: [] };
    }
    await terraform.destroy(this.layout.varFile);
    await rm(this.layout.planFile, { force: true });
    return { removed: addresses.map((address) => `terraform ${address}`) };
  }

  /** The network from preflight, as Terraform inputs. */
  private resolvedNetwork(): ResolvedNetwork {
    if (!this.network) return { vpcId: this.env.aws.vpc_id ?? null, subnetIds: this.env.aws.subnet_ids ?? [] };
    return { vpcId: this.network.vpcId, subnetIds: this.network.subnets.map((s) => s.id) };
  }

  private async rootDeviceName(io: StageIO, imageId: string): Promise<string | undefined> {
    const known = this.images.cached(imageId);
    if (known?.RootDeviceName) return known.RootDeviceName;
    await this.images.resolve(io, imageId).catch(() => undefined);
    return this.images.cached(imageId)?.RootDeviceName;
  }

  private async refreshIds(io: StageIO): Promise<Set<string>> {
    try {
      const refreshes = await listRefreshes(this.clients, stackName(this.env), io.signal);
      return new Set(refreshes.map((r) => r.InstanceRefreshId).filter((id): id is string => Boolean(id)));
    } catch (error) {
      io.note(`could not list instance refreshes before apply: ${error instanceof Error ? error.message : String(error)}`);
      return new Set();
    }
  }

  private async stackOutputs(io: StageIO): Promise<StackOutputs> {
    if (this.outputs) return this.outputs;
    await stageModule(this.layout, backendConfig(this.env, this.layout));
    const terraform = new Terraform(io, this.layout);
    await terraform.init(backendConfig(this.env, this.layout));
    this.outputs = await terraform.outputs();
    if (!this.outputs) throw new DeployError(`no deployment of ${this.env.app}/${this.env.name} found in the Terraform state: run ./deploy.ts ${this.env.name}`);
    return this.outputs;
  }

  /** Target health lines for an error: what each target that is not healthy says. */
  private async targetReport(outputs: StackOutputs, signal: AbortSignal): Promise<string[]> {
    try {
      const targets = await describeTargets(this.clients, outputs.targetGroupArn, signal);
      const lines = unhealthyLines(targets);
      if (targets.length === 0) return ['target group: no targets registered'];
      return lines.length === 0 ? [`target group: all ${targets.length} targets healthy`] : ['targets that are not healthy:', ...lines.map((l) => `  ${l}`)];
    } catch {
      return [];
    }
  }
}

/**
 * TLS settings for an HTTPS health URL: the load balancer's DNS name is not on the
 * certificate (that names the service's domain), so the chain is verified as usual but
 * the host name check is left to the user's DNS record.
 */
function certificateDispatcher(): Dispatcher {
  return new Agent({ connect: { rejectUnauthorized: true, checkServerIdentity: () => undefined } });
}

export function createAwsTarget(context: RunContext, env: AwsEnvironment, options: AwsTargetOptions = {}): DeployTarget {
  return new AwsTarget(context, env, options);
}
