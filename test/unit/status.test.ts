// Operating a deployment, the parts without a target: status.ts's flags, drift rules,
// the history table, which release --rollback goes back to, and what it refuses.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { DEPLOY_SPEC, STATUS_SPEC, parseArgs } from '../../pipeline/cli/flags.ts';
import { statusMode } from '../../pipeline/cli/status-command.ts';
import { EXIT, InputError, UsageError, exitCodeOf } from '../../pipeline/errors.ts';
import { findDrift } from '../../pipeline/operate/drift.ts';
import { formatHistory, newestEntries } from '../../pipeline/operate/format.ts';
import type { TargetStatus } from '../../pipeline/operate/observed.ts';
import {
  chooseRollback,
  inServiceImage,
  parseRollbackDepth,
  resolveRollbackImage,
} from '../../pipeline/operate/rollback.ts';
import { parseSince } from '../../pipeline/operate/since.ts';
import { appendHistory, localHistory, type HistoryEntry } from '../../pipeline/state/history.ts';
import { writeDeploymentRecord, type DeploymentRecord } from '../../pipeline/state/record.ts';
import type { ServerState } from '../../pipeline/targets/local/lb-servers.ts';
import { instanceStatus, journalArgs } from '../../pipeline/targets/local/status.ts';
import type { ImageStore } from '../../pipeline/targets/target.ts';
import { recordingIO } from '../helpers/aws-io.ts';
import { suite } from '../support/suite.ts';

const thrown = (run: () => unknown): unknown => {
  try {
    run();
  } catch (error) {
    return error;
  }
  return undefined;
};

// ---------------------------------------------------------------------------------------

const Flags = suite('status.ts and --rollback flags');

Flags('an optional value is taken inline or as a following number, never a following word', () => {
  assert.equal(parseArgs(DEPLOY_SPEC, ['--rollback']).flags.get('rollback'), true);
  assert.equal(parseArgs(DEPLOY_SPEC, ['--rollback=3']).flags.get('rollback'), '3');
  const spaced = parseArgs(DEPLOY_SPEC, ['--rollback', '2', 'prod']);
  assert.equal([spaced.flags.get('rollback'), spaced.positionals], ['2', ['prod']]);
  const before = parseArgs(DEPLOY_SPEC, ['--rollback', 'prod']);
  assert.equal([before.flags.get('rollback'), before.positionals], [true, ['prod']]);
  assert.equal(parseArgs(STATUS_SPEC, ['local', '--history', '5']).flags.get('history'), '5');
});

Flags('--rollback takes a whole number from 1', () => {
  assert.is(parseRollbackDepth(true), 1);
  assert.is(parseRollbackDepth('3'), 3);
  assert.is(parseRollbackDepth(undefined), undefined);
  for (const bad of ['0', '-1', 'x', '1.5']) {
    const error = thrown(() => parseRollbackDepth(bad));
    assert.instance(error, UsageError, bad);
    assert.match((error as Error).message, `--rollback ${JSON.stringify(bad)} is not allowed`);
  }
});

Flags('status asks one question; log flags need --logs; --since is checked', () => {
  const mode = (argv: string[]) => statusMode(parseArgs(STATUS_SPEC, argv));
  assert.equal(mode([]), { kind: 'status' });
  assert.equal(mode(['--history']), { kind: 'history', count: 10 });
  assert.equal(mode(['--history=3']), { kind: 'history', count: 3 });
  assert.equal(mode(['--logs', '--since', '10m', '--instance', 'a']), {
    kind: 'logs',
    query: { lines: 100, follow: false, sinceSeconds: 600, instance: 'a' },
  });
  assert.match((thrown(() => mode(['--since', '10m'])) as Error).message, '--since goes with --logs');
  assert.match((thrown(() => mode(['--logs', '--history'])) as Error).message, 'two questions');
  assert.match((thrown(() => mode(['--history=0'])) as Error).message, '--history "0" is not allowed');
  const since = thrown(() => mode(['--logs', '--since', '10 minutes']));
  assert.is(exitCodeOf(since), EXIT.badInput);
  assert.match((since as Error).message, '--since "10 minutes" is not allowed');
});

Flags('--since ages convert to seconds', () => {
  assert.equal(['30s', '10m', '2h', '1d'].map(parseSince), [30, 600, 7200, 86_400]);
  assert.instance(
    thrown(() => parseSince('0m')),
    UsageError,
  );
});

Flags.run();

// ---------------------------------------------------------------------------------------

