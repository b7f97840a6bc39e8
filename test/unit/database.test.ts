import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { stringify } from 'yaml';
import { parseConfig } from '../../pipeline/config/load.ts';
import type { LocalEnvironment } from '../../pipeline/config/schema.ts';
import { ConfigError, DeployError, type ConfigIssue } from '../../pipeline/errors.ts';
import { findDrift } from '../../pipeline/operate/drift.ts';
import { formatDatabase } from '../../pipeline/operate/format.ts';
import type { TargetStatus } from '../../pipeline/operate/observed.ts';
import { Redactor, MASK } from '../../pipeline/process/redact.ts';
import { addDatabaseSecret, resolveDatabaseSecret } from '../../pipeline/targets/database-url.ts';
import type { RunContext, StageIO } from '../../pipeline/context.ts';
import { destroyStages } from '../../pipeline/stages/destroy-stages.ts';
import { runStages } from '../../pipeline/stages/run-stages.ts';
import type { AnyTarget } from '../../pipeline/targets/target.ts';
import {
  backupDatabase,
  backupFileName,
  databaseBuildCommand,
  databaseCreateCommand,
  passwordSql,
} from '../../pipeline/targets/local/database.ts';
import {
  credentialsPath,
  databaseUrl,
  initFileText,
  loadCredentials,
  newCredentials,
} from '../../pipeline/targets/local/database-credentials.ts';
import { localNames } from '../../pipeline/targets/local/names.ts';
import { makeTempDir, removeDir, runCli } from '../support/files.ts';
import { RecordingReporter, thrownBy } from '../support/fakes.ts';
import { suite } from '../support/suite.ts';

type Data = Record<string, unknown>;

function config(localDatabase: Data | undefined, awsDatabase?: Data, localService?: Data): string {
  return stringify({
    app: 'shop',
    environments: {
      local: {
        target: 'local',
        ...(localDatabase ? { database: localDatabase } : {}),
        ...(localService ? { service: localService } : {}),
      },
      prod: { target: 'aws', aws: { region: 'eu-west-1' }, ...(awsDatabase ? { database: awsDatabase } : {}) },
    },
  });
}

function issuesOf(text: string): ConfigIssue[] {
  return thrownBy(ConfigError, () => parseConfig(text)).issues;
}

const schema = suite('environments.NAME.database in deploy.yaml');

schema('a local database is the engine alone; an aws one gets the RDS defaults', () => {
  const parsed = parseConfig(config({ engine: 'postgres' }, { engine: 'postgres', storage_gb: 50 }));
  assert.equal(parsed.environments.local?.database, { engine: 'postgres' });
  assert.equal(parsed.environments.prod?.database, {
    engine: 'postgres',
    instance_class: 'db.t4g.micro',
    storage_gb: 50,
    multi_az: false,
    backup_retention_days: 7,
  });
});

schema('no database key means no database', () => {
  assert.is(parseConfig(config(undefined)).environments.local?.database, undefined);
});

schema('an engine other than postgres is rejected naming the value and what is allowed', () => {
  const [issue] = issuesOf(config({ engine: 'mysql' }));
  assert.is(issue?.path, 'environments.local.database.engine');
  assert.match(issue?.message ?? '', /"mysql" is not allowed: expected one of postgres/);
});

schema('each aws-only key on a local environment is rejected naming the key', () => {
  const issues = issuesOf(
    config({
      engine: 'postgres',
      instance_class: 'db.t4g.micro',
      storage_gb: 20,
      multi_az: true,
      backup_retention_days: 3,
    }),
  );
  assert.equal(
    issues.map((issue) => issue.path),
    [
      'environments.local.database.instance_class',
      'environments.local.database.storage_gb',
      'environments.local.database.multi_az',
      'environments.local.database.backup_retention_days',
    ],
  );
  assert.match(issues[0]?.message ?? '', /applies to target "aws" only/);
});

