// The executables as a user starts them (bin/bakery.js and the ./deploy.ts, ./destroy.ts,
// ./status.ts, ./run.ts links to it, through their shebang): what they print first on
// stderr is bakery's own line, never a shell's complaint, and each answers --help,
// --version and bad input with the documented exit code.

import { execFile } from 'node:child_process';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { SUBCOMMANDS, formatMainHelp } from '../../pipeline/cli/main.ts';
import { REPO_ROOT, makeTempDir, removeDir } from '../support/files.ts';
import { suite } from '../support/suite.ts';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** This process's environment without what the test runner adds (FORCE_COLOR makes Node warn beside a NO_COLOR). */
function userEnvironment(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.FORCE_COLOR;
  return env;
}

/** Runs an executable of the repository by its path, from a directory outside it. */
function runExecutable(file: string, args: string[], cwd: string): Promise<Run> {
  return new Promise((resolvePromise, reject) => {
    const child = execFile(
      join(REPO_ROOT, file),
      args,
      { cwd, env: { ...userEnvironment(), CI: '1', BAKERY_NO_CONTAINER: '1' }, timeout: 60_000 },
      (error, stdout, stderr) => {
        const failure = error as (NodeJS.ErrnoException & { code?: number | string }) | null;
        if (failure && typeof failure.code === 'string') reject(failure);
        else resolvePromise({ code: failure ? Number(failure.code) : 0, stdout, stderr });
      },
    );
    child.stdin?.end();
  });
}

const ALIASES = ['deploy.ts', 'destroy.ts', 'status.ts', 'run.ts', 'init.ts'] as const;

const entry = suite<{ dir: string }>('the executables print nothing stray', { dir: '' });
entry.before((context) => {
  context.dir = makeTempDir('bakery-entry-');
});
entry.after((context) => removeDir(context.dir));

entry('bakery --help lists every subcommand on stdout and nothing on stderr', async ({ dir }) => {
  const run = await runExecutable('bin/bakery.js', ['--help'], dir);
  assert.is(run.code, 0, run.stderr);
  assert.is(run.stderr, '');
  assert.is(run.stdout, formatMainHelp());
  for (const name of Object.keys(SUBCOMMANDS)) assert.match(run.stdout, new RegExp(`^  ${name} `, 'm'));
});

entry('bakery --version prints the package version', async ({ dir }) => {
  const run = await runExecutable('bin/bakery.js', ['--version'], dir);
  assert.is(run.code, 0, run.stderr);
  assert.match(run.stdout, /^bakery \d+\.\d+\.\d+\n$/);
  assert.is(run.stderr, '');
});

entry('bakery with an unknown command exits 2 naming it and the commands', async ({ dir }) => {
  const run = await runExecutable('bin/bakery.js', ['deplyo'], dir);
  assert.is(run.code, 2);
  assert.is(
    run.stderr.split('\n')[0],
    'error: unknown command "deplyo" (did you mean deploy?): expected one of deploy, destroy, status, run, init (bakery --help)',
  );
});

entry('bakery without a command exits 2 with the usage on stderr', async ({ dir }) => {
  const run = await runExecutable('bin/bakery.js', [], dir);
  assert.is(run.code, 2);
  assert.is(run.stderr.split('\n')[0], 'Usage: bakery COMMAND [ENV] [flags]');
});

for (const alias of ALIASES) {
  const command = alias.replace('.ts', '');
  entry(`./${alias} --help is bakery ${command} --help, with nothing on stderr`, async ({ dir }) => {
    const [viaAlias, viaBakery] = await Promise.all([
      runExecutable(alias, ['--help'], dir),
      runExecutable('bin/bakery.js', [command, '--help'], dir),
    ]);
    assert.is(viaAlias.code, 0, viaAlias.stderr);
    assert.is(viaAlias.stderr, '');
    assert.match(viaAlias.stdout, /^Usage: /);
    assert.is(viaAlias.stdout, viaBakery.stdout);
  });

  entry(`./${alias} with a bad flag exits 2 and its first stderr line is bakery's error`, async ({ dir }) => {
    // run.ts reads its own flags only once it has a command after --.
    const run = await runExecutable(
      alias,
      ['local', '--no-such-flag', ...(alias === 'run.ts' ? ['--', 'true'] : [])],
      dir,
    );
    assert.is(run.code, 2, run.stderr);
    assert.match(run.stderr.split('\n')[0] ?? '', /^error: unknown flag --no-such-flag/);
  });
}

entry.run();
