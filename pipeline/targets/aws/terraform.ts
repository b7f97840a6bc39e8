// Running Terraform for one environment. The stack in terraform/ is staged into
// .deploy/ENV/terraform/ together with a generated backend.tf, so .terraform/, the plan
// file and the backend choice live with the environment and the repository stays clean:
//
//   .deploy/ENV/terraform.tfvars.json   inputs of the last apply (no secrets), reused by destroy
//   .deploy/ENV/terraform.tfstate       state, when aws.state.backend is local (the default)
//   .deploy/ENV/terraform/              working directory: *.tf copies, backend.tf, .terraform/, tfplan
//   .deploy/ENV/terraform-dry-run/      the same for --dry-run, which takes no lock and so must
//                                       never re-stage the directory a locked deploy applies from
//
// The argv of every call is built in terraform-commands.ts; the Terraform class below
// runs them in the staged directory. Every call runs non-interactively (TF_IN_AUTOMATION,
// -input=false), waits for a held state lock instead of failing at once (-lock-timeout),
// and applies exactly the plan it showed (plan -out, then apply of that file). Plans are
// read as data (terraform show -json of the plan file), never from the human text.

import { copyFile, mkdir, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { RuntimeSettings } from '../../config/runtime-settings.ts';
import { awsStackName, type AwsEnvironment, type RolloutSettings } from '../../config/schema.ts';
import type { StageIO } from '../../context.ts';
import { DeployError, PreflightError } from '../../errors.ts';
import type { Command } from '../../process/command.ts';
import type { ToolResult, ToolRun } from '../../process/runner.ts';
import { stateFileError, writeStateFile } from '../../state/files.ts';
import { databaseInputs, type DatabaseInputs } from './database-inputs.ts';
import { stateObject } from './state-objects.ts';
import {
  terraformApply,
  terraformDestroy,
  terraformInit,
  terraformOutput,
  terraformPlan,
  terraformShowPlan,
  terraformStateList,
} from './terraform-commands.ts';
import { checkpointSeconds } from './canary.ts';
import { scalingInputs, type ScalingInputs } from './scaling.ts';

/** Stands in for the image when there is none yet (dry run before the first bake, destroy without inputs). */
export const PLACEHOLDER_AMI = 'ami-00000000000000000';

export interface TerraformLayout {
  /** bakery's terraform/ (the stack every environment stages). */
  moduleDir: string;
  /** .deploy/ENV/terraform/: the staged working directory of real runs. */
  workDir: string;
  /** Inputs of the last real plan/apply. */
  varFile: string;
  planFile: string;
  /** .deploy/ENV/terraform-dry-run/: the working directory of --dry-run plans. */
  dryRunWorkDir: string;
  /** Inputs of a --dry-run plan (never read by destroy). */
  dryRunVarFile: string;
  dryRunPlanFile: string;
  /** State file of the local backend. */
  localState: string;
}

export function terraformLayout(moduleDir: string, stateDir: string): TerraformLayout {
  const workDir = join(stateDir, 'terraform');
  const dryRunWorkDir = join(stateDir, 'terraform-dry-run');
  return {
    moduleDir,
    workDir,
    varFile: join(stateDir, 'terraform.tfvars.json'),
    planFile: join(workDir, 'tfplan'),
    dryRunWorkDir,
    dryRunVarFile: join(stateDir, 'terraform.dry-run.tfvars.json'),
    dryRunPlanFile: join(dryRunWorkDir, 'tfplan'),
    localState: join(stateDir, 'terraform.tfstate'),
  };
}

/** The stack's name, which is also its load balancer's (deploy.yaml validation keeps it within the ALB's limit). */
export function stackName(env: AwsEnvironment): string {
  return awsStackName(env.app, env.name);
}

export interface TerraformInputs {
  name: string;
  app: string;
  environment: string;
  region: string;
  vpc_id: string | null;
  subnet_ids: string[];
  image: { id: string; root_device_name: string };
  instance_type: string;
  instances: { min: number; desired: number; max: number };
  service: { port: number; health_path: string };
  /** Written into the instances' user data: a change is a new launch template version. */
  service_env: Record<string, string>;
  /** Variable name → SSM parameter name; the values are read by the instances at boot, never by bakery. */
  service_ssm_parameters: Record<string, string>;
  health: { interval_s: number; healthy_threshold: number; unhealthy_threshold: number; timeout_s: number };
  certificate_arn: string | null;
  release_safety: ReleaseSafetyInputs;
  /** The environment's RDS database (database-inputs.ts); null for none. */
  database: DatabaseInputs | null;
  /** The environment's CloudWatch log group (terraform/logs.tf). */
  logs: { retention_days: number };
  /** The target-tracking policy (terraform/scaling.tf); null for none. */
  scaling: ScalingInputs | null;
  root_volume_size_gb: number;
  idle_timeout_s: number;
  deregistration_delay_s: number;
  instance_warmup_s: number;
  /** The load balancer's; destroy applies it false first. */
  deletion_protection: boolean;
  tags: Record<string, string>;
  /** Outbound rules of the instances chosen in deploy.yaml (terraform/egress.tf). */
  egress: Array<{ cidr: string | null; prefix_list: string | null; port: number }>;
}

/** var.release_safety: the instance refresh's canary checkpoint and the alarms that can roll it back. */
export interface ReleaseSafetyInputs {
  /** The canary's share of desired capacity; 0 means no checkpoint. */
  canary_percent: number;
  bake_s: number;
  max_error_rate: number;
  /** Requests (per minute) below which the 5xx rate is not judged. */
  min_requests: number;
  max_p99_ms: number | null;
  alarm_email: string | null;
}

export interface ResolvedNetwork {
  vpcId: string | null;
  subnetIds: string[];
}

/**
 * The inputs of one apply. `settings` are the run's runtime settings (deploy resolved
 * them): the variables as values, the secrets as the SSM names the instances read at boot.
 */
export function terraformInputs(
  env: AwsEnvironment,
  network: ResolvedNetwork,
  image: { id: string; rootDeviceName?: string },
  settings: Pick<RuntimeSettings, 'variables' | 'secretReferences'>,
): TerraformInputs {
  const { health } = env;
  return {
    name: stackName(env),
    app: env.app,
    environment: env.name,
    region: env.aws.region,
    vpc_id: network.vpcId,
    subnet_ids: network.subnetIds,
    image: { id: image.id, root_device_name: image.rootDeviceName ?? '/dev/xvda' },
    instance_type: env.aws.instance_type,
    instances: { min: env.instances.min, desired: env.instances.desired, max: env.instances.max },
    service: { port: env.service.port, health_path: env.service.health_path },
    service_env: { ...settings.variables },
    service_ssm_parameters: { ...settings.secretReferences },
    health: {
      interval_s: health.interval_s,
      healthy_threshold: health.healthy_threshold,
      unhealthy_threshold: health.unhealthy_threshold,
      timeout_s: health.timeout_s,
    },
    certificate_arn: env.aws.certificate_arn ?? null,
    release_safety: releaseSafetyInputs(env.rollout, env.instances.desired),
    database: databaseInputs(env.database),
    logs: { retention_days: env.aws.logs.retention_days },
    scaling: scalingInputs(env.instances),
    root_volume_size_gb: env.aws.root_volume_size_gb,
    idle_timeout_s: env.aws.idle_timeout_s,
    deregistration_delay_s: env.aws.deregistration_delay_s,
    instance_warmup_s: env.aws.instance_warmup_s,
    deletion_protection: env.aws.deletion_protection,
    tags: { ...env.aws.tags },
    egress: (env.aws.egress ?? []).map((rule) => ({
      cidr: rule.cidr ?? null,
      prefix_list: rule.prefix_list ?? null,
      port: rule.port,
    })),
  };
}

/**
 * The rollout settings as the instance refresh takes them: Auto Scaling checkpoints are a
 * percentage of the group, so the canary's instances become their share of desired
 * capacity, at least 1 % (one instance is never 0 %) and at most 99 % (100 is the last
 * checkpoint, which Terraform always adds).
 */
export function releaseSafetyInputs(rollout: RolloutSettings, desired: number): ReleaseSafetyInputs {
  const { instances, bake_s } = rollout.canary;
  const canaryPercent =
    instances > 0 && desired > 0 ? Math.min(99, Math.max(1, Math.round((instances / desired) * 100))) : 0;
  return {
    canary_percent: canaryPercent,
    // At least three alarm periods: a shorter checkpoint ends before an alarm can judge.
    bake_s: canaryPercent > 0 ? checkpointSeconds(bake_s) : 0,
    max_error_rate: rollout.max_error_rate,
    min_requests: rollout.min_requests,
    max_p99_ms: rollout.max_p99_ms ?? null,
    alarm_email: rollout.alarm_email ?? null,
  };
}

export interface BackendConfig {
  type: 'local' | 's3';
  /** -backend-config key=value pairs. */
  settings: Record<string, string>;
}

export function backendConfig(env: AwsEnvironment, layout: TerraformLayout): BackendConfig {
  const state = stateObject(env);
  if (!state) return { type: 'local', settings: { path: layout.localState } };
  return {
    type: 's3',
    settings: {
      ...state,
      // S3-native locking (a .tflock object next to the state): no DynamoDB table.
      use_lockfile: 'true',
      encrypt: 'true',
    },
  };
}

/** Copies the stack into a working directory (the real one unless named) and writes its backend.tf. */
export async function stageModule(
  layout: TerraformLayout,
  backend: BackendConfig,
  workDir = layout.workDir,
): Promise<void> {
  let sources: string[];
  try {
    sources = (await readdir(layout.moduleDir)).filter((name) => name.endsWith('.tf'));
  } catch {
    sources = [];
  }
  if (sources.length === 0)
    throw new PreflightError(
      `${layout.moduleDir} has no Terraform files: this bakery installation is incomplete (check it out or install it again).`,
    );
  // A full disk or a read-only .deploy/ is a StateFileError naming the directory, not a raw ENOSPC.
  try {
    await mkdir(workDir, { recursive: true });
    // Files removed from terraform/ must not linger in the copy.
    for (const name of await readdir(workDir)) if (name.endsWith('.tf')) await rm(join(workDir, name));
    for (const name of sources) await copyFile(join(layout.moduleDir, name), join(workDir, name));
    await writeFile(
      join(workDir, 'backend.tf'),
      `# Generated by bakery for this environment (${backend.type} state); settings come from -backend-config.\nterraform {\n  backend "${backend.type}" {}\n}\n`,
    );
    // The provider lock file pins provider checksums; use the project's when it has one.
    const lockFile = join(layout.moduleDir, '.terraform.lock.hcl');
    if (await exists(lockFile)) await copyFile(lockFile, join(workDir, '.terraform.lock.hcl'));
  } catch (error) {
    throw stateFileError(error, workDir, "Terraform's working copy of the stack");
  }
}

export function writeInputs(file: string, inputs: TerraformInputs): Promise<void> {
  return writeStateFile(file, `${JSON.stringify(inputs, null, 2)}\n`, 'the Terraform inputs');
}

// Read strictly (a corrupt file is an error, not a missing one): see state-files.ts.
export { localStateHasResources, readInputs } from './state-files.ts';

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

export interface PlanSummary {
  changes: boolean;
  add: number;
  change: number;
  destroy: number;
  /** "create aws_lb.this", "update aws_autoscaling_group.this", … */
  actions: string[];
}

/** The part of `terraform show -json PLANFILE` the runner reads. */
interface PlanJson {
  resource_changes?: Array<{ address?: string; mode?: string; change?: { actions?: string[] } }>;
}

/** Terraform's action lists as one word each: ["delete","create"] and ["create","delete"] are a replace. */
function actionWord(actions: readonly string[]): 'create' | 'update' | 'replace' | 'destroy' | undefined {
  if (actions.includes('delete') && actions.includes('create')) return 'replace';
  if (actions.includes('create')) return 'create';
  if (actions.includes('update')) return 'update';
  if (actions.includes('delete')) return 'destroy';
  return undefined; // no-op, read
}

/** Reads the plan from `terraform show -json`; counts as Terraform's own summary line does (a replace adds and destroys). */
export function parsePlanJson(text: string): PlanSummary {
  let plan: PlanJson;
  try {
    plan = JSON.parse(text) as PlanJson;
  } catch (error) {
    throw new DeployError(`terraform show -json printed something that is not JSON: ${(error as Error).message}`);
  }
  const actions: string[] = [];
  let add = 0;
  let change = 0;
  let destroy = 0;
  for (const resource of plan.resource_changes ?? []) {
    if (resource.mode !== 'managed' || !resource.address) continue;
    const word = actionWord(resource.change?.actions ?? []);
    if (!word) continue;
    actions.push(`${word} ${resource.address}`);
    if (word === 'create' || word === 'replace') add += 1;
    if (word === 'update') change += 1;
    if (word === 'destroy' || word === 'replace') destroy += 1;
  }
  return { changes: actions.length > 0, add, change, destroy, actions };
}

export function formatPlan(summary: PlanSummary): string {
  if (!summary.changes) return 'no infrastructure changes';
  const list =
    summary.actions.length > 6
      ? [...summary.actions.slice(0, 6), `… ${summary.actions.length - 6} more`]
      : summary.actions;
  return `${summary.add} to add, ${summary.change} to change, ${summary.destroy} to destroy${list.length > 0 ? ` (${list.join(', ')})` : ''}`;
}

/** Resource progress and the final summary lines; the rest stays in the log. */
export function terraformProgress(line: string): string | undefined {
  const text = line.trim();
  if (
    /^\S+: (Creating|Modifying|Destroying|Refreshing state|Still \w+|Creation complete|Modifications complete|Destruction complete)/.test(
      text,
    )
  )
    return text;
  if (/^(Plan:|No changes\.|Apply complete!|Destroy complete!)/.test(text)) return text;
  return undefined;
}

/** Terraform's error boxes ("│ Error: …" and their detail lines), at most 20 lines. */
export function terraformErrorLines(lines: readonly string[]): string[] {
  const picked: string[] = [];
  let inError = false;
  for (const raw of lines) {
    const line = raw.replace(/^[│|]\s?/, '').trimEnd();
    if (/^\s*(Error|Warning):/.test(line)) {
      inError = /Error:/.test(line);
      if (inError) picked.push(line.trim());
      continue;
    }
    if (/^[╵╷]/.test(raw.trim())) {
      inError = false;
      continue;
    }
    if (inError && line.trim() !== '') picked.push(`  ${line.trim()}`);
  }
  return (picked.length > 0 ? picked : lines.filter((l) => /error/i.test(l))).slice(0, 20);
}

export interface StackOutputs {
  url: string;
  albDnsName: string;
  asgName: string;
  targetGroupArn: string;
  launchTemplateVersion?: number;
  /** The alarms the instance refresh watches (none from a stack applied before they existed). */
  alarmNames: string[];
}

export function parseOutputs(json: string): StackOutputs | undefined {
  let parsed: Record<string, { value?: unknown }>;
  try {
    parsed = JSON.parse(json) as Record<string, { value?: unknown }>;
  } catch {
    throw new DeployError('terraform output -json did not print JSON', [json.slice(0, 200)]);
  }
  const text = (name: string): string | undefined => {
    const value = parsed[name]?.value;
    return typeof value === 'string' && value !== '' ? value : undefined;
  };
  const url = text('url');
  const asgName = text('asg_name');
  const targetGroupArn = text('target_group_arn');
  if (!url || !asgName || !targetGroupArn) return undefined;
  const version = parsed.launch_template_version?.value;
  const alarms = parsed.alarm_names?.value;
  return {
    url,
    albDnsName: text('alb_dns_name') ?? new URL(url).host,
    asgName,
    targetGroupArn,
    ...(typeof version === 'number' ? { launchTemplateVersion: version } : {}),
    alarmNames: Array.isArray(alarms) ? alarms.filter((name): name is string => typeof name === 'string') : [],
  };
}

/**
 * How a terraform command runs in a staged working directory (the same as -chdir, but
 * the command lines in progress and logs stay short): without prompts or update checks,
 * its progress and error boxes picked out of the output.
 */
export function inWorkDir(workDir: string, command: Command): ToolRun {
  return {
    ...command,
    cwd: workDir,
    env: { TF_IN_AUTOMATION: '1', TF_INPUT: '0', CHECKPOINT_DISABLE: '1' },
    progress: terraformProgress,
    errorLines: terraformErrorLines,
  };
}

/** Terraform in one staged working directory, bound to a stage: runs what terraform-commands.ts builds. */
export class Terraform {
  constructor(
    private readonly io: StageIO,
    private readonly workDir: string,
  ) {}

  private run(command: Command, options: { quiet?: boolean } = {}): Promise<ToolResult> {
    return this.io.run({ ...inWorkDir(this.workDir, command), ...(options.quiet ? { quiet: true } : {}) });
  }

  async init(backend: BackendConfig): Promise<void> {
    this.io.progress(`terraform init (${backend.type} state)`);
    this.io.note(`terraform runs in ${this.workDir}`);
    await this.run(terraformInit(backend.settings));
  }

  /**
   * Plans into `planFile` and reads it back as data. `lock: false` is for --dry-run: it
   * only reads the state, and must not wait behind (or block) a deploy that holds it.
   */
  async plan(varFile: string, planFile: string, options: { lock: boolean } = { lock: true }): Promise<PlanSummary> {
    this.io.progress('terraform plan');
    await this.run(terraformPlan({ varFile, planFile, lock: options.lock }));
    const shown = await this.run(terraformShowPlan(planFile), { quiet: true });
    return parsePlanJson(shown.stdout);
  }

  async apply(planFile: string): Promise<void> {
    this.io.progress('terraform apply');
    await this.run(terraformApply(planFile));
  }

  async outputs(): Promise<StackOutputs | undefined> {
    const result = await this.run(terraformOutput(), { quiet: true });
    return parseOutputs(result.stdout.trim() === '' ? '{}' : result.stdout);
  }

  /** Managed resource addresses in the state (data sources left out). */
  async stateList(): Promise<string[]> {
    const result = await this.run(terraformStateList(), { quiet: true });
    return result.stdout
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line !== '' && !line.startsWith('data.') && !line.includes('.data.'));
  }

  async destroy(varFile: string): Promise<void> {
    this.io.progress('terraform destroy');
    await this.run(terraformDestroy(varFile));
  }
}
