// What runs on the local target, read only: the instance containers with HAProxy's view of
// each, the load balancer container, and the deployed image's labels; and the service's
// journal from inside each instance (status.ts --logs).

import type { StageIO } from '../../context.ts';
import type { DatabaseStatus, ImageDetails, InstanceStatus, LogQuery, TargetStatus } from '../../operate/observed.ts';
import { databaseState } from './database.ts';
import { databaseName } from './database-credentials.ts';
import type { DeploymentRecord } from '../../state/record.ts';
import { listContainers } from './docker.ts';
import { describeCheck, isUp, serverStates, type ServerState } from './haproxy.ts';
import { listInstances, type Instance } from './instances.ts';
import { LABEL, ownerFilters } from './names.ts';
import type { LocalScope } from './scope.ts';

export async function localStatus(
  io: StageIO,
  scope: LocalScope,
  record: DeploymentRecord | undefined,
): Promise<TargetStatus> {
  const [instances, lbContainers] = await Promise.all([
    listInstances(io, scope),
    listContainers(io, ownerFilters(scope.env, 'lb')),
  ]);
  const lb = lbContainers.find((container) => container.name === scope.names.lb);
  const lbRunning = lb?.state === 'running';
  // A load balancer that does not answer its runtime API counts as one that knows no server.
  const servers = lbRunning ? await serverStates(io, scope.names.lb).catch((): ServerState[] => []) : [];
  return {
    ...(record ? { image: await imageDetails(io, record.image) } : {}),
    instances: instances.map((instance) => instanceStatus(instance, servers, lbRunning)),
    loadBalancer: { name: scope.names.lb, state: lb?.state ?? 'missing', up: lbRunning },
    desired: scope.env.instances.desired,
    ...(scope.env.database ? { database: await databaseStatus(io, scope) } : {}),
  };
}

async function databaseStatus(io: StageIO, scope: LocalScope): Promise<DatabaseStatus> {
  // The credentials always name the database after the app (database-credentials.ts).
  const state = await databaseState(io, scope, databaseName(scope.env.app));
  return {
    name: state.name,
    state: state.state,
    accepting: state.accepting,
    ...(state.sizeBytes !== undefined ? { size_bytes: state.sizeBytes } : {}),
    storage: `volume ${state.volume}`,
  };
}

export function instanceStatus(
  instance: Instance,
  servers: readonly ServerState[],
  lbRunning: boolean,
): InstanceStatus {
  const server = servers.find((candidate) => candidate.name === instance.name);
  const health = !lbRunning ? 'unknown (load balancer down)' : (server?.status ?? 'not registered');
  const healthy = instance.running && server !== undefined && isUp(server);
  return {
    name: instance.name,
    ...(instance.imageId ? { image: instance.imageId } : {}),
    state: instance.running ? 'running' : 'stopped',
    running: instance.running,
    health,
    healthy,
    ...(server && !healthy ? { reason: describeCheck(server) } : {}),
  };
}

async function imageDetails(io: StageIO, id: string): Promise<ImageDetails> {
  const label = (name: string): string => `{{index .Config.Labels "${name}"}}`;
  const result = await io.run({
    tool: 'docker',
    args: [
      'image',
      'inspect',
      '--format',
      [
        '{{.Id}}',
        label(LABEL.fingerprint),
        label(LABEL.gitRevision),
        label(LABEL.bakedAt),
        label(LABEL.layer),
        '{{json .RepoTags}}',
      ].join('|'),
      id,
    ],
    quiet: true,
    okExitCodes: [1],
  });
  if (result.exitCode !== 0) return { id, exists: false };
  const [, fingerprint = '', gitRevision = '', bakedAt = '', layer = '', tags = 'null'] = result.stdout
    .trim()
    .split('|');
  const name = ((JSON.parse(tags) as string[] | null) ?? [])[0];
  return {
    id,
    exists: true,
    ...(name ? { name } : {}),
    ...(fingerprint ? { fingerprint } : {}),
    ...(gitRevision ? { gitRevision } : {}),
    ...(bakedAt ? { bakedAt } : {}),
    // Layer labels are not baked yet: an image without one is the app layer deploys use.
    layer: layer || 'app',
  };
}

/** journalctl's arguments for one query: the service unit, short ISO timestamps, no pager. */
export function journalArgs(app: string, query: LogQuery): string[] {
  return [
    '--unit',
    `${app}.service`,
    '--no-pager',
    '--output',
    'short-iso',
    ...(query.sinceSeconds !== undefined ? [`--since=-${query.sinceSeconds}s`] : ['--lines', String(query.lines)]),
    ...(query.follow ? ['--follow'] : []),
  ];
}

/** Every running instance's journal (or one's), concurrently, each line prefixed with the instance. */
export async function localLogs(
  io: StageIO,
  scope: LocalScope,
  query: LogQuery,
  write: (line: string) => void,
): Promise<string[]> {
  const instances = (await listInstances(io, scope)).filter(
    (instance) => query.instance === undefined || instance.name === query.instance,
  );
  const running = instances.filter((instance) => instance.running);
  await Promise.all(
    running.map((instance) =>
      io.run({
        tool: 'docker',
        args: ['exec', instance.name, 'journalctl', ...journalArgs(scope.env.app, query)],
        // Lines are written as they come (--follow never ends by itself); nothing reaches progress.
        progress: (line) => {
          if (line.trim() !== '' && !line.startsWith('-- ')) write(`${instance.name} | ${line}`);
          return undefined;
        },
        okExitCodes: [1],
      }),
    ),
  );
  return instances.map((instance) => instance.name);
}