schema('RDS limits: storage 20 GiB and up, retention 1 to 35 days, multi_az a boolean', () => {
  const issues = issuesOf(
    config(undefined, { engine: 'postgres', storage_gb: 10, backup_retention_days: 36, multi_az: 'yes' }),
  );
  const byPath = Object.fromEntries(issues.map((issue) => [issue.path, issue.message]));
  assert.match(byPath['environments.prod.database.storage_gb'] ?? '', /10 is out of range: expected 20 to 65536/);
  assert.match(
    byPath['environments.prod.database.backup_retention_days'] ?? '',
    /36 is out of range: expected 1 to 35/,
  );
  assert.match(byPath['environments.prod.database.multi_az'] ?? '', /"yes" is not allowed: expected true or false/);
});

schema('DATABASE_URL under service.env or service.secrets beside a database is rejected naming it', () => {
  for (const kind of ['env', 'secrets'] as const) {
    const value = kind === 'env' ? 'postgres://x' : 'env:DATABASE_URL';
    const [issue] = issuesOf(config({ engine: 'postgres' }, undefined, { [kind]: { DATABASE_URL: value } }));
    assert.is(issue?.path, `environments.local.service.${kind}.DATABASE_URL`);
    assert.match(issue?.message ?? '', /is set by bakery from environments\.local\.database/);
  }
});

schema('DATABASE_URL of your own is fine without a database key', () => {
  const parsed = parseConfig(config(undefined, undefined, { env: { DATABASE_URL: 'postgres://elsewhere/db' } }));
  assert.is(parsed.environments.local?.service.env.DATABASE_URL, 'postgres://elsewhere/db');
});

schema.run();

const cli = suite('./deploy.ts with a bad database key');

cli('exits 2 naming the key before anything starts', async () => {
  const dir = makeTempDir();
  try {
    const file = join(dir, 'deploy.yaml');
    writeFileSync(file, config({ engine: 'postgres', multi_az: true }));
    const result = await runCli('deploy.ts', ['local', '--config', file]);
    assert.is(result.code, 2, result.stderr);
    assert.match(result.stderr, /environments\.local\.database\.multi_az/);
  } finally {
    removeDir(dir);
  }
});

cli.run();

const credentials = suite('the local database credentials');

credentials('are made once, 0600, and read back the same', async () => {
  const dir = makeTempDir();
  try {
    assert.is(await loadCredentials(dir, 'my-shop', { create: false }), undefined, 'a dry run makes none');
    const made = await loadCredentials(dir, 'my-shop', { create: true });
    assert.ok(made);
    assert.is(made.user, 'my_shop');
    assert.is(made.database, 'my_shop');
    assert.match(made.password, /^[0-9a-f]{64}$/);
    assert.is(statSync(credentialsPath(dir)).mode & 0o777, 0o600);
    assert.equal(await loadCredentials(dir, 'my-shop', { create: true }), made, 'the second deploy reads the first');
  } finally {
    removeDir(dir);
  }
});

credentials('a damaged file is a typed error that names it, never a new password', async () => {
  const dir = makeTempDir();
  try {
    writeFileSync(credentialsPath(dir), '{"user": "x\'; DROP", "password": "p", "database": "d"}');
    const error = await loadCredentials(dir, 'shop', { create: true }).catch((caught: unknown) => caught);
    assert.instance(error, DeployError);
    assert.match((error as Error).message, /database\.json are damaged/);
    assert.is(readFileSync(credentialsPath(dir), 'utf8').includes('DROP'), true, 'left as it was');
  } finally {
    removeDir(dir);
  }
});

