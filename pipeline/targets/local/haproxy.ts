// The local load balancer: HAProxy's configuration, rendered from a template, and its
// runtime API, through which instances are registered, drained and removed without a
// reload (a reload would forget the registered servers).

import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { LocalEnvironment } from '../../config/schema.ts';
import type { StageIO } from '../../context.ts';
import { DeployError } from '../../errors.ts';

export const BACKEND = 'instances';
/** The host of the URL the local target prints (http://127.0.0.1:PORT/): what health checks send as Host. */
export const LOCAL_PUBLIC_HOST = '127.0.0.1';
const SOCKET = '/run/haproxy/admin.sock';

export async function renderHaproxyConfig(root: string, env: LocalEnvironment): Promise<string> {
  const template = await readFile(join(root, 'docker', 'haproxy', 'haproxy.cfg.template'), 'utf8');
  const values: Record<string, string> = {
    app: env.app,
    env: env.name,
    public_port: String(env.local.port),
    public_host: LOCAL_PUBLIC_HOST,
    health_path: env.service.health_path,
    interval_ms: String(env.health.interval_s * 1000),
    timeout_ms: String(env.health.timeout_s * 1000),
    rise: String(env.health.healthy_threshold),
    fall: String(env.health.unhealthy_threshold),
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
    tool: 'docker',
    args: ['exec', '-i', lb, 'socat', 'stdio', `unix-connect:${SOCKET}`],
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
  const check = `check inter ${env.health.interval_s * 1000} rise ${env.health.healthy_threshold} fall ${env.health.unhealthy_threshold}`;
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
