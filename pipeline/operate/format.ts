// Text for status.ts: the status report and the history table. JSON output is the same
// data unformatted (status-command.ts).

import type { HistoryEntry } from '../state/history.ts';
import type { DeploymentRecord } from '../state/record.ts';
import type { UrlCheck } from './drift.ts';
import type { DatabaseStatus, TargetStatus } from './observed.ts';

export function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, column) => cell.padEnd(widths[column] as number))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)];
}

const short = (id: string | undefined): string => (id ? id.replace(/^sha256:/, '').slice(0, 12) : '-');

export function formatStatus(
  title: string,
  record: DeploymentRecord | undefined,
  status: TargetStatus,
  urlCheck: UrlCheck | undefined,
  drift: readonly string[],
): string[] {
  const lines = [title];
  if (!record) lines.push('deployed: nothing (no deployment record)');
  else {
    const image = status.image;
    lines.push(`deployed: ${record.deployed_at}`);
    lines.push(
      `image:    ${image?.name ?? record.image} (${short(record.image)})${image && !image.exists ? ' MISSING' : ''}`,
      `          fingerprint ${short(record.fingerprint)}, git ${image?.gitRevision ?? '-'}, baked ${image?.bakedAt ?? '-'}, layer ${image?.layer ?? '-'}`,
    );
  }
  if (urlCheck) lines.push(`url:      ${urlCheck.url} → ${urlCheck.result}`);
  lines.push(`load balancer: ${status.loadBalancer.name} ${status.loadBalancer.state}`);
  if (status.database) lines.push(`database: ${formatDatabase(status.database)}`);
  lines.push(`instances: ${status.instances.length} (desired ${status.desired})`);
  if (status.scaling) {
    const { min, desired, max, suspended, lastActivity } = status.scaling;
    lines.push(
      `scaling:  min ${min}, desired ${desired}, max ${max}${suspended ? `; suspended: ${suspended.join(', ')}` : ''}`,
      `          last activity: ${lastActivity ?? 'none'}`,
    );
  }
  if (status.instances.length > 0)
    lines.push(
      ...formatTable(
        ['NAME', 'IMAGE', 'STATE', 'HEALTH', 'REASON'],
        status.instances.map((instance) => [
          instance.name,
          short(instance.image),
          instance.state,
          instance.health,
          instance.reason ?? '',
        ]),
      ).map((line) => `  ${line}`),
    );
  if (status.alarms !== undefined)
    lines.push(
      `alarms in ALARM: ${status.alarms.length === 0 ? 'none' : status.alarms.map((alarm) => alarm.name).join(', ')}`,
    );
  lines.push(...(drift.length === 0 ? ['as deployed: no drift'] : drift.map((line) => `drift: ${line}`)));
  return lines;
}

/** "shop-local-db running, accepting connections, 7.6 MB (volume shop-local-db-data)". */
export function formatDatabase(database: DatabaseStatus): string {
  const size = database.size_bytes === undefined ? '' : `, ${(database.size_bytes / 1e6).toFixed(1)} MB`;
  const storage = database.storage ? ` (${database.storage})` : '';
  const accepting = database.accepting ? 'accepting connections' : 'NOT accepting connections';
  return `${database.name} ${database.state}, ${accepting}${size}${storage}`;
}

/** `location` is where the history was read from, for the empty case. */
export function formatHistory(entries: readonly HistoryEntry[], location: string): string[] {
  if (entries.length === 0) return [`no deploys recorded yet in ${location}`];
  return formatTable(
    ['STARTED', 'COMMAND', 'OUTCOME', 'EXIT', 'SECONDS', 'IMAGE', 'GIT', 'WHO', 'ERROR'],
    entries.map((entry) => [
      entry.started_at.replace(/\.\d+Z$/, 'Z'),
      entry.command,
      entry.outcome,
      String(entry.exit_code),
      String(entry.seconds),
      short(entry.image),
      entry.git_revision ?? '-',
      entry.who,
      entry.error ?? '',
    ]),
  );
}

/** The newest `count` entries, newest first. */
export function newestEntries(history: readonly HistoryEntry[], count: number): HistoryEntry[] {
  return [...history].reverse().slice(0, count);
}
