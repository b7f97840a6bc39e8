import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { stringify } from 'yaml';
import { destroyCommand } from '../../pipeline/cli/destroy-command.ts';
import { statusCommand } from '../../pipeline/cli/status-command.ts';
import { parseArgs, DESTROY_SPEC } from '../../pipeline/cli/flags.ts';
import { sweepPreviews } from '../../pipeline/cli/preview-sweep.ts';
import type { Streams } from '../../pipeline/cli/session.ts';
import { parseConfig } from '../../pipeline/config/load.ts';
import { previewEnvironmentName, previewName } from '../../pipeline/config/previews.ts';
import { MAX_AWS_STACK_NAME, awsStackName, type AwsEnvironment, type Config } from '../../pipeline/config/schema.ts';
import { ConfigError, UsageError, exitCodeOf } from '../../pipeline/errors.ts';
import {
  forgetPreview,
  listPreviews,
  markSeeded,
  openPreview,
  partitionByAge,
  readPreviewRecord,
  type PreviewRecord,
} from '../../pipeline/operate/previews.ts';
import { stateObject } from '../../pipeline/targets/aws/state-objects.ts';
import { localNames } from '../../pipeline/targets/local/names.ts';
import { StringSink, thrownBy } from '../support/fakes.ts';
import { makeTempDir, removeDir } from '../support/files.ts';
import { suite } from '../support/suite.ts';

type Data = Record<string, unknown>;

function configText(previews: Data, extra: (environments: Record<string, Data>) => void = () => {}): string {
  const environments: Record<string, Data> = {
    local: { target: 'local', local: { port: 8080 }, database: { engine: 'postgres' } },
    qa: { target: 'local', local: { port: 8100 } },
    staging: {
      target: 'aws',
      aws: { region: 'eu-west-1', state: { backend: 's3', bucket: 'tf-state', key: 'shop/staging.tfstate' } },
    },
  };
  extra(environments);
  return stringify({ app: 'shop', environments, previews });
}

const config = (previews: Data, extra?: (environments: Record<string, Data>) => void): Config =>
  parseConfig(configText(previews, extra), '/project/deploy.yaml');

function issuesOf(previews: Data): string[] {
  const error = thrownBy(ConfigError, () => config(previews));
  return error.issues.map((issue) => `${issue.path}: ${issue.message}`);
}

const Names = suite('preview names');

Names('a pull request number becomes pr-N; any other name must be a DNS label', () => {
  assert.is(previewName('12'), 'pr-12');
  assert.is(previewName('pr-12'), 'pr-12');
  assert.is(previewName('feature-login'), 'feature-login');
  for (const bad of ['PR-12', 'pr_12', '-x', 'x-', '', 'a'.repeat(64)]) {
    const error = thrownBy(UsageError, () => previewName(bad));
    assert.is(exitCodeOf(error), 2);
    assert.match(error.message, `--preview ${JSON.stringify(bad)} is not allowed: expected a pull request number`);
  }
});

Names('an environment name keeps APP-NAME within the 32 characters of an aws stack, unique by a hash', () => {
  assert.is(previewEnvironmentName('shop', 'pr-12'), 'pr-12');
  const app = 'a-twenty-char-app-nm';
  const one = previewEnvironmentName(app, 'feature-login-page');
  const two = previewEnvironmentName(app, 'feature-login-form');
  assert.is.not(one, two);
  for (const name of [one, two]) {
    assert.ok(awsStackName(app, name).length <= MAX_AWS_STACK_NAME, `${awsStackName(app, name)} fits`);
    assert.match(name, /^[a-z]([a-z0-9-]*[a-z0-9])?$/);
  }
  assert.is(previewEnvironmentName(app, 'feature-login-page'), one, 'the same name always gives the same one');
  // The longest allowed name with the longest app still fits.
  assert.ok(awsStackName(app, previewEnvironmentName(app, `p${'x'.repeat(62)}`)).length <= MAX_AWS_STACK_NAME);
});

const Template = suite('the previews template in deploy.yaml');