credentials('DATABASE_URL names the container on the network and reaches the settings as a secret', async () => {
  const dir = makeTempDir();
  try {
    const env = parseConfig(config({ engine: 'postgres' })).environments.local as LocalEnvironment;
    const secret = await resolveDatabaseSecret(env, dir, { create: true });
    assert.ok(secret);
    const made = JSON.parse(readFileSync(credentialsPath(dir), 'utf8')) as { password: string };
    assert.is(secret.url, `postgres://shop:${made.password}@shop-local-db:5432/shop`);
    assert.equal(secret.secretValues, [secret.url, made.password]);
    const settings = addDatabaseSecret({ variables: { A: '1' }, secretValues: ['s3cret'] }, secret);
    assert.equal(settings.variables, { A: '1', DATABASE_URL: secret.url });
    assert.equal(settings.secretValues, ['s3cret', secret.url]);
    const none = parseConfig(config(undefined)).environments.local as LocalEnvironment;
    assert.is(await resolveDatabaseSecret(none, dir, { create: true }), undefined);
  } finally {
    removeDir(dir);
  }
});

credentials('the init file and the SQL hold only checked names and the hex password', () => {
  const made = newCredentials('shop');
  assert.is(initFileText(made), `DB_USER=shop\nDB_NAME=shop\nDB_PASSWORD=${made.password}\n`);
  const sql = passwordSql(made);
  assert.match(sql, `ALTER ROLE "shop" LOGIN PASSWORD '${made.password}';`);
  assert.match(sql, /CREATE DATABASE "shop" OWNER "shop"/);
  assert.is(databaseUrl(made, 'h'), `postgres://shop:${made.password}@h:5432/shop`);
});

credentials('the redactor masks the URL by its name and by its shape', () => {
  const url = `postgres://shop:${'a'.repeat(64)}@shop-local-db:5432/shop`;
  const byName = new Redactor({ DATABASE_URL: url });
  assert.is(byName.redact(`got ${url}`), `got ${MASK}`);
  const byShape = new Redactor({});
  assert.is(byShape.redact(url), `postgres://shop:${MASK}@shop-local-db:5432/shop`);
});

credentials.run();

const containers = suite('the database container and its backups');

const env = parseConfig(config({ engine: 'postgres' })).environments.local as LocalEnvironment;
const scope = { root: '/opt/bakery', env, names: localNames(env, '/p/.deploy/local') };

containers('is created on the network with a named volume, a restart policy, no port and no -e', () => {
  const { args } = databaseCreateCommand(scope, 'bakery/postgres:abc');
  assert.is(args[0], 'create');
  const after = (flag: string) => args[args.indexOf(flag) + 1];
  assert.is(after('--name'), 'shop-local-db');
  assert.is(after('--network'), 'shop-local-net');
  assert.is(after('--restart'), 'unless-stopped');
  assert.is(after('--volume'), 'shop-local-db-data:/var/lib/postgresql/data');
  for (const forbidden of ['-e', '--env', '--env-file', '--publish', '-p'])
    assert.not.ok(args.includes(forbidden), `no ${forbidden}`);
  assert.ok(args.includes('bakery.role=database'));
  assert.is(args.at(-1), 'bakery/postgres:abc');
});

containers('its image is built from the base image with docker/postgres/', () => {
  assert.equal(databaseBuildCommand('/opt/bakery', 'bakery-base:bookworm', 'bakery/postgres:1'), {
    tool: 'docker',
    args: [
      'build',
      '--build-arg',
      'BASE_IMAGE=bakery-base:bookworm',
      '-t',
      'bakery/postgres:1',
      '/opt/bakery/docker/postgres',
    ],
  });
});

containers('a backup is named by its UTC time, without colons', () => {
  assert.is(backupFileName(new Date('2026-12-07T19:42:06.123Z')), '2026-12-07T19-42-06Z.dump');
});

containers('status shows it and drift names a database that does not accept connections', () => {
  const database = {
    name: 'shop-local-db',
    state: 'running',
    accepting: true,
    size_bytes: 7_634_279,
    storage: 'volume v',
  };
  assert.is(formatDatabase(database), 'shop-local-db running, accepting connections, 7.6 MB (volume v)');
  const status: TargetStatus = {
    instances: [],
    loadBalancer: { name: 'lb', state: 'running', up: true },
    desired: 0,
    database: { ...database, state: 'exited', accepting: false },
  };
  const record = { env: 'local', target: 'local', image: 'i', fingerprint: 'f', url: 'u', deployed_at: 'd' };
  assert.ok(
    findDrift(record, status, undefined).includes('database shop-local-db is exited and does not accept connections'),
  );
});