const RECORD: DeploymentRecord = {
  env: 'local',
  target: 'local',
  image: 'sha256:new',
  fingerprint: 'f'.repeat(64),
  url: 'http://127.0.0.1:8080/',
  deployed_at: '2026-12-02T10:00:00.000Z',
};

const upServer = (name: string, status = 'UP'): ServerState =>
  ({
    name,
    status,
    checkStatus: status === 'UP' ? 'L7OK' : 'L4CON',
    checkCode: '',
    lastCheck: 'Connection refused',
  }) as ServerState;

const healthy = (name: string, image = RECORD.image) =>
  instanceStatus(
    { name, fingerprint: 'f', imageId: image, settings: '', running: true, address: '10.0.0.2' },
    [upServer(name)],
    true,
  );

const fleet = (overrides: Partial<TargetStatus> = {}): TargetStatus => ({
  image: { id: RECORD.image, exists: true },
  instances: [healthy('a'), healthy('b')],
  loadBalancer: { name: 'demo-local-lb', state: 'running', up: true },
  desired: 2,
  ...overrides,
});

const Drift = suite('drift from the deployment record');

Drift('none when every desired instance serves the deployed image and the URL answers', () => {
  assert.equal(findDrift(RECORD, fleet(), { url: 'u', result: '200', ok: true }), []);
});

Drift('a stopped instance, a DOWN one with its check, another image: one line each, and the count', () => {
  const stopped = instanceStatus(
    { name: 'a', fingerprint: 'f', imageId: RECORD.image, settings: '', running: false, address: '10.0.0.2' },
    [upServer('a', 'DOWN')],
    true,
  );
  const down = instanceStatus(
    { name: 'b', fingerprint: 'f', imageId: RECORD.image, settings: '', running: true, address: '10.0.0.3' },
    [upServer('b', 'DOWN')],
    true,
  );
  const drift = findDrift(RECORD, fleet({ instances: [stopped, down, healthy('c', 'sha256:old')] }), undefined);
  assert.equal(drift, [
    'instance a is stopped',
    'instance b is DOWN in the load balancer: b is DOWN, last check L4CON: Connection refused',
    'instance c runs image sha256:old, not the deployed sha256:new',
    '0 of 2 desired instance(s) serve the deployed image',
  ]);
});

Drift('a load balancer that is down, and a URL that does not answer', () => {
  const lbDown = fleet({ loadBalancer: { name: 'demo-local-lb', state: 'exited', up: false } });
  lbDown.instances = lbDown.instances.map((instance) => ({ ...instance, healthy: false, health: 'unknown' }));
  assert.equal(findDrift(RECORD, lbDown, { url: 'http://127.0.0.1:8080/health', result: 'ECONNREFUSED', ok: false }), [
    'load balancer demo-local-lb is exited',
    '0 of 2 desired instance(s) serve the deployed image',
    'http://127.0.0.1:8080/health answers ECONNREFUSED, not 200',
  ]);
});

Drift('without a record: nothing running is as deployed, instances running are drift', () => {
  assert.equal(findDrift(undefined, fleet({ instances: [] }), undefined), []);
  assert.equal(findDrift(undefined, fleet(), undefined).length, 1);
});

Drift('journalctl reads the unit, by age or by count, following when asked', () => {
  assert.equal(journalArgs('demo', { lines: 100, follow: false }), [
    '--unit',
    'demo.service',
    '--no-pager',
    '--output',
    'short-iso',
    '--lines',
    '100',
  ]);
  assert.equal(journalArgs('demo', { lines: 100, follow: true, sinceSeconds: 600 }).slice(5), [
    '--since=-600s',
    '--follow',
  ]);
});

Drift.run();

// ---------------------------------------------------------------------------------------

const entry = (overrides: Partial<HistoryEntry>): HistoryEntry => ({
  command: 'deploy',
  env: 'local',
  target: 'local',
  started_at: '2026-12-02T10:00:00.000Z',
  seconds: 10,
  who: 'ops@laptop',
  outcome: 'succeeded',
  exit_code: 0,
  ...overrides,
});

const HISTORY = [
  entry({ image: 'sha256:a' }),
  entry({ image: 'sha256:b' }),
  entry({ image: 'sha256:x', outcome: 'failed', exit_code: 1, error: 'verify timed out' }),
  entry({ command: 'destroy' }),
  entry({ image: 'sha256:c', git_revision: '0a1b2c' }),
];

const Rollback = suite<{ dir: string }>('rollback');

