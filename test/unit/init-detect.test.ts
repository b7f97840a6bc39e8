import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { computeFingerprint, listBakedFiles } from '../../pipeline/bake/fingerprint.ts';
import { parseConfig } from '../../pipeline/config/load.ts';
import { InputError, UsageError } from '../../pipeline/errors.ts';
import { readAppFiles } from '../../pipeline/init/app-files.ts';
import { appNameFrom, detectApp } from '../../pipeline/init/detect.ts';
import {
  COLLECTSTATIC,
  MIGRATE,
  allowedHostsProblem,
  detectDjango,
  settingsModuleOf,
} from '../../pipeline/init/django.ts';
import { guess, valueOf, type AnyGuess } from '../../pipeline/init/guess.ts';
import { detectHealth, healthRoutes } from '../../pipeline/init/health.ts';
import { detectProcfile, parseProcfile, readWebCommand } from '../../pipeline/init/procfile.ts';
import { findAppObject } from '../../pipeline/init/python-app.ts';
import { renderDeployYaml, scalar } from '../../pipeline/init/render.ts';
import { detectRequirements } from '../../pipeline/init/requirements.ts';
import { FileExistsError, checkDeployYaml, writeNewFile } from '../../pipeline/init/write.ts';
import { thrownBy } from '../support/fakes.ts';
import { REPO_ROOT, makeTempDir, removeDir } from '../support/files.ts';
import { suite } from '../support/suite.ts';

const FIXTURES = join(REPO_ROOT, 'test', 'fixtures');

