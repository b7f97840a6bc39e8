// The local load balancer: HAProxy's configuration, rendered from a template, and its
// runtime API, through which instances are registered, drained and removed without a
// reload (a reload would forget the registered servers).

import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { LocalEnvironment } from '../../config/schema.ts';
import type { StageIO } from '../../context.ts';
import { DeployError } from '../../errors.ts';
import { dockerExec } from './docker-commands.ts';

export const BACKEND = 'instances';
/** The host of the URL the local target prints (http://127.0.0.1:PORT/): what health checks send as Host. */
export const LOCAL_PUBLIC_HOST = '127.0.0.1';
const SOCKET = '/run/haproxy/admin.sock';

/** HAProxy's check intervals, in ms: what the load balancer's config and a registered server both use. */
export interface CheckTimings {
  /** Between checks of a server in a settled state (health.interval_s). */
  inter: number;
  /** Between checks while a server goes up or down ("DOWN 1/2"): rise and fall are confirmed sooner. */
  fastinter: number;
  /** Between checks of a DOWN server: a new instance is seen as soon as it answers. */
  downinter: number;
}

/** The fastest HAProxy checks a server: more often only costs the instance work. */
const MIN_CHECK_MS = 100;

/**
 * health.interval_s for settled servers; half of it (at least 100 ms) in transitions and
 * while DOWN, so a new instance is UP about one interval after it first answers, and a
 * failing one is out about one interval after its first failed check, while an UP server
 * is still only checked every interval_s (fall failures in a row, no flapping on one slow check).
 */
export function checkTimings(health: LocalEnvironment['health']): CheckTimings {
  const inter = Math.round(health.interval_s * 1000);
  const fast = Math.max(MIN_CHECK_MS, Math.round(inter / 2));
  return { inter, fastinter: Math.min(inter, fast), downinter: Math.min(inter, fast) };
}

/** The check keywords of a server line or `add server` (without `check`). */
export function checkKeywords(health: LocalEnvironment['health']): string {
  const timings = checkTimings(health);
  return `inter ${timings.inter}ms fastinter ${timings.fastinter}ms downinter ${timings.downinter}ms rise ${health.healthy_threshold} fall ${health.unhealthy_threshold}`;
}

export async function renderHaproxyConfig(root: string, env: LocalEnvironment): Promise<string> {
  const template = await readFile(join(root, 'docker', 'haproxy', 'haproxy.cfg.template'), 'utf8');
  const values: Record<string, string> = {
    app: env.app,
    env: env.name,
    public_port: String(env.local.port),
    public_host: LOCAL_PUBLIC_HOST,
    health_path: env.service.health_path,
    check: checkKeywords(env.health),
    timeout_ms: String(Math.round(env.health.timeout_s * 1000)),
  };
  return template.replace(/\{\{(\w+)\}\}/g, (_, name: string) => {
    const value = values[name];
    if (value === undefined) throw new DeployError(`haproxy.cfg.template uses unknown value {{${name}}}`);
    return value;
  });
}

export function hashText(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}

/** Sends runtime API commands (joined with ";", run in order) and returns the answer. */
export async function runtimeApi(
  io: StageIO,
  lb: string,
  commands: string[],
  options: { cleanup?: boolean } = {},
): Promise<string> {
  const result = await io.run({
    ...dockerExec(lb, ['socat', 'stdio', `unix-connect:${SOCKET}`], { stdin: true }),
    input: `${commands.join('; ')}\n`,
    quiet: true,
    ...(options.cleanup ? { cleanup: true } : {}),
  });
  return result.stdout;
}

export interface ServerState {
  name: string;
  /** "UP", "DOWN", "UP 1/2", "DRAIN", "MAINT", "no check"... */
  status: string;
  /** L7OK, L7STS, L4CON, L4TOUT, INI... */
  checkStatus: string;
  /** HTTP status of the last check, when there was one. */
  checkCode: string;
  /** Free-text description of the last check. */
  lastCheck: string;
  currentSessions: number;
  address: string;
  weight: number;
  /** Cumulative counters since the server was added: what the canary is judged on. */
  traffic: ServerTraffic;
}

export interface ServerTraffic {
  /** Sessions the server took (stot). */
  sessions: number;
  /** HTTP responses by class. */
  responses: { '1xx': number; '2xx': number; '3xx': number; '4xx': number; '5xx': number; other: number };
  /** Connections to the server that failed (econ). */
  connectionErrors: number;
  /** Responses that failed half-way: aborted, timed out, invalid (eresp). */
  responseErrors: number;
}

