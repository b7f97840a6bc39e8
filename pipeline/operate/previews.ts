// Preview environments on this machine: each has a record in .deploy/NAME/preview.json
// (what it was asked as, when it was first deployed, its local port, whether its seed
// ran), and a local preview holds a port claim, .deploy/.previews/ports/PORT, made with
// an exclusive create so two previews deployed at once never get the same port.

import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { previewEnvironmentNameIn, previewName } from '../config/previews.ts';
import type { Config, Environment, PreviewOf, PreviewTemplate } from '../config/schema.ts';
import { stateDirOf } from '../context.ts';
import { ConfigError, UsageError } from '../errors.ts';
import { claimStateFile, removeState, writeStateFile } from '../state/files.ts';
import { withKind } from '../targets/kind.ts';

export interface PreviewRecord {
  /** The name it was asked as (pr-12). */
  name: string;
  /** Its environment's name: the same, or shortened with a hash (config/previews.ts). */
  env: string;
  from: string;
  /** Its first deploy: the TTL sweep counts its age from here. */
  created_at: string;
  /** Local previews: the port of its load balancer on 127.0.0.1. */
  port?: number;
  /** When the seed command ran (after its first release); absent until then. */
  seeded_at?: string;
}

export function previewRecordPath(stateDir: string): string {
  return join(stateDir, 'preview.json');
}

function portClaimDir(root: string): string {
  return join(root, '.deploy', '.previews', 'ports');
}

export async function readPreviewRecord(stateDir: string): Promise<PreviewRecord | undefined> {
  let text: string;
  try {
    text = await readFile(previewRecordPath(stateDir), 'utf8');
  } catch {
    return undefined;
  }
  try {
    return JSON.parse(text) as PreviewRecord;
  } catch (error) {
    throw new ConfigError(previewRecordPath(stateDir), [
      { path: '', message: `is not JSON (${error instanceof Error ? error.message : String(error)})` },
    ]);
  }
}

function writePreviewRecord(stateDir: string, record: PreviewRecord): Promise<void> {
  return writeStateFile(previewRecordPath(stateDir), `${JSON.stringify(record, null, 2)}\n`, 'the preview record');
}

/** The template, or bad input that says how to add one. */
export function templateOf(config: Config): PreviewTemplate {
  if (config.previews) return config.previews;
  throw new UsageError(`${config.file} has no previews template`, [
    'add one, e.g.: previews: { from: staging, instances: { desired: 1 }, ttl_hours: 72 } (README: "Preview environments")',
  ]);
}

export interface OpenedPreview {
  env: Environment;
  record?: PreviewRecord;
}

/**
 * The preview environment named on the command line. With `create` (a deploy that is not
 * a dry run) a new preview gets its record and, on local, its port; otherwise a missing
 * record is fine (destroying nothing succeeds, status shows it absent).
 */
export async function openPreview(
  config: Config,
  root: string,
  asked: string,
  { create }: { create: boolean },
): Promise<OpenedPreview> {
  const template = templateOf(config);
  const name = previewName(asked);
  const envName = previewEnvironmentNameIn(config.environments, config.app, name, config.file);
  const stateDir = stateDirOf(root, envName);
  let record = await readPreviewRecord(stateDir);
  if (record && record.name !== name) {
    throw new UsageError(`--preview ${name}: its environment ${envName} belongs to preview ${record.name}`, [
      `record: ${previewRecordPath(stateDir)}`,
      'choose another name, or destroy that preview first',
    ]);
  }
  const base = config.environments[template.from] as Environment;
  const needsPort = withKind(base, (kind, typed) => kind.hostPort(typed)) !== undefined;
  if (!record && create) {
    const port = needsPort ? await claimPort(config, root, envName, template) : undefined;
    record = {
      name,
      env: envName,
      from: template.from,
      created_at: new Date().toISOString(),
      ...(port !== undefined ? { port } : {}),
    };
    await writePreviewRecord(stateDir, record);
  }
  const port = needsPort ? (record?.port ?? template.local_ports.first) : undefined;
  const env = template.environment(envName, name, port);
  // The seed runs once, as the last release command of the first release (stages: after migrations).
  if (template.seed && !record?.seeded_at) {
    env.service = { ...env.service, release: [...env.service.release, template.seed] };
    env.preview = { ...(env.preview as PreviewOf), seedPending: true };
  }
  return { env, ...(record ? { record } : {}) };
}