Template('a preview copies its base environment, with the template keys in place of its own', () => {
  const loaded = config({ from: 'local', instances: { desired: 1 }, env: { PREVIEW: '1' }, seed: 'make seed' });
  const template = loaded.previews;
  assert.ok(template);
  assert.equal([template.from, template.ttl_hours, template.seed], ['local', 72, 'make seed']);
  assert.equal(template.local_ports, { first: 8100, last: 8199 });
  const env = template.environment('pr-3', 'pr-3', 8101);
  assert.is(env.name, 'pr-3');
  assert.equal(env.instances, { min: 1, desired: 1, max: 4 });
  assert.equal(env.database, { engine: 'postgres' });
  assert.is(env.service.env.PREVIEW, '1');
  assert.equal(env.preview, { from: 'local', ttl_hours: 72, seed: 'make seed', name: 'pr-3' });
  assert.is(env.target === 'local' && env.local.port, 8101);
  assert.is(loaded.environments.local?.preview, undefined, 'the base stays as it was');
});

Template('an aws preview never shares the stack, the state key or the shared history of its base', () => {
  const template = config({ from: 'staging' }).previews;
  assert.ok(template);
  const base = config({ from: 'staging' }).environments.staging as AwsEnvironment;
  const name = previewEnvironmentName('shop', 'pr-7');
  const env = template.environment(name, 'pr-7', undefined) as AwsEnvironment;
  assert.is.not(awsStackName(env.app, env.name), awsStackName(base.app, base.name));
  assert.is(stateObject(base)?.key, 'shop/staging.tfstate');
  assert.is(stateObject(env)?.key, 'bakery/shop/pr-7/terraform.tfstate');
});

Template('bad templates fail at load with the field, the value and what is allowed', () => {
  assert.equal(issuesOf({ from: 'nowhere' }), [
    'previews.from: "nowhere" is not an environment; defined: local, qa, staging',
  ]);
  assert.equal(issuesOf({ from: 'local', local_ports: { first: 9000, last: 8999 } }), [
    'previews.local_ports: first (9000) must be <= last (8999)',
  ]);
  assert.ok(issuesOf({ from: 'local', ttl_hours: 0 }).some((issue) => issue.startsWith('previews.ttl_hours: 0')));
  assert.ok(issuesOf({ from: 'local', surprise: 1 }).some((issue) => issue.includes('surprise')));
  // A problem of the base environment is reported once, not again for its previews.
  const once = thrownBy(ConfigError, () =>
    config({ from: 'qa' }, (environments) => {
      (environments.qa as Data).instances = { desired: 9, max: 2 };
    }),
  ).issues;
  assert.equal(
    once.map((issue) => issue.path),
    ['environments.qa.instances'],
  );
});

interface Place {
  root: string;
  config: Config;
}

const Records = suite<Place>('previews on this machine', { root: '', config: undefined as unknown as Config });

Records.before.each((context) => {
  context.root = makeTempDir('bakery-previews-');
  // Ports 8100 (qa) and 8102 inside the range belong to environments: previews skip them.
  context.config = parseConfig(
    configText({ from: 'local', seed: 'make seed', local_ports: { first: 8100, last: 8103 } }, (environments) => {
      environments.other = { target: 'local', local: { port: 8102 } };
    }),
    join(context.root, 'deploy.yaml'),
  );
});
Records.after.each((context) => removeDir(context.root));

Records('each preview gets its own port, state and containers, never those of an environment', async (context) => {
  const { root, config: loaded } = context;
  const one = await openPreview(loaded, root, 'pr-1', { create: true });
  const two = await openPreview(loaded, root, '2', { create: true });
  const ports = [one, two].map(({ env }) => (env.target === 'local' ? env.local.port : 0));
  assert.equal(ports, [8101, 8103]);
  const names = [one, two, { env: loaded.environments.local }].map(({ env }) =>
    env?.target === 'local' ? localNames(env, join(root, '.deploy', env.name)) : undefined,
  );
  const all = names.flatMap((n) => (n ? [n.project, n.database, n.databaseVolume, n.lbConfigDir] : []));
  assert.is(new Set(all).size, all.length, `no name is shared: ${all.join(', ')}`);
});

Records('a full port range is bad input that says how to make room', async (context) => {
  const { root, config: loaded } = context;
  await openPreview(loaded, root, 'pr-1', { create: true });
  await openPreview(loaded, root, 'pr-2', { create: true });
  const error = await openPreview(loaded, root, 'pr-3', { create: true }).then(
    () => undefined,
    (caught: unknown) => caught,
  );
  assert.instance(error, UsageError);
  assert.match((error as UsageError).message, 'previews.local_ports 8100-8103 are all taken');
  // Destroying one frees its port for the next.
  await forgetPreview(root, join(root, '.deploy', 'pr-1'));
  const three = await openPreview(loaded, root, 'pr-3', { create: true });
  assert.is(three.env.target === 'local' && three.env.local.port, 8101);
});