/** Parses `show stat` CSV into the backend's servers. */
export function parseServerStats(csv: string): ServerState[] {
  const lines = csv.split('\n').filter((line) => line.trim() !== '');
  const header = lines.find((line) => line.startsWith('# '));
  if (!header) return [];
  const columns = header.slice(2).split(',');
  const at = (row: string[], name: string): string => row[columns.indexOf(name)] ?? '';
  return lines
    .filter((line) => !line.startsWith('#'))
    .map((line) => line.split(','))
    .filter((row) => at(row, 'pxname') === BACKEND && !['BACKEND', 'FRONTEND'].includes(at(row, 'svname')))
    .map((row) => ({
      name: at(row, 'svname'),
      status: at(row, 'status'),
      checkStatus: at(row, 'check_status').replace(/^\* /, ''),
      checkCode: at(row, 'check_code'),
      lastCheck: at(row, 'last_chk'),
      currentSessions: Number(at(row, 'scur') || 0),
      address: at(row, 'addr'),
      weight: Number(at(row, 'weight') || 0),
      traffic: {
        sessions: count(at(row, 'stot')),
        responses: {
          '1xx': count(at(row, 'hrsp_1xx')),
          '2xx': count(at(row, 'hrsp_2xx')),
          '3xx': count(at(row, 'hrsp_3xx')),
          '4xx': count(at(row, 'hrsp_4xx')),
          '5xx': count(at(row, 'hrsp_5xx')),
          other: count(at(row, 'hrsp_other')),
        },
        connectionErrors: count(at(row, 'econ')),
        responseErrors: count(at(row, 'eresp')),
      },
    }));
}

function count(text: string): number {
  const value = Number(text);
  return Number.isFinite(value) ? value : 0;
}

export async function serverStates(
  io: StageIO,
  lb: string,
  options: { cleanup?: boolean } = {},
): Promise<ServerState[]> {
  return parseServerStats(await runtimeApi(io, lb, ['show stat'], options));
}

export function isUp(server: ServerState): boolean {
  return server.status === 'UP';
}

/** Why a server is not healthy, in the words of its last check. */
export function describeCheck(server: ServerState): string {
  const code = server.checkCode ? ` (HTTP ${server.checkCode})` : '';
  const detail = server.lastCheck ? `: ${server.lastCheck}` : '';
  return `${server.name} is ${server.status}, last check ${server.checkStatus || 'none yet'}${code}${detail}`;
}

/**
 * Registers an instance so that it takes traffic only after passing `rise` checks.
 * A new dynamic server starts as UP before any check has run, so it is added with
 * weight 0, forced down, and only then given its weight: it must earn UP by checks.
 */
export async function registerServer(
  io: StageIO,
  lb: string,
  env: LocalEnvironment,
  name: string,
  address: string,
): Promise<void> {
  const server = `${BACKEND}/${name}`;
  const check = `check ${checkKeywords(env.health)}`;
  const answer = await runtimeApi(io, lb, [
    `add server ${server} ${address}:${env.service.port} ${check} weight 0`,
    `enable health ${server}`,
    `enable server ${server}`,
    `set server ${server} health down`,
    `set server ${server} weight 100`,
  ]);
  if (!answer.includes('New server registered'))
    throw new DeployError(`HAProxy refused to register ${name}`, [answer.trim() || '(no answer)']);
}

export async function drainServer(
  io: StageIO,
  lb: string,
  name: string,
  options: { cleanup?: boolean } = {},
): Promise<void> {
  const answer = await runtimeApi(io, lb, [`set server ${BACKEND}/${name} state drain`], options);
  if (answer.trim() !== '') io.warn(`HAProxy did not drain ${name}`, [answer.trim()]);
}

/** Takes a server out for good: maintenance, close what is left, delete. */
export async function removeServer(
  io: StageIO,
  lb: string,
  name: string,
  options: { cleanup?: boolean } = {},
): Promise<void> {
  const server = `${BACKEND}/${name}`;
  const answer = await runtimeApi(
    io,
    lb,
    [`set server ${server} state maint`, `shutdown sessions server ${server}`, `del server ${server}`],
    options,
  );
  // `set` and `shutdown` answer nothing when they succeed; `del` says so.
  if (!answer.includes('Server deleted')) io.warn(`HAProxy did not remove ${name}`, [answer.trim() || '(no answer)']);
}