/**
 * The lowest port of previews.local_ports that no environment of deploy.yaml uses and no
 * other preview claimed. A claim is a file created exclusively, so it is atomic.
 */
async function claimPort(config: Config, root: string, envName: string, template: PreviewTemplate): Promise<number> {
  const dir = portClaimDir(root);
  const taken = new Set(
    Object.values(config.environments).map((env) => withKind(env, (kind, typed) => kind.hostPort(typed))?.port),
  );
  const { first, last } = template.local_ports;
  for (let port = first; port <= last; port++) {
    if (taken.has(port)) continue;
    const claim = join(dir, String(port));
    if (await claimStateFile(claim, `${envName}\n`, 'a preview port claim')) return port;
    // A claim left by this same preview (its record was lost): take it back.
    if ((await readFile(claim, 'utf8').catch(() => '')).trim() === envName) return port;
  }
  throw new UsageError(
    `no free port for preview ${envName}: previews.local_ports ${first}-${last} are all taken (by environments or other previews)`,
    ['remove stale previews with ./destroy.ts --previews, or widen previews.local_ports'],
  );
}

/** After a preview's teardown: its record and port claim go, so the name and port are free again. */
export async function forgetPreview(root: string, stateDir: string): Promise<void> {
  const record = await readPreviewRecord(stateDir).catch(() => undefined);
  if (record?.port !== undefined)
    await removeState(join(portClaimDir(root), String(record.port)), 'a preview port claim');
  await removeState(previewRecordPath(stateDir), 'the preview record');
}

/** After the first release that ran the seed: it never runs again for this preview. */
export async function markSeeded(stateDir: string, at: Date): Promise<void> {
  const record = await readPreviewRecord(stateDir);
  if (record) await writePreviewRecord(stateDir, { ...record, seeded_at: at.toISOString() });
}

/** Every preview this machine has a record of, by environment name. */
export async function listPreviews(root: string): Promise<PreviewRecord[]> {
  const deployDir = join(root, '.deploy');
  const entries = await readdir(deployDir, { withFileTypes: true }).catch(() => []);
  const records: PreviewRecord[] = [];
  for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    if (!entry.isDirectory() || entry.name.startsWith('.')) continue;
    const record = await readPreviewRecord(join(deployDir, entry.name));
    if (record) records.push(record);
  }
  return records;
}

/** Seconds since the preview's first deploy. */
export function previewAgeSeconds(record: PreviewRecord, now: Date): number {
  return Math.max(0, Math.floor((now.getTime() - Date.parse(record.created_at)) / 1000));
}

/** The previews older than `maxAgeSeconds`, and the others. */
export function partitionByAge(
  records: readonly PreviewRecord[],
  maxAgeSeconds: number,
  now: Date,
): { stale: PreviewRecord[]; fresh: PreviewRecord[] } {
  const stale = records.filter((record) => previewAgeSeconds(record, now) > maxAgeSeconds);
  return { stale, fresh: records.filter((record) => !stale.includes(record)) };
}

/** 3d 4h, 5h 12m, 40m, 12s: an age for a person. */
export function formatAge(seconds: number): string {
  const days = Math.floor(seconds / 86_400);
  const hours = Math.floor((seconds % 86_400) / 3600);
  const minutes = Math.floor((seconds % 3600) / 60);
  if (days > 0) return `${days}d ${hours}h`;
  if (hours > 0) return `${hours}h ${minutes}m`;
  if (minutes > 0) return `${minutes}m`;
  return `${seconds}s`;
}
