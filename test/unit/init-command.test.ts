import { cpSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { parseConfig } from '../../pipeline/config/load.ts';
import { StringSink } from '../support/fakes.ts';
import { REPO_ROOT, makeTempDir, removeDir } from '../support/files.ts';
import { suite } from '../support/suite.ts';

// init-command.ts reaches execa through session.ts: loaded with import() (see process.test.ts).
const pipeline = {} as { init: typeof import('../../pipeline/cli/init-command.ts') };

interface Context {
  dir: string;
  file: string;
  out: StringSink;
  err: StringSink;
}

const init = suite<Context>('init writes deploy.yaml once, says why, and refuses bad input');
init.before(async () => {
  pipeline.init ??= await import('../../pipeline/cli/init-command.ts');
});
init.before.each((context) => {
  context.dir = join(makeTempDir('bakery-init-'), 'shop');
  cpSync(join(REPO_ROOT, 'test', 'fixtures', 'init-flask'), context.dir, { recursive: true });
  context.file = join(context.dir, 'deploy.yaml');
  context.out = new StringSink();
  context.err = new StringSink();
});
init.after.each(({ dir }) => removeDir(join(dir, '..')));

const run = (context: Context, argv: string[]) =>
  pipeline.init.initCommand(['--config', context.file, ...argv], {
    out: context.out,
    err: context.err,
    stdinIsTTY: false,
    env: {},
  });

init('writes a file the loader accepts and prints one line per guess', async (context) => {
  assert.is(await run(context, []), 0, context.err.text);
  const config = parseConfig(readFileSync(context.file, 'utf8'), context.file);
  assert.is(config.app, 'shop');
  assert.is(config.environments.local?.service.entrypoint, 'app:app');
  assert.equal(context.out.text.split('\n'), [
    "guessed app: shop (from the directory's name, shop)",
    'guessed service.entrypoint: app:app (Procfile web: runs gunicorn app:app)',
    'guessed service.interface: wsgi (Procfile web: gunicorn serves WSGI; bakery serves it with Waitress)',
    'guessed service.requirements: requirements.txt (requirements.txt is there)',
    'guessed service.health_path: /healthz (app.py has the route /healthz)',
    `wrote ${context.file}: check the guesses, then deploy it with: bakery deploy`,
    '',
  ]);
  assert.is(context.err.text, '');
  // Each guess's reason is in the file too, above its key.
  assert.match(readFileSync(context.file, 'utf8'), '  # app.py has the route /healthz\n  health_path: /healthz\n');
});

init('never overwrites a file: exit 2 naming it, the file untouched', async (context) => {
  writeFileSync(context.file, 'mine\n');
  assert.is(await run(context, []), 2);
  assert.match(context.err.text, `error: ${context.file} already exists: init never overwrites a file`);
  assert.is(readFileSync(context.file, 'utf8'), 'mine\n');
  assert.is(context.out.text, '');
});

init('--json prints the guesses as one object; --verbose adds what was not found', async (context) => {
  assert.is(await run(context, ['--json']), 0, context.err.text);
  const printed = JSON.parse(context.out.text) as {
    file: string;
    guesses: { key: string; value: unknown; why: string }[];
    not_found: string[];
  };
  assert.is(printed.file, context.file);
  assert.equal(
    printed.guesses.map((entry) => entry.key),
    ['app', 'service.entrypoint', 'service.interface', 'service.requirements', 'service.health_path'],
  );
  assert.ok(printed.not_found.includes('no manage.py: not a Django project'));

  removeDir(context.file);
  context.out.text = '';
  assert.is(await run(context, ['--verbose']), 0, context.err.text);
  assert.match(context.out.text, 'not found: Procfile has no release: line\n');
});

init('--app, --port and --base-image go into the file; a bad one is exit 2 naming the flag', async (context) => {
  assert.is(await run(context, ['--app', 'Shop!']), 2);
  assert.match(context.err.text, 'error: --app: "Shop!" is not allowed: expected a DNS-safe name');
  assert.is(await run(context, ['--port', '99999']), 2);
  assert.match(context.err.text, 'error: --port: 99999 is out of range: expected 1 to 65535');
  assert.is(await run(context, ['--port', 'eighty']), 2);
  assert.match(context.err.text, 'error: --port "eighty" is not allowed: expected a whole number from 1 to 65535');
  assert.is(await run(context, ['--base-image', 'Debian Bookworm']), 2);
  assert.match(context.err.text, 'error: --base-image: "Debian Bookworm" is not allowed');
  assert.not.ok(existsSync(context.file), 'nothing was written');

  assert.is(await run(context, ['--app', 'web', '--port', '19401', '--base-image', 'bakery-base:bookworm']), 0);
  const env = parseConfig(readFileSync(context.file, 'utf8'), context.file).environments.local;
  assert.is(env?.app, 'web');
  assert.equal(env?.target === 'local' ? env.local : undefined, { port: 19401, base_image: 'bakery-base:bookworm' });
});

init('takes no environment name; a directory without an app writes nothing', async (context) => {
  assert.is(await run(context, ['staging']), 2);
  assert.match(context.err.text, 'error: init takes no arguments, got: staging');
  const empty = makeTempDir('bakery-init-empty-');
  try {
    const file = join(empty, 'deploy.yaml');
    const code = await pipeline.init.initCommand(['--config', file], {
      out: context.out,
      err: context.err,
      stdinIsTTY: false,
      env: {},
    });
    assert.is(code, 2);
    assert.match(context.err.text, `error: no Python web app found in ${empty}`);
    assert.not.ok(existsSync(file));
  } finally {
    removeDir(empty);
  }
});

init('--no-container is a note, not an error', async (context) => {
  assert.is(await run(context, ['--no-container']), 0, context.err.text);
  assert.is(
    context.err.text,
    "note: --no-container does not apply to init: init only reads the app's files; no tool runs; ignored\n",
  );
  assert.ok(existsSync(context.file));
});

init.run();
