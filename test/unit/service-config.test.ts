import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { parseConfig } from '../../pipeline/config/load.ts';
import { bundledService } from '../../pipeline/config/service.ts';
import { ConfigError } from '../../pipeline/errors.ts';
import { thrownBy } from '../support/fakes.ts';
import { makeTempDir, removeDir } from '../support/files.ts';
import { suite } from '../support/suite.ts';

interface Context {
  dir: string;
}

const Service = suite<Context>('service: where the app comes from, and how it is served', { dir: '' });

Service.before.each((context) => {
  context.dir = makeTempDir('bakery-service-config-');
  mkdirSync(join(context.dir, 'shop'));
  writeFileSync(join(context.dir, 'shop', 'requirements.txt'), 'tiny==1.0\n');
});
Service.after.each((context) => removeDir(context.dir));

function load(context: Context, text: string) {
  return parseConfig(text, join(context.dir, 'deploy.yaml'));
}

function issuesOf(context: Context, text: string): string[] {
  return thrownBy(ConfigError, () => load(context, text)).details;
}

const ENVS = 'environments:\n  local:\n    target: local\n';

Service('no service.source deploys the bundled demo, as today', (context) => {
  const config = load(context, `app: shop\n${ENVS}`);
  assert.equal(config.environments.local?.service, bundledService());
});

Service('a top-level directory source is resolved against deploy.yaml and shared by the environments', (context) => {
  const config = load(
    context,
    `app: shop\nservice:\n  source: ./shop\n  entrypoint: shop.wsgi:application\n  requirements: requirements.txt\n  packages: [libpq5]\n  index_url: http://127.0.0.1:1/simple\n${ENVS}`,
  );
  const service = config.environments.local?.service;
  assert.equal(service?.source, { kind: 'directory', path: join(context.dir, 'shop'), key: 'service.source' });
  assert.is(service?.entrypoint, 'shop.wsgi:application');
  assert.is(service?.interface, 'wsgi');
  assert.is(service?.requirements, 'requirements.txt');
  assert.equal(service?.packages, ['libpq5']);
  assert.is(service?.index_url, 'http://127.0.0.1:1/simple');
  assert.is(service?.port, 8080);
});

Service('an environment overrides the top-level service key by key', (context) => {
  const config = load(
    context,
    `app: shop\nservice: { source: ./shop, entrypoint: "shop:create()", port: 9000 }\n${ENVS}    service: { interface: asgi, entrypoint: "shop.asgi:app" }\n`,
  );
  const service = config.environments.local?.service;
  assert.is(service?.entrypoint, 'shop.asgi:app');
  assert.is(service?.interface, 'asgi');
  assert.is(service?.port, 9000);
});

Service('a git source keeps its URL and ref for the bake', (context) => {
  const config = load(
    context,
    `app: shop\nservice: { source: { git: "file:///srv/shop.git", ref: v1.4.2 }, entrypoint: "shop:app" }\n${ENVS}`,
  );
  assert.equal(config.environments.local?.service.source, {
    kind: 'git',
    url: 'file:///srv/shop.git',
    ref: 'v1.4.2',
    key: 'service.source',
  });
});

Service('a missing source directory names the key and the value', (context) => {
  const issues = issuesOf(context, `app: shop\nservice: { source: ./nowhere, entrypoint: "app:app" }\n${ENVS}`);
  assert.equal(issues.length, 1);
  assert.match(issues[0] ?? '', /^service\.source: "\.\/nowhere" is not a directory/);
});

Service('an entrypoint that is not module:attr is rejected with the allowed forms', (context) => {
  for (const bad of ['shop', 'shop:', 'shop:create(x)', 'shop/wsgi:app']) {
    const issues = issuesOf(context, `app: shop\n${ENVS}    service: { source: ./shop, entrypoint: "${bad}" }\n`);
    assert.match(
      issues.join('\n'),
      `environments.local.service.entrypoint: "${bad}" is not allowed: expected module:attribute`,
    );
  }
});

Service('a source without an entrypoint says the entrypoint is required', (context) => {
  const issues = issuesOf(context, `app: shop\nservice: { source: ./shop }\n${ENVS}`);
  assert.match(issues.join('\n'), /service\.entrypoint: is required when service\.source is set/);
});

Service('a requirements file that is not in the source names the key and the path', (context) => {
  const issues = issuesOf(
    context,
    `app: shop\nservice: { source: ./shop, entrypoint: "shop:app", requirements: reqs/prod.txt }\n${ENVS}`,
  );
  assert.match(issues.join('\n'), /service\.requirements: "reqs\/prod\.txt" is not a file in the source/);
});

Service('an unknown interface lists the allowed ones', (context) => {
  const issues = issuesOf(
    context,
    `app: shop\nservice: { source: ./shop, entrypoint: "shop:app", interface: rsgi }\n${ENVS}`,
  );
  assert.match(issues.join('\n'), /service\.interface: "rsgi" is not allowed: expected one of wsgi, asgi/);
});

Service.run();