/** A copy of a fixture (or an empty directory) with extra files written into it. */
function appDir(fixture: string | undefined, files: Record<string, string> = {}): string {
  const dir = join(makeTempDir('bakery-init-'), 'shop');
  if (fixture) cpSync(join(FIXTURES, fixture), dir, { recursive: true });
  mkdirSync(dir, { recursive: true });
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

const keysOf = (guesses: readonly AnyGuess[]) => Object.fromEntries(guesses.map((entry) => [entry.key, entry.value]));

// ---------------------------------------------------------------------------------------

const procfile = suite('the Procfile detector reads web: and release:');

procfile('reads process types, skipping comments and blank lines', () => {
  const processes = parseProcfile('# web: not this\n\nweb: gunicorn a:b\nrelease:  python m.py  \nweb: second\n');
  assert.equal(
    [...processes],
    [
      ['web', 'gunicorn a:b'],
      ['release', 'python m.py'],
    ],
  );
});

procfile('finds the app and the interface of each server', () => {
  const cases: [string, string, string][] = [
    ['gunicorn shop.wsgi:application --workers 3 --bind 0.0.0.0:$PORT', 'shop.wsgi:application', 'wsgi'],
    ['gunicorn -k uvicorn.workers.UvicornWorker api.main:app', 'api.main:app', 'asgi'],
    ['gunicorn --worker-class=uvicorn.workers.UvicornWorker api.main:app', 'api.main:app', 'asgi'],
    ['gunicorn "shop:create_app()"', 'shop:create_app()', 'wsgi'],
    ['uvicorn api.main:app --host 0.0.0.0 --port $PORT', 'api.main:app', 'asgi'],
    ['uvicorn --factory api.main:make_app', 'api.main:make_app()', 'asgi'],
    ['waitress-serve --port=$PORT --call shop:create_app', 'shop:create_app()', 'wsgi'],
    ['hypercorn api:app', 'api:app', 'asgi'],
    ['daphne -b 0.0.0.0 -p $PORT site.asgi:application', 'site.asgi:application', 'asgi'],
    ['WEB_CONCURRENCY=2 exec python -m gunicorn shop:app', 'shop:app', 'wsgi'],
    ['.venv/bin/gunicorn shop:app', 'shop:app', 'wsgi'],
  ];
  for (const [command, entrypoint, served] of cases) {
    const web = readWebCommand(command);
    assert.ok(web, command);
    assert.is(web.entrypoint, entrypoint, command);
    assert.is(web.interface, served, command);
  }
});

procfile('names no app for a command that is not a known server', () => {
  assert.is(readWebCommand('python app.py'), undefined);
  assert.is(readWebCommand('flask run --host 0.0.0.0'), undefined);
  assert.is(readWebCommand('gunicorn --config gunicorn.conf.py'), undefined);
});

procfile('guesses the entrypoint, interface and release command of a fixture', async () => {
  const dir = appDir('init-procfile');
  try {
    const found = await detectProcfile(await readAppFiles(dir));
    assert.equal(keysOf(found.guesses), {
      'service.entrypoint': 'shop.asgi:application',
      'service.interface': 'asgi',
      'service.release': ['python -m shop.migrate --apply'],
    });
    assert.match(found.guesses[0]?.why ?? '', 'Procfile web: runs gunicorn shop.asgi:application');
  } finally {
    removeDir(dir);
  }
});

procfile('says what it missed: no Procfile, or a web: it cannot read', async () => {
  const none = appDir(undefined);
  const other = appDir(undefined, { Procfile: 'web: python app.py\n' });
  try {
    assert.equal(await detectProcfile(await readAppFiles(none)), { guesses: [], missed: ['no Procfile'] });
    const found = await detectProcfile(await readAppFiles(other));
    assert.equal(found.guesses, []);
    assert.match(found.missed[0] as string, 'Procfile web: (python app.py) names no app for gunicorn');
  } finally {
    removeDir(none);
    removeDir(other);
  }
});

procfile.run();

// ---------------------------------------------------------------------------------------

const django = suite('the Django detector reads manage.py, wsgi.py and the settings');

django('reads the settings module from manage.py', () => {
  assert.is(settingsModuleOf('os.environ.setdefault("DJANGO_SETTINGS_MODULE", "notes.settings")'), 'notes.settings');
  assert.is(
    settingsModuleOf("os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'config.settings.prod')"),
    'config.settings.prod',
  );
  assert.is(settingsModuleOf('print("hello")'), undefined);
});

django('guesses entrypoint, collectstatic, the database and migrations for the notes site', async () => {
  const dir = appDir('django-notes');
  try {
    const found = await detectDjango(await readAppFiles(dir));
    assert.equal(keysOf(found.guesses), {
      'service.entrypoint': 'notes.wsgi:application',
      'service.interface': 'wsgi',
      'service.build': [COLLECTSTATIC],
      database: { engine: 'postgres' },
      'service.release': [MIGRATE],
    });
    assert.equal(found.missed, []);
  } finally {
    removeDir(dir);
  }
});

django('reads a settings package; commented-out settings and sqlite ask for nothing', async () => {
  const dir = appDir(undefined, {
    'manage.py': 'os.environ.setdefault("DJANGO_SETTINGS_MODULE", "site_cfg.settings.prod")\n',
    'site_cfg/__init__.py': '',
    'site_cfg/wsgi.py': 'from django.core.wsgi import get_wsgi_application\napplication = get_wsgi_application()\n',
    'site_cfg/settings/__init__.py': '',
    'site_cfg/settings/prod.py':
      '# STATIC_ROOT = BASE_DIR / "static"\n# DATABASE_URL\nDATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3"}}\n',
  });
  try {
    const found = await detectDjango(await readAppFiles(dir));
    assert.equal(keysOf(found.guesses), {
      'service.entrypoint': 'site_cfg.wsgi:application',
      'service.interface': 'wsgi',
    });
    assert.equal(found.missed, [
      'site_cfg/settings/ sets no STATIC_ROOT: no collectstatic',
      'site_cfg/settings/ reads no DATABASE_URL and names no PostgreSQL: no database',
    ]);
  } finally {
    removeDir(dir);
  }
});

django('warns when a literal ALLOWED_HOSTS would refuse the health checks', async () => {
  assert.is(allowedHostsProblem('ALLOWED_HOSTS = ["127.0.0.1", "example.com"]'), undefined);
  assert.is(allowedHostsProblem("ALLOWED_HOSTS = ['*']"), undefined);
  assert.is(allowedHostsProblem('ALLOWED_HOSTS = os.environ["HOSTS"].split(",")'), undefined);
  assert.is(
    allowedHostsProblem("ALLOWED_HOSTS = ['example.com']"),
    'ALLOWED_HOSTS is ["example.com"]: add "127.0.0.1" (the local URL\'s host), or Django answers the health checks with 400',
  );
  const dir = appDir('django-notes');
  try {
    await writeFile(
      join(dir, 'notes', 'settings.py'),
      (await readFile(join(dir, 'notes', 'settings.py'), 'utf8')).replace('["127.0.0.1"]', '[]'),
    );
    const found = await detectDjango(await readAppFiles(dir));
    assert.equal(found.warnings, [
      'notes/settings.py: ALLOWED_HOSTS is []: add "127.0.0.1" (the local URL\'s host), or Django answers the health checks with 400',
    ]);
  } finally {
    removeDir(dir);
  }
});

django('is silent without manage.py', async () => {
  const dir = appDir('init-flask');
  try {
    assert.equal(await detectDjango(await readAppFiles(dir)), {
      guesses: [],
      missed: ['no manage.py: not a Django project'],
    });
  } finally {
    removeDir(dir);
  }
});

django.run();

// ---------------------------------------------------------------------------------------

const pythonApp = suite('the Flask and FastAPI detector finds the app object');

pythonApp('finds module-level Flask and FastAPI objects by their module path', () => {
  assert.equal(findAppObject('app.py', 'from flask import Flask\napp = Flask(__name__)\n'), {
    framework: 'flask',
    entrypoint: 'app:app',
    found: 'app.py makes app = Flask(…)',
  });
  assert.is(
    findAppObject('api/main.py', 'import fastapi\napi: fastapi.FastAPI = fastapi.FastAPI(title="x")\n')?.entrypoint,
    'api.main:api',
  );
  assert.is(findAppObject('pkg/__init__.py', 'application = Flask(__name__)\n')?.entrypoint, 'pkg:application');
});

pythonApp('takes a Flask factory only when it needs no argument', () => {
  const factory = 'from flask import Flask\n\ndef create_app(config=None):\n    return Flask(__name__)\n';
  assert.is(findAppObject('shop/__init__.py', factory)?.entrypoint, 'shop:create_app()');
  const needsConfig = 'from flask import Flask\n\ndef create_app(config):\n    return Flask(__name__)\n';
  assert.is(findAppObject('shop/__init__.py', needsConfig), undefined);
});

pythonApp('ignores an app made inside a function or mentioned in a comment', () => {
  assert.is(findAppObject('x.py', 'def f():\n    app = Flask(__name__)\n# app = FastAPI()\n'), undefined);
});

pythonApp('prefers the shallowest file, and never looks in tests/ or a venv', async () => {
  const dir = appDir(undefined, {
    'tests/test_app.py': 'app = Flask(__name__)\n',
    'venv/lib/site.py': 'app = Flask(__name__)\n',
    'svc/deep/api.py': 'app = FastAPI()\n',
    'svc/web.py': 'web = FastAPI()\n',
    'requirements.txt': 'fastapi\n',
  });
  try {
    const found = await detectApp(await readAppFiles(dir), undefined);
    assert.is(valueOf(found.guesses, 'service.entrypoint'), 'svc.web:web');
    assert.is(valueOf(found.guesses, 'service.interface'), 'asgi');
  } finally {
    removeDir(dir);
  }
});

pythonApp.run();

// ---------------------------------------------------------------------------------------

const health = suite('the health detector finds a health-like route, else "/"');

health('reads Flask, FastAPI and Django routes', () => {
  assert.equal(healthRoutes('@app.get("/healthz")\n@bp.route(\'/api/ping\')\n@app.get("/users")'), [
    '/healthz',
    '/api/ping',
  ]);
  assert.equal(healthRoutes('path("health/", views.health),\nre_path(r"^ready$", views.ready)'), [
    '/health/',
    '/ready',
  ]);
});

health('prefers /health over ping and falls back to "/"', async () => {
  const both = appDir(undefined, { 'a.py': '@app.get("/ping")\n', 'b/c.py': '@app.get("/health")\n' });
  const none = appDir(undefined, { 'a.py': '@app.get("/")\n' });
  try {
    assert.equal(keysOf((await detectHealth(await readAppFiles(both))).guesses), { 'service.health_path': '/health' });
    const fallback = await detectHealth(await readAppFiles(none));
    assert.equal(keysOf(fallback.guesses), { 'service.health_path': '/' });
    assert.match(fallback.guesses[0]?.why ?? '', 'no /health-like route found');
  } finally {
    removeDir(both);
    removeDir(none);
  }
});

health.run();

// ---------------------------------------------------------------------------------------

const requirements = suite('the requirements detector');

requirements('takes requirements.txt, else a requirements/ file, else the framework from Debian', async () => {
  const top = appDir(undefined, { 'requirements.txt': 'flask\n', 'requirements/prod.txt': 'x\n' });
  const nested = appDir(undefined, { 'requirements/prod.txt': 'flask\n' });
  const none = appDir(undefined, { 'app.py': '' });
  try {
    assert.equal(keysOf(detectRequirements(await readAppFiles(top), 'flask').guesses), {
      'service.requirements': 'requirements.txt',
    });
    assert.equal(keysOf(detectRequirements(await readAppFiles(nested), 'flask').guesses), {
      'service.requirements': 'requirements/prod.txt',
    });
    assert.equal(keysOf(detectRequirements(await readAppFiles(none), 'fastapi').guesses), {
      'service.packages': ['python3-fastapi'],
    });
    assert.equal(detectRequirements(await readAppFiles(none), undefined).guesses, []);
  } finally {
    for (const dir of [top, nested, none]) removeDir(dir);
  }
});

requirements.run();

// ---------------------------------------------------------------------------------------

const whole = suite('detectApp and renderDeployYaml make a deploy.yaml the real loader accepts');

whole('names the app after its directory, DNS-safe', () => {
  assert.is(appNameFrom('/src/My_Shop.v2'), 'my-shop-v2');
  assert.is(appNameFrom('/src/2fast'), 'fast');
  assert.is(appNameFrom('/src/___'), 'app');
  assert.is(appNameFrom('/src/a-very-long-directory-name-indeed'), 'a-very-long-director');
});

whole('quotes a scalar only when YAML could misread it', () => {
  assert.is(scalar('shop.wsgi:application'), 'shop.wsgi:application');
  assert.is(scalar('/health'), '/health');
  assert.is(scalar('python manage.py migrate --no-input'), '"python manage.py migrate --no-input"');
  assert.is(scalar('yes'), '"yes"');
  assert.is(scalar('echo "a: b" # c'), '"echo \\"a: b\\" # c"');
});

for (const [fixture, expected] of [
  [
    'init-flask',
    { entrypoint: 'app:app', interface: 'wsgi', health_path: '/healthz', release: [], build: [], database: false },
  ],
  [
    'init-fastapi',
    { entrypoint: 'api.main:app', interface: 'asgi', health_path: '/health', release: [], build: [], database: false },
  ],
  [
    'init-procfile',
    {
      entrypoint: 'shop.asgi:application',
      interface: 'asgi',
      health_path: '/',
      release: ['python -m shop.migrate --apply'],
      build: [],
      database: false,
    },
  ],
  [
    'django-notes',
    {
      entrypoint: 'notes.wsgi:application',
      interface: 'wsgi',
      health_path: '/health',
      release: [MIGRATE],
      build: [COLLECTSTATIC],
      database: true,
    },
  ],
] as const) {
  whole(`${fixture}: the written file loads with every guess in place`, async () => {
    const dir = appDir(fixture);
    try {
      const found = await detectApp(await readAppFiles(dir), undefined);
      const file = join(dir, 'deploy.yaml');
      const config = parseConfig(renderDeployYaml(found.guesses, { port: 19499 }), file);
      const env = config.environments.local;
      assert.ok(env, 'a local environment');
      assert.is(config.app, 'shop');
      assert.is(env.target, 'local');
      assert.equal(env.service.source, { kind: 'directory', path: dir, key: 'service.source' });
      assert.is(env.service.entrypoint, expected.entrypoint);
      assert.is(env.service.interface, expected.interface);
      assert.is(env.service.requirements, 'requirements.txt');
      assert.is(env.service.health_path, expected.health_path);
      assert.equal(env.service.release, [...expected.release]);
      assert.equal(env.service.build, [...expected.build]);
      assert.is(env.database !== undefined, expected.database);
      assert.is(env.target === 'local' ? env.local.port : 0, 19499);
    } finally {
      removeDir(dir);
    }
  });
}

whole('a Procfile beats Django and Flask for the entrypoint; Django still adds its build', async () => {
  const dir = appDir('django-notes', {
    Procfile: 'web: gunicorn notes.wsgi:application --log-file -\n',
    'extra.py': 'app = Flask(__name__)\n',
  });
  try {
    const found = await detectApp(await readAppFiles(dir), 'notes');
    assert.match(found.guesses.find((entry) => entry.key === 'service.entrypoint')?.why ?? '', 'Procfile web:');
    assert.equal(valueOf(found.guesses, 'service.build'), [COLLECTSTATIC]);
    assert.is(valueOf(found.guesses, 'app'), 'notes');
  } finally {
    removeDir(dir);
  }
});

whole('a directory with no app is bad input listing what was looked for', async () => {
  const dir = appDir('init-none');
  try {
    const error = await detectApp(await readAppFiles(dir), undefined).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    assert.ok(error instanceof InputError);
    assert.match(error.message, `no Python web app found in ${dir}`);
    assert.ok(error.details.includes('looked: no Procfile'));
    assert.ok(error.details.includes('looked: no manage.py: not a Django project'));
  } finally {
    removeDir(dir);
  }
});

whole.run();

// ---------------------------------------------------------------------------------------

const writing = suite('write.ts writes only a new, valid file');

writing('a file that appeared meanwhile is never overwritten', async () => {
  const dir = appDir(undefined, { 'deploy.yaml': 'theirs\n' });
  try {
    const error = await writeNewFile(join(dir, 'deploy.yaml'), 'mine\n').then(
      () => undefined,
      (caught: unknown) => caught,
    );
    assert.ok(error instanceof FileExistsError);
    assert.is(error.exitCode, 2);
    assert.is(readFileSync(join(dir, 'deploy.yaml'), 'utf8'), 'theirs\n');
  } finally {
    removeDir(dir);
  }
});

writing('guesses that do not validate are bad input naming the key; a bad flag value names the flag', () => {
  const dir = appDir('init-flask');
  try {
    const file = join(dir, 'deploy.yaml');
    const guesses = [guess('app', 'shop', 'x'), guess('service.entrypoint', 'app:app', 'x')];
    const badRelease = renderDeployYaml([...guesses, guess('service.release', [' '], 'Procfile release: line')], {
      port: 8080,
    });
    const invalid = thrownBy(InputError, () => checkDeployYaml(badRelease, file, {}));
    assert.is(invalid.message, 'the guesses do not make a valid deploy.yaml; nothing was written');
    assert.match(invalid.details[0] as string, 'service.release[0]');
    const badPort = renderDeployYaml(guesses, { port: 0 });
    const usage = thrownBy(UsageError, () =>
      checkDeployYaml(badPort, file, { 'environments.local.local.port': '--port' }),
    );
    assert.is(usage.message, '--port: 0 is out of range: expected 1 to 65535');
  } finally {
    removeDir(dir);
  }
});

writing.run();

// ---------------------------------------------------------------------------------------

const beside = suite('the deploy.yaml init writes beside the app is not part of the image');

beside('editing it keeps the fingerprint; editing the app changes it', async () => {
  const dir = appDir('init-flask', { 'deploy.yaml': 'app: shop\n' });
  try {
    const inputs = { root: REPO_ROOT, appSource: dir, baseImage: 'bakery-base:bookworm@sha256:1', variables: {} };
    const before = await computeFingerprint(inputs);
    assert.not.ok((await listBakedFiles(REPO_ROOT, dir)).includes('app/deploy.yaml'));
    writeFileSync(join(dir, 'deploy.yaml'), 'app: shop\n# instances changed\n');
    assert.is(await computeFingerprint(inputs), before);
    writeFileSync(join(dir, 'app.py'), `${readFileSync(join(dir, 'app.py'), 'utf8')}\n`);
    assert.is.not(await computeFingerprint(inputs), before);
  } finally {
    removeDir(dir);
  }
});

beside.run();
