// The bake: work out the fingerprint, reuse an image that has it, or run Packer.

import { existsSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { RunContext, StageIO } from '../context.ts';
import { ConfigError, ToolError } from '../errors.ts';
import { resolveAppSource, type ResolvedSource } from '../source/resolve.ts';
import type { AnyTarget, DeployTarget, ImageRef, Provisioned } from '../targets/target.ts';
import { computeBaseLayerFingerprint, computeFingerprint, shortFingerprint } from './fingerprint.ts';
import { BAKERY_ROOT } from '../install.ts';
import { artifactIds, packerBuild, packerErrorLines, packerProgress } from './packer.ts';
import { BakeClock, describeBakeTiming } from './bake-clock.ts';
import { archivePathOf, makeScratch, packTreeCommand, stageSource, type Scratch } from './scratch.ts';
import { buildWheelhouse } from './wheelhouse.ts';

/** all: one bake on the base image; base: the OS layer; app: the app on a base layer. */
export type BakeLayer = 'all' | 'base' | 'app';

export interface BakePlan {
  layer: BakeLayer;
  fingerprint: string;
  /** PKR_VAR_ names (without the prefix) and values. */
  variables: Record<string, string>;
  /** The app's source on this machine, staged into a clean directory only when baking (not for the base layer). */
  source?: ResolvedSource;
}

export async function readVersion(root: string): Promise<string> {
  const manifest = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as { version?: string };
  return manifest.version ?? '0.0.0';
}

/** The short git revision, "-dirty" when the baked directories have uncommitted changes. */
export async function gitRevision(io: StageIO, root: string): Promise<string> {
  try {
    const head = await io.run({ tool: 'git', args: ['rev-parse', '--short=12', 'HEAD'], cwd: root, quiet: true });
    const status = await io.run({
      tool: 'git',
      args: ['status', '--porcelain', '--', 'service', 'ansible', 'packer', 'launcher'],
      cwd: root,
      quiet: true,
    });
    return `${head.stdout.trim()}${status.stdout.trim() === '' ? '' : '-dirty'}`;
  } catch {
    return 'unknown';
  }
}

/** A git source's requirements file can only be checked once it is fetched. */
function checkRequirements(context: RunContext, source: ResolvedSource): void {
  const { requirements } = context.env.service;
  if (requirements === undefined) return;
  const file = join(source.directory, requirements);
  if (existsSync(file) && statSync(file).isFile()) return;
  throw new ConfigError(context.config.file, [
    {
      path: 'service.requirements',
      message: `${JSON.stringify(requirements)} is not a file in the source${source.revision ? ` at commit ${source.revision}` : ''}`,
    },
  ]);
}

/** Variables every layer is baked with: they end up in the image. */
async function commonVariables(context: RunContext, root: string): Promise<Record<string, string>> {
  const { env } = context;
  return {
    app_name: env.app,
    environment: env.name,
    version: await readVersion(root),
    service_port: String(env.service.port),
    // The base layer installs what these need (Uvicorn, python3-venv, service.packages).
    app_interface: env.service.interface,
    app_requirements: env.service.requirements ?? '',
    app_packages: JSON.stringify(env.service.packages),
  };
}

/** What the bake records beside its own variables: not part of any fingerprint. */
async function buildInfo(io: StageIO, root: string, fingerprint: string): Promise<Record<string, string>> {
  return { fingerprint, git_revision: await gitRevision(io, root), baked_at: new Date().toISOString() };
}

/**
 * The base layer: roles base and hardening, the app's Debian packages, the service account
 * and bakery's runtime and launcher on the target's base image. Needs no app source, so a
 * git source is not fetched for it.
 */
export async function planBaseLayer<Facts>(
  context: RunContext,
  target: DeployTarget<Facts, Provisioned>,
  io: StageIO,
  facts: Facts,
): Promise<BakePlan> {
  const root = BAKERY_ROOT;
  const variables = { ...(await commonVariables(context, root)), bake_layer: 'base', ...target.bakeVariables(facts) };
  const fingerprint = await computeBaseLayerFingerprint({
    root,
    baseImage: await target.baseImageIdentity(io, facts),
    variables,
  });
  return { layer: 'base', fingerprint, variables: { ...variables, ...(await buildInfo(io, root, fingerprint)) } };
}

/**
 * The image to deploy: on `baseLayer` when the target bakes in layers (only the rest of
 * the app role runs), otherwise everything on the target's base image.
 */
export async function planBake<Facts>(
  context: RunContext,
  target: DeployTarget<Facts, Provisioned>,
  io: StageIO,
  facts: Facts,
  baseLayer?: ImageRef,
): Promise<BakePlan> {
  const { env } = context;
  const root = BAKERY_ROOT;
  const source = await resolveAppSource(context, io, root);
  checkRequirements(context, source);
  const onLayer = baseLayer && target.onBaseLayer ? target.onBaseLayer(baseLayer) : undefined;
  // Everything here ends up in the image, so all of it is part of the fingerprint. The
  // index URLs are not: they may carry credentials, and they do not change what the
  // requirements file pins.
  const imageVariables: Record<string, string> = {
    ...(await commonVariables(context, root)),
    app_entrypoint: env.service.entrypoint,
    app_source_revision: source.revision,
    // The build commands make part of the image; none leaves the fingerprints of images
    // baked before they existed unchanged.
    ...(env.service.build.length > 0 ? { app_build_commands: JSON.stringify(env.service.build) } : {}),
    ...target.bakeVariables(facts),
    bake_layer: onLayer ? 'app' : 'all',
    ...onLayer,
  };
  const fingerprint = await computeFingerprint({
    root,
    appSource: source.directory,
    // A new base layer (a rebake for security updates) is a new image too.
    baseImage: onLayer && baseLayer ? `base-layer ${baseLayer.id}` : await target.baseImageIdentity(io, facts),
    variables: imageVariables,
  });
  return {
    layer: onLayer ? 'app' : 'all',
    fingerprint,
    source,
    variables: { ...imageVariables, ...(await buildInfo(io, root, fingerprint)) },
  };
}

/**
 * A run killed during a bake (SIGKILL, a second Ctrl-C) leaves Packer's builder behind,
 * and nothing else would ever remove it but destroy; under the lock, none of this
 * environment's builders can belong to a live run. Returns what went: the stage reports it.
 */
export async function removeLeakedBuilders(target: AnyTarget, io: StageIO): Promise<string[]> {
  const removed = (await target.images.removeLeakedBuilders?.(io)) ?? [];
  if (removed.length > 0) io.info(`removed ${removed.length} builder(s) left by an earlier run`, removed);
  return removed;
}

/** The staged source and, with requirements, the wheelhouse: PKR_VAR_ values for them. */
async function prepareInputs(context: RunContext, io: StageIO, plan: BakePlan, scratch: Scratch) {
  if (!plan.source) return {};
  const staged = join(scratch.directory, 'app');
  const files = await stageSource(BAKERY_ROOT, plan.source.directory, staged);
  io.note(`staged ${files.length} app file(s) from ${plan.source.directory} into ${staged}`);
  // One archive, packed here rather than by Ansible on this machine (listing, a scratch
  // directory, tar, cleanup: four tasks): the app layer copies and unpacks it in one task.
  await io.run({ ...packTreeCommand(staged, archivePathOf(staged)), quiet: true });
  const variables: Record<string, string> = { app_source_dir: staged };
  const { service } = context.env;
  if (service.requirements !== undefined) {
    const wheelhouse = join(scratch.directory, 'wheelhouse');
    await buildWheelhouse(io, service, join(staged, service.requirements), wheelhouse, context.processEnv);
    variables.app_wheelhouse_dir = wheelhouse;
  }
  return variables;
}

export async function bakeImage(
  context: RunContext,
  target: AnyTarget,
  io: StageIO,
  plan: BakePlan,
): Promise<ImageRef> {
  // CHECKPOINT_DISABLE: Packer would otherwise ask HashiCorp for newer releases on every bake.
  const env: Record<string, string> = {
    CHECKPOINT_DISABLE: '1',
    PACKER_NO_COLOR: '1',
    ANSIBLE_FORCE_COLOR: '0',
    ANSIBLE_NOCOLOR: '1',
    ...(await target.bakeEnvironment?.(io)),
  };
  const scratch = await makeScratch('bake');
  const clock = new BakeClock();
  try {
    const inputs = await prepareInputs(context, io, plan, scratch);
    for (const [name, value] of Object.entries({ ...plan.variables, ...inputs })) env[`PKR_VAR_${name}`] = value;
    clock.prepared();
    const image = await runPacker(context, target, io, plan, env, clock);
    const timing = clock.finish();
    io.info(`${describeLayer(plan.layer) || 'image '}baked in ${describeBakeTiming(timing)}`);
    // Every task, for the log only: where to look when a bake gets slower.
    io.note(`Ansible tasks, slowest first: ${timing.tasks.map((task) => `${task.task} ${task.seconds} s`).join('; ')}`);
    return image;
  } finally {
    await scratch.remove();
  }
}

async function runPacker(
  context: RunContext,
  target: AnyTarget,
  io: StageIO,
  plan: BakePlan,
  env: Record<string, string>,
  clock: BakeClock,
): Promise<ImageRef> {
  io.progress(`baking ${target.packerSource} ${describeLayer(plan.layer)}${shortFingerprint(plan.fingerprint)}`);

  let lines: string[];
  let lastTask: string | undefined;
  try {
    const result = await io.run({
      ...packerBuild({ source: target.packerSource, templateDir: 'packer/' }),
      cwd: BAKERY_ROOT,
      env,
      progress: (line) => {
        clock.line(line);
        const text = packerProgress(line);
        if (text?.startsWith('ansible: ')) lastTask = text.slice('ansible: '.length);
        return text;
      },
      errorLines: (all) => packerErrorLines(all),
    });
    lines = result.stdout.split('\n');
  } catch (error) {
    if (error instanceof ToolError && error.failure.tool === 'packer') {
      // Name the Ansible task only when Ansible itself failed, not a later Packer step.
      const ansibleFailed = error.failure.errorLines.some((line) => /fatal:|FAILED!|ERROR!/.test(line));
      const where = lastTask && ansibleFailed ? ` at Ansible task "${lastTask}"` : '';
      throw new ToolError(error.failure, `packer build of ${target.packerSource} failed${where}`);
    }
    throw error;
  }

  const artifact = artifactIds(lines).get(target.packerSource);
  if (!artifact) {
    throw new ToolError(
      {
        tool: 'packer',
        command: `packer build -only=${target.packerSource}`,
        exitCode: 0,
        signal: undefined,
        logPath: context.runner.logPath(io.stage),
        errorLines: lines.slice(-10),
      },
      `packer build finished but reported no artifact for ${target.packerSource}`,
    );
  }
  return target.images.adopt(io, artifact, plan.fingerprint);
}

function describeLayer(layer: BakeLayer): string {
  return layer === 'all' ? '' : `${layer} layer `;
}
