// The bake: work out the fingerprint, reuse an image that has it, or run Packer.

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { RunContext, StageIO } from '../context.ts';
import { ToolError } from '../errors.ts';
import type { AnyTarget, ImageRef } from '../targets/target.ts';
import { computeFingerprint, shortFingerprint } from './fingerprint.ts';
import { artifactIds, packerErrorLines, packerProgress } from './packer.ts';

export interface BakePlan {
  fingerprint: string;
  /** PKR_VAR_ names (without the prefix) and values. */
  variables: Record<string, string>;
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
      args: ['status', '--porcelain', '--', 'service', 'ansible', 'packer'],
      cwd: root,
      quiet: true,
    });
    return `${head.stdout.trim()}${status.stdout.trim() === '' ? '' : '-dirty'}`;
  } catch {
    return 'unknown';
  }
}

export async function planBake(context: RunContext, target: AnyTarget, io: StageIO, facts: unknown): Promise<BakePlan> {
  const { env, root } = context;
  // Everything here ends up in the image, so all of it is part of the fingerprint.
  const imageVariables: Record<string, string> = {
    app_name: env.app,
    environment: env.name,
    version: await readVersion(root),
    service_port: String(env.service.port),
    ...target.bakeVariables(facts),
  };
  const fingerprint = await computeFingerprint({
    root,
    baseImage: await target.baseImageIdentity(io, facts),
    variables: imageVariables,
  });
  return {
    fingerprint,
    variables: {
      ...imageVariables,
      fingerprint,
      git_revision: await gitRevision(io, root),
      baked_at: new Date().toISOString(),
    },
  };
}

/**
 * A run killed during a bake (SIGKILL, a second Ctrl-C) leaves Packer's builder behind,
 * and nothing else would ever remove it but destroy; under the lock, none of this
 * environment's builders can belong to a live run.
 */
export async function removeLeakedBuilders(target: AnyTarget, io: StageIO): Promise<void> {
  const removed = (await target.images.removeLeakedBuilders?.(io)) ?? [];
  if (removed.length > 0) io.info(`removed ${removed.length} builder(s) left by an earlier run`, removed);
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
  for (const [name, value] of Object.entries(plan.variables)) env[`PKR_VAR_${name}`] = value;
  io.progress(`baking ${target.packerSource} ${shortFingerprint(plan.fingerprint)}`);

  let lines: string[];
  let lastTask: string | undefined;
  try {
    const result = await io.run({
      tool: 'packer',
      args: ['build', `-only=${target.packerSource}`, '-machine-readable', '-color=false', 'packer/'],
      cwd: context.root,
      env,
      progress: (line) => {
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
