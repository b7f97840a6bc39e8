// status.ts --previews: the preview environments on this machine, each with its age (since
// its first deploy), its last deploy and how it ended, and its URL. Reads only.

import { dirname, resolve } from 'node:path';
import { loadConfig } from '../config/load.ts';
import { stateDirOf } from '../context.ts';
import { EXIT, UsageError } from '../errors.ts';
import { formatAge, listPreviews, previewAgeSeconds, templateOf, type PreviewRecord } from '../operate/previews.ts';
import { localHistory, type HistoryEntry } from '../state/history.ts';
import { readDeploymentRecord } from '../state/record.ts';
import { historyOf } from '../targets/kind.ts';
import type { ParsedArgs } from './flags.ts';
import type { Streams } from './session.ts';

export interface PreviewRow {
  name: string;
  env: string;
  from: string;
  created_at: string;
  age_seconds: number;
  /** The newest deploy or rollback in its history, and how it ended. */
  last_deploy: { started_at: string; outcome: HistoryEntry['outcome'] } | null;
  url: string | null;
}

export async function listPreviewsCommand(args: ParsedArgs, streams: Streams, now = new Date()): Promise<number> {
  const clash = ['history', 'logs', 'preview'].find((name) => args.flags.has(name));
  if (clash || args.positionals.length > 0)
    throw new UsageError(`--previews lists every preview: leave out ${clash ? `--${clash}` : args.positionals[0]}`);
  const configPath = resolve(String(args.flags.get('config') ?? 'deploy.yaml'));
  const config = await loadConfig(configPath);
  const template = templateOf(config);
  const root = dirname(configPath);
  const rows: PreviewRow[] = [];
  for (const record of await listPreviews(root)) rows.push(await rowOf(record, root, template, streams, now));
  if (args.flags.has('json')) {
    streams.out.write(`${JSON.stringify(rows)}\n`);
    return EXIT.ok;
  }
  if (rows.length === 0) {
    streams.out.write(`no previews of ${config.app} on this machine (./deploy.ts --preview NAME makes one)\n`);
    return EXIT.ok;
  }
  const table = [
    ['PREVIEW', 'AGE', 'LAST DEPLOY', 'URL'],
    ...rows.map((row) => [
      row.name,
      formatAge(row.age_seconds),
      row.last_deploy ? `${row.last_deploy.started_at} ${row.last_deploy.outcome}` : '-',
      row.url ?? '-',
    ]),
  ];
  const widths = table[0]!.map((_, column) => Math.max(...table.map((line) => line[column]!.length)));
  const lines = table.map((line) =>
    line
      .map((cell, column) => cell.padEnd(widths[column]!))
      .join('  ')
      .trimEnd(),
  );
  streams.out.write(`${lines.join('\n')}\n`);
  return EXIT.ok;
}

async function rowOf(
  record: PreviewRecord,
  root: string,
  template: ReturnType<typeof templateOf>,
  streams: Streams,
  now: Date,
): Promise<PreviewRow> {
  const stateDir = stateDirOf(root, record.env);
  const deployment = await readDeploymentRecord(stateDir);
  let entries: HistoryEntry[];
  try {
    // The shared history where the target keeps one (aws with S3 state), else this machine's.
    entries = await historyOf(template.environment(record.env, record.name, record.port), stateDir, streams.env).read();
  } catch {
    entries = await localHistory(stateDir)
      .read()
      .catch(() => []);
  }
  const last = entries.filter((entry) => entry.command === 'deploy' || entry.command === 'rollback').at(-1);
  return {
    name: record.name,
    env: record.env,
    from: record.from,
    created_at: record.created_at,
    age_seconds: previewAgeSeconds(record, now),
    last_deploy: last ? { started_at: last.started_at, outcome: last.outcome } : null,
    url: deployment?.url ?? null,
  };
}
