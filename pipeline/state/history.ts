// Every deploy, rollback and destroy of an environment, one JSON line each, appended to
// .deploy/ENV/history.jsonl and never rewritten: what ran, who ran it, what it deployed
// and how it ended. Retention reads it (the images of the last good releases are kept),
// rollback reads it (which image was the previous good one), status shows it.

import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { hostname, userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import { isCi } from '../ci.ts';
import { stateFileError } from './files.ts';

export type HistoryCommand = 'deploy' | 'rollback' | 'destroy' | 'run';
export type HistoryOutcome = 'succeeded' | 'failed' | 'interrupted';

export interface HistoryEntry {
  command: HistoryCommand;
  env: string;
  target: string;
  /** When the run started and how long it took. */
  started_at: string;
  seconds: number;
  /** "user@host", or the CI job that ran it. */
  who: string;
  /** The image the run rolled out (deploy, rollback), when it got that far. */
  image?: string;
  fingerprint?: string;
  git_revision?: string;
  outcome: HistoryOutcome;
  exit_code: number;
  /** The first line of the error, for a run that failed. */
  error?: string;
  /** A deploy whose release commands (service.release) ran: on which image, how many, when they ended. */
  release?: { image: string; commands: number; finished_at: string };
  /** run.ts: the program run once and the image it ran on (its exit code is exit_code). */
  one_off?: { image: string; program: string };
}

/**
 * Where an environment's history lives: the file under .deploy/ENV/, and for an aws
 * environment whose Terraform state is in S3, also the object next to it
 * (targets/history.ts picks). Every reader and writer goes through one of these.
 */
export interface HistoryStore {
  /** Where it is, for messages: a path, or "PATH and s3://bucket/key". */
  readonly location: string;
  append(entry: HistoryEntry): Promise<void>;
  /** Every entry, oldest first. */
  read(): Promise<HistoryEntry[]>;
}

/** The history of this machine only: .deploy/ENV/history.jsonl. */
export function localHistory(stateDir: string): HistoryStore {
  return {
    location: historyPath(stateDir),
    append: (entry) => appendHistory(stateDir, entry),
    read: () => readHistory(stateDir),
  };
}

export function historyPath(stateDir: string): string {
  return join(stateDir, 'history.jsonl');
}

/** Who is running: the CI job when there is one (CI runs share an account), else user@host. */
export function currentActor(env: NodeJS.ProcessEnv): string {
  const user = env.USER ?? env.LOGNAME ?? safeUserName();
  const host = hostname();
  if (!isCi(env)) return `${user}@${host}`;
  const job =
    env.GITHUB_RUN_ID !== undefined
      ? `github ${env.GITHUB_REPOSITORY ?? ''} run ${env.GITHUB_RUN_ID}`.replace('  ', ' ')
      : (env.CI_JOB_URL ?? env.BUILD_URL ?? env.BUILD_TAG ?? env.CI_JOB_ID);
  return job ? `ci: ${job} (${user}@${host})` : `ci: ${user}@${host}`;
}

function safeUserName(): string {
  try {
    return userInfo().username;
  } catch {
    return 'unknown';
  }
}

/**
 * Appends one entry. One write of one line in append mode: two runs never interleave
 * inside a line, and an existing line is never touched.
 */
export async function appendHistory(stateDir: string, entry: HistoryEntry): Promise<void> {
  const path = historyPath(stateDir);
  try {
    await mkdir(dirname(path), { recursive: true });
    await appendFile(path, historyLine(entry), { mode: 0o644 });
  } catch (error) {
    throw stateFileError(error, path, 'the deploy history');
  }
}

/** Every entry, oldest first; a missing file is an empty history, a damaged line is skipped. */
export async function readHistory(stateDir: string): Promise<HistoryEntry[]> {
  let text: string;
  try {
    text = await readFile(historyPath(stateDir), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  return parseHistory(text);
}

export function parseHistory(text: string): HistoryEntry[] {
  const entries: HistoryEntry[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      const entry = JSON.parse(line) as HistoryEntry;
      if (entry && typeof entry === 'object' && typeof entry.command === 'string') entries.push(entry);
    } catch {
      // A line cut off by a full disk or a killed run: the others still count.
    }
  }
  return entries;
}

/** One line of the file format, shared by the local file and the S3 object. */
export function historyLine(entry: HistoryEntry): string {
  return `${JSON.stringify(entry)}\n`;
}

/**
 * Two histories as one, oldest first: the same run recorded in both (same start, command
 * and actor) counts once. Lets a machine's own runs that never reached the shared copy
 * still be seen, and the runs of other machines too.
 */
export function mergeHistories(...histories: ReadonlyArray<readonly HistoryEntry[]>): HistoryEntry[] {
  const seen = new Map<string, HistoryEntry>();
  for (const entry of histories.flat()) seen.set(`${entry.started_at} ${entry.command} ${entry.who}`, entry);
  return [...seen.values()].sort((a, b) => a.started_at.localeCompare(b.started_at));
}

/** The images of successful deploys and rollbacks, newest first, each once. */
export function releasedImages(history: readonly HistoryEntry[]): string[] {
  const images: string[] = [];
  for (const entry of [...history].reverse()) {
    if (entry.command === 'destroy' || entry.outcome !== 'succeeded' || !entry.image) continue;
    if (!images.includes(entry.image)) images.push(entry.image);
  }
  return images;
}