Rollback.before.each(async (context) => {
  context.dir = await mkdtemp(join(tmpdir(), 'bakery-rollback-'));
});

Rollback.after.each(async (context) => {
  await rm(context.dir, { recursive: true, force: true });
});

Rollback('in service: this machine’s record, unless another machine released since it was written', () => {
  const at = (image: string, started_at: string) => entry({ image, started_at });
  const shared = [at('sha256:a', '2026-12-03T09:00:00.000Z'), at('sha256:ci', '2026-12-03T11:00:00.000Z')];
  assert.is(inServiceImage(shared, { image: 'sha256:a', deployed_at: '2026-12-03T09:01:00.000Z' }), 'sha256:ci');
  assert.is(inServiceImage(shared, { image: 'sha256:ci', deployed_at: '2026-12-03T11:02:00.000Z' }), 'sha256:ci');
  assert.is(
    inServiceImage(shared.slice(0, 1), { image: 'sha256:a', deployed_at: '2026-12-03T09:01:00.000Z' }),
    'sha256:a',
  );
  assert.is(inServiceImage(shared, undefined), 'sha256:ci');
});

Rollback('goes back N successful releases from the one in service, skipping failures', () => {
  assert.is(chooseRollback(HISTORY, 'sha256:c', 1, 'local').image, 'sha256:b');
  assert.is(chooseRollback(HISTORY, 'sha256:c', 2, 'local').image, 'sha256:a');
  // After a rollback to b, the release before it is c (the newest other release).
  const after = [...HISTORY, entry({ command: 'rollback', image: 'sha256:b' })];
  assert.is(chooseRollback(after, 'sha256:b', 1, 'local').image, 'sha256:c');
  // Without a record, the newest release counts as in service.
  assert.is(chooseRollback(HISTORY, undefined, 1, 'local').image, 'sha256:b');
});

Rollback('with no release that far back it is bad input naming how many there are', () => {
  const error = thrown(() => chooseRollback(HISTORY, 'sha256:c', 3, 'local'));
  assert.instance(error, InputError);
  assert.is(exitCodeOf(error), EXIT.badInput);
  assert.is((error as Error).message, '--rollback=3: local has only 2 earlier release(s) to go back to');
  assert.match((thrown(() => chooseRollback([], undefined, 1, 'local')) as Error).message, 'no earlier release');
});

Rollback('an image that was pruned is refused with exit 2, naming the image and the release', async ({ dir }) => {
  for (const line of HISTORY) await appendHistory(dir, line);
  await writeDeploymentRecord(dir, { ...RECORD, image: 'sha256:c' });
  const store = {
    resolve: async (_io: unknown, id: string) => {
      if (id === 'sha256:b') throw new UsageError(`--image "${id}": no such Docker image`);
      return { id, fingerprint: 'f' };
    },
  } as unknown as ImageStore;
  const error = await resolveRollbackImage(
    recordingIO(),
    store,
    { history: localHistory(dir), stateDir: dir },
    1,
    'local',
  ).catch((e: unknown) => e);
  assert.instance(error, InputError);
  assert.is(exitCodeOf(error), EXIT.badInput);
  assert.match(
    (error as Error).message,
    /^--rollback: the image sha256:b of the release of 2026-12-02T10:00:00.000Z no longer exists/,
  );
  assert.equal(
    (await resolveRollbackImage(recordingIO(), store, { history: localHistory(dir), stateDir: dir }, 2, 'local')).id,
    'sha256:a',
  );
});

Rollback('the history table lists the newest first, with outcome, exit code and first error line', () => {
  const rows = formatHistory(newestEntries(HISTORY, 3), '.deploy/local/history.jsonl');
  assert.is(rows.length, 4);
  assert.match(rows[0] as string, /^STARTED\s+COMMAND\s+OUTCOME\s+EXIT\s+SECONDS\s+IMAGE\s+GIT\s+WHO\s+ERROR$/);
  assert.match(rows[1] as string, /deploy\s+succeeded\s+0\s+10\s+c\s+0a1b2c\s+ops@laptop$/);
  assert.match(rows[2] as string, /destroy\s+succeeded/);
  assert.match(rows[3] as string, /deploy\s+failed\s+1\s+10\s+x\s+-\s+ops@laptop\s+verify timed out$/);
  assert.equal(formatHistory([], '.deploy/local/history.jsonl'), [
    'no deploys recorded yet in .deploy/local/history.jsonl',
  ]);
});

Rollback.run();