Records('a preview keeps its port and record across deploys; the seed is pending until marked', async (context) => {
  const { root, config: loaded } = context;
  const first = await openPreview(loaded, root, 'pr-1', { create: true });
  assert.equal(first.env.service.release, ['make seed']);
  assert.ok(first.env.preview?.seedPending);
  await markSeeded(join(root, '.deploy', 'pr-1'), new Date());
  const again = await openPreview(loaded, root, 'pr-1', { create: true });
  assert.equal(again.env.service.release, []);
  assert.not.ok(again.env.preview?.seedPending);
  assert.is(again.record?.created_at, first.record?.created_at);
  assert.equal(
    (await listPreviews(root)).map((record) => record.name),
    ['pr-1'],
  );
});

Records('a preview cannot take the name of an environment, nor the state of another preview', async (context) => {
  const { root, config: loaded } = context;
  for (const name of ['qa', 'local']) {
    const error = await openPreview(loaded, root, name, { create: true }).catch((caught: unknown) => caught);
    assert.instance(error, UsageError);
    assert.match((error as Error).message, `--preview ${name} is not allowed: `);
  }
  await openPreview(loaded, root, 'pr-1', { create: true });
  const record = join(root, '.deploy', 'pr-1', 'preview.json');
  const text = JSON.parse(await readFile(record, 'utf8')) as PreviewRecord;
  await writeFile(record, JSON.stringify({ ...text, name: 'someone-else' }));
  const error = await openPreview(loaded, root, 'pr-1', { create: true }).catch((caught: unknown) => caught);
  assert.instance(error, UsageError);
  assert.match((error as Error).message, 'belongs to preview someone-else');
});

Records('destroy and status of a preview never deployed create nothing', async (context) => {
  const { root, config: loaded } = context;
  const opened = await openPreview(loaded, root, 'pr-9', { create: false });
  assert.is(opened.record, undefined);
  assert.is(await readPreviewRecord(join(root, '.deploy', 'pr-9')), undefined);
  assert.equal(await listPreviews(root), []);
});

const record = (name: string, hoursOld: number, now: Date): PreviewRecord => ({
  name,
  env: name,
  from: 'local',
  created_at: new Date(now.getTime() - hoursOld * 3_600_000).toISOString(),
});

const Sweep = suite<Place>('the TTL sweep', { root: '', config: undefined as unknown as Config });

Sweep.before.each((context) => {
  context.root = makeTempDir('bakery-sweep-');
});
Sweep.after.each((context) => removeDir(context.root));

function streamsOf(stdinIsTTY = false): Streams & { out: StringSink; err: StringSink } {
  return { out: new StringSink(), err: new StringSink(), stdinIsTTY, env: {} };
}

async function writeRecords(root: string, records: PreviewRecord[]): Promise<void> {
  for (const one of records) {
    const { mkdir } = await import('node:fs/promises');
    await mkdir(join(root, '.deploy', one.env), { recursive: true });
    await writeFile(join(root, '.deploy', one.env, 'preview.json'), JSON.stringify(one));
  }
}

Sweep('only previews older than the TTL are destroyed, each as destroy --preview NAME --yes', async (context) => {
  const now = new Date('2026-12-07T12:00:00Z');
  const file = join(context.root, 'deploy.yaml');
  await writeFile(file, configText({ from: 'local', ttl_hours: 48 }));
  await writeRecords(context.root, [record('pr-1', 100, now), record('pr-2', 47, now), record('pr-3', 49, now)]);
  const calls: string[][] = [];
  const streams = streamsOf();
  const code = await sweepPreviews(
    parseArgs(DESTROY_SPEC, ['--previews', '--config', file, '--keep-images']),
    streams,
    async (argv) => {
      calls.push(argv);
      return 0;
    },
    now,
  );
  assert.is(code, 0);
  assert.equal(calls, [
    ['--preview', 'pr-1', '--yes', '--config', file, '--keep-images'],
    ['--preview', 'pr-3', '--yes', '--config', file, '--keep-images'],
  ]);
  assert.match(streams.err.text, 'kept, not older than 48h (previews.ttl_hours): pr-2 (1d 23h)');
  assert.match(streams.err.text, 'removed 2 stale preview(s): pr-1, pr-3');

  // --older-than wins over the template's TTL; a failed destroy is the sweep's exit code.
  calls.length = 0;
  const failing = await sweepPreviews(
    parseArgs(DESTROY_SPEC, ['--previews', '--older-than', '2d', '--config', file]),
    streamsOf(),
    async (argv) => {
      calls.push(argv);
      return 1;
    },
    now,
  );
  assert.is(failing, 1);
  assert.equal(
    calls.map((argv) => argv[1]),
    ['pr-1', 'pr-3'],
  );
});

