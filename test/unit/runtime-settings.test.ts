import { existsSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { stringify } from 'yaml';
import { parseConfig, selectEnvironment } from '../../pipeline/config/load.ts';
import { resolveRuntimeSettings } from '../../pipeline/config/runtime-settings.ts';
import { ConfigError, type ConfigIssue } from '../../pipeline/errors.ts';
import { envFileText, settingsDigest, settingsKeyPath } from '../../pipeline/targets/local/settings.ts';
import { makeTempDir, removeDir } from '../support/files.ts';
import { suite } from '../support/suite.ts';
import { thrownBy } from '../support/fakes.ts';

type Service = Record<string, unknown>;

function config(local: Service, staging: Service = {}, shared?: Service): string {
  return stringify({
    app: 'shop',
    ...(shared ? { service: shared } : {}),
    environments: {
      local: { target: 'local', service: local },
      staging: { target: 'aws', aws: { region: 'eu-west-1' }, service: staging },
    },
  });
}

function issuesOf(text: string): ConfigIssue[] {
  return thrownBy(ConfigError, () => parseConfig(text, 'deploy.yaml')).issues;
}

const Schema = suite('service.env and service.secrets in deploy.yaml');

Schema('are per environment: the top-level service takes neither', () => {
  const issues = issuesOf(config({}, {}, { env: { GREETING: 'hi' } }));
  assert.equal(
    issues.map((i) => i.path),
    ['service.env'],
  );
});

Schema('a bad name, a name bakery sets, a name in both: each named with its path', () => {
  const issues = issuesOf(config({ env: { '1X': 'a', APP_PORT: '1', SHARED: 'x' }, secrets: { SHARED: 'env:Y' } })).map(
    (i) => `${i.path}: ${i.message}`,
  );
  assert.ok(
    issues.some((i) => i.startsWith('environments.local.service.env.1X: name "1X" is not allowed')),
    String(issues),
  );
});

Schema('names bakery sets and a name in both are refused once the names are valid', () => {
  const issues = issuesOf(config({ env: { APP_PORT: '1', SHARED: 'x' }, secrets: { SHARED: 'env:Y' } })).map(
    (i) => `${i.path}: ${i.message}`,
  );
  assert.ok(issues.some((i) => i.startsWith('environments.local.service.env.APP_PORT: "APP_PORT" is set by bakery')));
  assert.ok(
    issues.some((i) => i.startsWith('environments.local.service.secrets.SHARED: "SHARED" is also in service.env')),
  );
});

Schema('references are checked by target: env:/file: locally, an SSM parameter name on aws', () => {
  const issues = issuesOf(
    config({ secrets: { A: '/shop/prod/a' } }, { secrets: { B: 'env:B', C: '/aws/reserved' } }),
  ).map((i) => i.path);
  assert.equal(issues.sort(), [
    'environments.local.service.secrets.A',
    'environments.staging.service.secrets.B',
    'environments.staging.service.secrets.C',
  ]);
  const ok = parseConfig(
    config({ secrets: { A: 'env:A', F: 'file:key.txt' } }, { secrets: { B: '/shop/b', C: 'plain' } }),
  );
  assert.equal(selectEnvironment(ok, 'staging').service.secrets, { B: '/shop/b', C: 'plain' });
});

const Resolve = suite('resolveRuntimeSettings', { dir: '' });

Resolve.before.each((context) => {
  context.dir = makeTempDir('bakery-settings-');
});
Resolve.after.each((context) => removeDir(context.dir));

Resolve(
  'local: env as written, secrets from the runner environment and from a file (one trailing newline dropped)',
  ({ dir }) => {
    const file = join(dir, 'deploy.yaml');
    writeFileSync(join(dir, 'token.txt'), 's3cr3t-from-file\n');
    const env = selectEnvironment(
      parseConfig(
        config({ env: { GREETING: 'hello' }, secrets: { API_KEY: 'env:SHOP_KEY', TOKEN: 'file:token.txt' } }),
        file,
      ),
      'local',
    );
    const settings = resolveRuntimeSettings(env, file, { SHOP_KEY: 'k3y-from-env' });
    assert.equal(settings.variables, { GREETING: 'hello', API_KEY: 'k3y-from-env', TOKEN: 's3cr3t-from-file' });
    assert.equal(settings.secretValues.sort(), ['k3y-from-env', 's3cr3t-from-file']);
  },
);

Resolve(
  'local: an unset variable and a missing file are exit-2 input errors naming key and reference, never a value',
  ({ dir }) => {
    const file = join(dir, 'deploy.yaml');
    const env = selectEnvironment(
      parseConfig(config({ secrets: { API_KEY: 'env:SHOP_KEY', TOKEN: 'file:missing.txt' } }), file),
      'local',
    );
    const error = thrownBy(ConfigError, () => resolveRuntimeSettings(env, file, { OTHER: 'not-this-one' }));
    const lines = error.details.join('\n');
    assert.match(lines, 'environments.local.service.secrets.API_KEY: "env:SHOP_KEY": the variable SHOP_KEY is not set');
    assert.match(
      lines,
      `environments.local.service.secrets.TOKEN: "file:missing.txt": ${join(dir, 'missing.txt')} does not exist`,
    );
    assert.not.match(lines, 'not-this-one');
  },
);

Resolve('aws: secrets stay references, bakery never reads a value', ({ dir }) => {
  const file = join(dir, 'deploy.yaml');
  const env = selectEnvironment(
    parseConfig(config({}, { env: { A: 'b' }, secrets: { KEY: '/shop/key' } }), file),
    'staging',
  );
  assert.equal(resolveRuntimeSettings(env, file, {}), {
    variables: { A: 'b' },
    secretValues: [],
    secretReferences: { KEY: '/shop/key' },
  });
});

const Local = suite('local settings delivery', { dir: '' });

Local.before.each((context) => {
  context.dir = makeTempDir('bakery-settings-key-');
});
Local.after.each((context) => removeDir(context.dir));

Local('the EnvironmentFile quotes every value; quotes and backslashes are escaped', () => {
  assert.is(envFileText({}), '');
  assert.is(envFileText({ A: 'plain', B: 'say "hi" \\ $HOME %n' }), 'A="plain"\nB="say \\"hi\\" \\\\ $HOME %n"\n');
});

Local(
  'the digest: none without settings, stable for the same settings in any order, new when one changes',
  async ({ dir }) => {
    const none = await settingsDigest(dir, { variables: {}, secretValues: [] }, { create: true });
    assert.is(none, '');
    assert.not.ok(existsSync(settingsKeyPath(dir)), 'no settings need no key');

    const dry = await settingsDigest(dir, { variables: { A: '1' }, secretValues: [] }, { create: false });
    assert.not.ok(existsSync(settingsKeyPath(dir)), 'a dry run writes no key');
    const first = await settingsDigest(dir, { variables: { A: '1', B: '2' }, secretValues: [] }, { create: true });
    assert.is.not(first, dry);
    assert.is(statSync(settingsKeyPath(dir)).mode & 0o777, 0o600);
    const again = await settingsDigest(dir, { variables: { B: '2', A: '1' }, secretValues: [] }, { create: true });
    assert.is(again, first);
    const changed = await settingsDigest(dir, { variables: { A: '1', B: '3' }, secretValues: [] }, { create: true });
    assert.is.not(changed, first);
    assert.not.match(first, /^[12]$/);
  },
);

Local('the digest is keyed: another environment key gives another digest for the same settings', async ({ dir }) => {
  const other = makeTempDir('bakery-settings-key-');
  try {
    const settings = { variables: { PIN: '1234' }, secretValues: ['1234'] };
    assert.is.not(
      await settingsDigest(dir, settings, { create: true }),
      await settingsDigest(other, settings, { create: true }),
    );
  } finally {
    removeDir(other);
  }
});

Schema.run();
Resolve.run();
Local.run();