containers.run();

const destroy = suite('destroy and the final backup');

/** A StageIO whose docker answers from `answer`; it records every docker argv. */
function fakeIO(answer: (args: string[]) => { exitCode: number; stdout?: string; stderr?: string }) {
  const calls: string[][] = [];
  const io = {
    stage: 'database-backup',
    signal: new AbortController().signal,
    run: async (spec: { args: string[]; okExitCodes?: number[] }) => {
      calls.push(spec.args);
      const { exitCode, stdout = '', stderr = '' } = answer(spec.args);
      if (exitCode !== 0 && !(spec.okExitCodes ?? []).includes(exitCode))
        throw new DeployError(`docker ${spec.args[0]} exited with ${exitCode}`);
      return { exitCode, stdout, stderr };
    },
    progress: () => {},
    info: () => {},
    warn: () => {},
    note: () => {},
    debug: () => {},
  };
  return { io: io as unknown as StageIO, calls };
}

destroy('a pg_dump that fails is a typed error naming the volume, and nothing is removed', async () => {
  const dir = makeTempDir();
  try {
    const { io, calls } = fakeIO((args) => {
      if (args.includes('pg_dump')) return { exitCode: 1, stderr: 'pg_dump: error: connection failed' };
      if (args[0] === 'inspect' || args[1] === 'inspect')
        return {
          exitCode: 0,
          stdout: args.includes('{{.State.Status}} {{index .Config.Labels "bakery.config-hash"}}') ? 'running x' : 'x',
        };
      if (args.includes('pg_isready')) return { exitCode: 0 };
      return { exitCode: 0 };
    });
    const error = await backupDatabase(io, scope, dir, 'shop', new Date()).catch((caught: unknown) => caught);
    assert.instance(error, DeployError);
    assert.match(
      (error as DeployError).message,
      /the final backup of database shop-local-db failed: pg_dump exited with 1; nothing was removed/,
    );
    assert.match((error as DeployError).details.join('\n'), /pg_dump: error: connection failed/);
    assert.match((error as DeployError).details.join('\n'), /still in volume shop-local-db-data/);
    assert.not.ok(calls.some((args) => args[0] === 'rm' || (args[0] === 'volume' && args[1] === 'rm')));
  } finally {
    removeDir(dir);
  }
});

destroy('no container and no volume: no backup, nothing to do', async () => {
  const { io } = fakeIO(() => ({ exitCode: 1 }));
  assert.is(await backupDatabase(io, scope, '/nonexistent', 'shop', new Date()), undefined);
});

destroy('a failed backup stops destroy before the teardown; --yes changes nothing about it', async () => {
  let tornDown = false;
  const target = {
    name: 'local',
    preflightDestroy: async () => undefined,
    backupDatabase: async () => {
      throw new DeployError('the final backup of database shop-local-db failed');
    },
    teardown: async () => {
      tornDown = true;
      return { removed: [] };
    },
    images: { removeAll: async () => [] },
  } as unknown as AnyTarget;
  const context = { env, stateDir: '/nonexistent' } as unknown as RunContext;
  const outcome = await runStages(
    destroyStages(context, target, { keepImages: false, backupDatabase: true }),
    { removed: [] },
    {
      reporter: new RecordingReporter(),
      dryRun: false,
      signal: new AbortController().signal,
      ioFor: (name) => ({ stage: name, info: () => {} }) as unknown as StageIO,
    },
  );
  assert.instance(outcome.error, DeployError);
  assert.is(tornDown, false, 'nothing was removed');
  assert.equal(
    outcome.summaries.map((summary) => [summary.name, summary.status]),
    [
      ['preflight', 'ok'],
      ['database-backup', 'failed'],
    ],
  );
});

destroy.run();