Sweep('previews of a target that asks before destroy need --yes without a terminal', async (context) => {
  const now = new Date();
  const file = join(context.root, 'deploy.yaml');
  await writeFile(file, configText({ from: 'staging' }));
  await writeRecords(context.root, [record('pr-1', 100, now)]);
  const error = await sweepPreviews(
    parseArgs(DESTROY_SPEC, ['--previews', '--config', file]),
    streamsOf(),
    async () => 0,
    now,
  ).catch((caught: unknown) => caught);
  assert.instance(error, UsageError);
  assert.match((error as Error).message, 'destroying 1 stale preview(s) needs --yes when stdin is not a terminal');
});

Sweep('flags of the sweep are checked before anything is removed', async (context) => {
  const file = join(context.root, 'deploy.yaml');
  await writeFile(file, configText({ from: 'local' }));
  const cases: Array<[string[], string]> = [
    [['--older-than', '3d'], '--older-than goes with --preview NAME or --previews'],
    [['--previews', '--older-than', '3 days'], '--older-than "3 days" is not allowed'],
    [['--previews', 'local'], '--previews removes every stale preview: leave out ENV and --preview'],
  ];
  for (const [argv, message] of cases) {
    const streams = streamsOf();
    assert.is(await destroyCommand([...argv, '--config', file], streams), 2, argv.join(' '));
    assert.match(streams.err.text, message);
  }
});

Sweep('without a template the sweep and --preview say how to add one', async (context) => {
  const file = join(context.root, 'deploy.yaml');
  await writeFile(file, stringify({ app: 'shop', environments: { local: { target: 'local' } } }));
  const streams = streamsOf();
  assert.is(await destroyCommand(['--previews', '--config', file], streams), 2);
  assert.match(streams.err.text, 'has no previews template');
});

Sweep('status --previews lists each preview with its age, last deploy and URL', async (context) => {
  const now = new Date();
  const file = join(context.root, 'deploy.yaml');
  await writeFile(file, configText({ from: 'local' }));
  await writeRecords(context.root, [record('pr-1', 80, now), record('pr-2', 2, now)]);
  const stateDir = join(context.root, '.deploy', 'pr-1');
  const deployed = { env: 'pr-1', target: 'local', image: 'sha256:1', fingerprint: 'f', deployed_at: 'x' };
  await writeFile(join(stateDir, 'deployment.json'), JSON.stringify({ ...deployed, url: 'http://127.0.0.1:8101/' }));
  const entry = { command: 'deploy', env: 'pr-1', target: 'local', seconds: 1, who: 'me', exit_code: 0 };
  await writeFile(
    join(stateDir, 'history.jsonl'),
    [
      { ...entry, started_at: '2026-12-01T10:00:00.000Z', outcome: 'succeeded' },
      { ...entry, started_at: '2026-12-02T10:00:00.000Z', outcome: 'failed' },
    ]
      .map((line) => JSON.stringify(line))
      .join('\n') + '\n',
  );
  const streams = streamsOf();
  assert.is(await statusCommand(['--previews', '--config', file], streams), 0, streams.err.text);
  assert.equal(streams.out.text.trimEnd().split('\n'), [
    'PREVIEW  AGE    LAST DEPLOY                      URL',
    'pr-1     3d 8h  2026-12-02T10:00:00.000Z failed  http://127.0.0.1:8101/',
    'pr-2     2h 0m  -                                -',
  ]);
  const clash = streamsOf();
  assert.is(await statusCommand(['--previews', '--history', '--config', file], clash), 2);
  assert.match(clash.err.text, '--previews lists every preview: leave out --history');
});

Sweep('partitionByAge counts from the first deploy', () => {
  const now = new Date('2026-12-07T12:00:00Z');
  const { stale, fresh } = partitionByAge([record('a', 73, now), record('b', 71, now)], 72 * 3600, now);
  assert.equal([stale.map((r) => r.name), fresh.map((r) => r.name)], [['a'], ['b']]);
});

Names.run();
Template.run();
Records.run();
Sweep.run();
