import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import type { InterruptedError, PreflightError, ToolError } from '../../pipeline/errors.ts';
import type { Interrupts } from '../../pipeline/process/interrupts.ts';
import type { ProcessRunner } from '../../pipeline/process/runner.ts';
import { RecordingReporter } from '../support/fakes.ts';
import { exitOf, makeTempDir, removeDir, spawnTs, waitFor } from '../support/files.ts';
import { suite } from '../support/suite.ts';

// `uvu -r tsx` loads test files as CommonJS, and tsx then compiles execa (ESM only) to
// CommonJS too, which breaks on its import-only dependencies. process.ts is therefore
// loaded with import(), which goes through Node's ESM loader; errors.ts and the rest
// come from the same import() so that `instanceof` sees the same classes.
const pipeline = {} as {
  errors: typeof import('../../pipeline/errors.ts');
  interrupts: typeof import('../../pipeline/process/interrupts.ts');
  process: typeof import('../../pipeline/process/runner.ts');
  redact: typeof import('../../pipeline/process/redact.ts');
};

async function loadPipeline(): Promise<void> {
  pipeline.errors ??= await import('../../pipeline/errors.ts');
  pipeline.interrupts ??= await import('../../pipeline/process/interrupts.ts');
  pipeline.process ??= await import('../../pipeline/process/runner.ts');
  pipeline.redact ??= await import('../../pipeline/process/redact.ts');
}

const MASK = '[REDACTED]';

// Fake credentials, shaped like the real ones.
const ACCESS_KEY_ID = 'AKIAIOSFODNN7EXAMPLE';
const SECRET_ACCESS_KEY = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
const DEPLOY_TOKEN = 'tok-3f9c1b2a7e5d';

interface Context {
  dir: string;
  reporter: RecordingReporter;
  interrupts: Interrupts;
  runner: ProcessRunner;
}

function writeScript(dir: string, name: string, body: string): string {
  const path = join(dir, name);
  writeFileSync(path, `#!/usr/bin/env bash\n${body}\n`);
  chmodSync(path, 0o755);
  return path;
}

function eventText(reporter: RecordingReporter): string {
  return reporter.events.map((event) => JSON.stringify(event)).join('\n');
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  assert.unreachable('expected the run to fail');
  return undefined;
}

function withRunner(title: string) {
  const test = suite<Context>(title);
  test.before(loadPipeline);
  test.before.each((context) => {
    context.dir = makeTempDir();
    context.reporter = new RecordingReporter();
    context.interrupts = new pipeline.interrupts.Interrupts();
    context.runner = new pipeline.process.ProcessRunner({
      logDir: join(context.dir, 'logs'),
      reporter: context.reporter,
      redactor: new pipeline.redact.Redactor({ PATH: '/usr/bin', DEPLOY_TOKEN }),
      interrupts: context.interrupts,
    });
  });
  test.after.each(async (context) => {
    await context.runner.close();
    removeDir(context.dir);
  });
  return test;
}

// ---------------------------------------------------------------------------------------

const streaming = withRunner('ProcessRunner streams a tool into the stage log');

streaming('writes the command, both streams and the exit to the log file', async ({ dir, runner }) => {
  const script = writeScript(dir, 'hello.sh', 'echo "to stdout"\necho "to stderr" >&2\nexit 0');
  const result = await runner.run('bake', { tool: 'bash', args: [script] });
  await runner.close();
  assert.is(result.exitCode, 0);
  assert.is(result.stdout, 'to stdout');
  assert.is(result.stderr, 'to stderr');
  const log = readFileSync(runner.logPath('bake'), 'utf8');
  assert.is(runner.logPath('bake'), join(dir, 'logs', 'bake.log'));
  assert.match(log, `$ bash ${script}\n`);
  assert.match(log, '\nto stdout\n');
  assert.match(log, '\n! to stderr\n');
  assert.match(log, /# exited with 0 at \d{4}-/);
});

streaming('writes each line to the log while the tool is still running', async ({ dir, runner }) => {
  const go = join(dir, 'go');
  const script = writeScript(
    dir,
    'slow.sh',
    `echo "first line"\nwhile [ ! -e "${go}" ]; do sleep 0.05; done\necho "second line"`,
  );
  const running = runner.run('provision', { tool: 'bash', args: [script] });
  await waitFor(
    () =>
      existsSync(runner.logPath('provision')) &&
      readFileSync(runner.logPath('provision'), 'utf8').includes('first line'),
    10_000,
    'the first line in the log',
  );
  assert.not.match(readFileSync(runner.logPath('provision'), 'utf8'), 'second line');
  writeFileSync(go, '');
  await running;
  await runner.close();
  assert.match(readFileSync(runner.logPath('provision'), 'utf8'), 'second line');
});

streaming('turns lines into progress and tool-line events', async ({ dir, runner, reporter }) => {
  const script = writeScript(dir, 'progress.sh', 'echo "step 1"\necho\necho "step 2" >&2');
  await runner.run('bake', {
    tool: 'bash',
    args: [script],
    progress: (line) => (line.startsWith('step') ? line.toUpperCase() : undefined),
  });
  assert.equal(
    reporter.ofKind('tool-line').map((event) => [event.stream, event.line]),
    [
      ['stdout', 'step 1'],
      ['stdout', ''],
      ['stderr', 'step 2'],
    ],
  );
  assert.equal(
    reporter.ofKind('stage-progress').map((event) => event.text),
    [`running bash ${script}`, 'STEP 1', 'STEP 2'],
  );
});

streaming('emits no progress for a quiet run but still logs it', async ({ dir, runner, reporter }) => {
  const script = writeScript(dir, 'quiet.sh', 'echo "polled"');
  await runner.run('verify', { tool: 'bash', args: [script], quiet: true });
  await runner.close();
  assert.is(reporter.ofKind('stage-progress').length, 0);
  assert.match(readFileSync(runner.logPath('verify'), 'utf8'), 'polled');
});

streaming('feeds input to stdin', async ({ runner }) => {
  const result = await runner.run('bake', { tool: 'cat', args: [], input: 'line one\nline two\n' });
  assert.is(result.stdout, 'line one\nline two');
});

streaming('appends notes to the log, redacted', async ({ runner }) => {
  runner.note('bake', `image tagged, token ${DEPLOY_TOKEN}`);
  await runner.close();
  assert.is(readFileSync(runner.logPath('bake'), 'utf8'), `# image tagged, token ${MASK}\n`);
});

streaming.run();

// ---------------------------------------------------------------------------------------

const redaction = withRunner('ProcessRunner keeps secrets out of logs and events');

redaction(
  'masks an access key id, a secret access key and a *_TOKEN value everywhere',
  async ({ dir, runner, reporter }) => {
    const script = writeScript(
      dir,
      'leaky.sh',
      [
        `echo "AWS_ACCESS_KEY_ID=${ACCESS_KEY_ID}"`,
        `echo "aws_secret_access_key=${SECRET_ACCESS_KEY}"`,
        `echo '{"SecretAccessKey": "${SECRET_ACCESS_KEY}"}'`,
        'echo "using token $DEPLOY_TOKEN for the registry" >&2',
        `echo "error: login failed for ${ACCESS_KEY_ID} with $DEPLOY_TOKEN" >&2`,
        'exit 1',
      ].join('\n'),
    );
    const error = await rejection(
      runner.run('bake', {
        tool: 'bash',
        args: [script, `--key=${ACCESS_KEY_ID}`, `aws_secret_access_key=${SECRET_ACCESS_KEY}`],
        env: { DEPLOY_TOKEN },
      }),
    );
    await runner.close();
    assert.instance(error, pipeline.errors.ToolError);
    const toolError = error as ToolError;
    const log = readFileSync(runner.logPath('bake'), 'utf8');
    const events = eventText(reporter);
    const failure = JSON.stringify({
      message: toolError.message,
      details: toolError.details,
      failure: toolError.failure,
    });
    for (const [where, text] of [
      ['log', log],
      ['events', events],
      ['error', failure],
    ] as const) {
      for (const secret of [ACCESS_KEY_ID, SECRET_ACCESS_KEY, DEPLOY_TOKEN]) {
        assert.not.ok(text.includes(secret), `${where} contains ${secret}`);
      }
    }
    assert.is(pipeline.redact.MASK, MASK);
    assert.match(log, `\nAWS_ACCESS_KEY_ID=${MASK}\n`);
    assert.match(log, `\naws_secret_access_key=${MASK}\n`);
    assert.match(log, `\n{"SecretAccessKey": "${MASK}"}\n`);
    assert.match(log, `\n! using token ${MASK} for the registry\n`);
    assert.match(log, `$ bash ${script} --key=${MASK} aws_secret_access_key=${MASK}\n`);
    assert.ok(reporter.ofKind('tool-line').some((event) => event.line === `using token ${MASK} for the registry`));
    assert.ok(reporter.ofKind('stage-progress').some((event) => event.text === `aws_secret_access_key=${MASK}`));
    assert.equal(toolError.failure.errorLines, [`error: login failed for ${MASK} with ${MASK}`]);
  },
);

redaction.run();

const redactor = suite('Redactor masks secrets by shape and by name');
redactor.before(loadPipeline);

redactor('masks the values of secret-looking variables, longest first', () => {
  const redact = new pipeline.redact.Redactor({
    GITHUB_TOKEN: 'abcdef123456',
    DB_PASSWORD: 'abcdef123456789',
    HOME: '/root',
    SHORT_SECRET: 'abc',
  });
  assert.is(redact.redact('a abcdef123456789 b abcdef123456 c /root abc'), `a ${MASK} b ${MASK} c /root abc`);
});

redactor('masks temporary key ids and session tokens', () => {
  const token = 'IQoJb3JpZ2luX2VjE'.padEnd(120, 'A');
  const redact = new pipeline.redact.Redactor({});
  assert.is(redact.redact('key ASIAIOSFODNN7EXAMPLE!'), `key ${MASK}!`);
  assert.is(redact.redact(`aws_session_token = ${token}`), `aws_session_token = ${MASK}`);
  assert.is(redact.redact(`"SessionToken": "${token}"`), `"SessionToken": "${MASK}"`);
});

redactor('leaves ordinary text alone', () => {
  const text = 'packer: amazon-ebs.app: AMI: ami-0123456789abcdef0 (AKIA is a prefix)';
  assert.is(new pipeline.redact.Redactor({}).redact(text), text);
});

redactor.run();

// ---------------------------------------------------------------------------------------

const failures = withRunner('ProcessRunner turns a failure into an error that says what went wrong');

failures('names the tool, the exit code, the log and the error-looking lines', async ({ dir, runner }) => {
  const script = writeScript(
    dir,
    'fail.sh',
    'echo "==> starting"\necho "info: all good so far"\necho "Error: launch template not found" >&2\necho "cleaning up"\nexit 3',
  );
  const error = await rejection(runner.run('provision', { tool: 'bash', args: [script] }));
  assert.instance(error, pipeline.errors.ToolError);
  const toolError = error as ToolError;
  assert.is(toolError.message, 'bash exited with code 3');
  assert.is(toolError.exitCode, 1);
  assert.equal(toolError.failure, {
    tool: 'bash',
    command: `bash ${script}`,
    exitCode: 3,
    signal: undefined,
    logPath: join(dir, 'logs', 'provision.log'),
    errorLines: ['Error: launch template not found'],
  });
  assert.equal(toolError.details, [
    `command: bash ${script}`,
    `log: ${join(dir, 'logs', 'provision.log')}`,
    'last error lines:',
    '  Error: launch template not found',
  ]);
});

failures('shows at most 20 error lines, the last ones', async ({ dir, runner }) => {
  const script = writeScript(
    dir,
    'many.sh',
    'for i in $(seq 1 50); do echo "error $i: disk full"; echo "note $i"; done\nexit 1',
  );
  const error = (await rejection(runner.run('bake', { tool: 'bash', args: [script] }))) as ToolError;
  assert.is(error.failure.errorLines.length, 20);
  assert.is(error.failure.errorLines[0], 'error 31: disk full');
  assert.is(error.failure.errorLines[19], 'error 50: disk full');
  assert.ok(error.details.length <= 23);
});

failures('says when a tool was killed by a signal', async ({ dir, runner }) => {
  const script = writeScript(dir, 'killed.sh', 'echo "about to die"\nkill -TERM $$\nsleep 5');
  const error = (await rejection(runner.run('bake', { tool: 'bash', args: [script] }))) as ToolError;
  assert.instance(error, pipeline.errors.ToolError);
  assert.is(error.message, 'bash was killed by SIGTERM');
  assert.equal(error.failure.errorLines, ['about to die']);
});

failures('says when a tool timed out', async ({ runner }) => {
  const started = Date.now();
  const error = (await rejection(runner.run('verify', { tool: 'sleep', args: ['20'], timeoutMs: 300 }))) as ToolError;
  assert.instance(error, pipeline.errors.ToolError);
  assert.match(error.message, 'sleep was killed by timeout after 300 ms');
  assert.ok(Date.now() - started < 10_000, 'the timeout did not stop the tool');
});

failures('on timeout stops the tool and the children that hold its output open', async ({ dir, runner }) => {
  const pids = join(dir, 'pids');
  const script = writeScript(dir, 'spawner.sh', `sleep 30 &\necho "$$ $!" > "${pids}"\nwait`);
  const started = Date.now();
  const error = (await rejection(runner.run('verify', { tool: 'bash', args: [script], timeoutMs: 500 }))) as ToolError;
  assert.instance(error, pipeline.errors.ToolError);
  assert.is(error.failure.signal, 'timeout after 500 ms (SIGTERM)');
  assert.ok(Date.now() - started < 5_000, `the run took ${Date.now() - started} ms`);
  const [, sleepPid] = readFileSync(pids, 'utf8').trim().split(' ').map(Number) as [number, number];
  await waitFor(() => !isRunning(sleepPid), 5_000, "the tool's child to be gone");
});

failures('counts a tool that exits 0 after the timeout signal as timed out', async ({ dir, runner }) => {
  const script = writeScript(dir, 'polite.sh', `trap 'exit 0' TERM\nwhile true; do sleep 0.05; done`);
  const error = (await rejection(runner.run('verify', { tool: 'bash', args: [script], timeoutMs: 300 }))) as ToolError;
  assert.instance(error, pipeline.errors.ToolError);
  assert.match(error.message, 'timeout after 300 ms');
});

failures('accepts exit codes declared as fine', async ({ runner }) => {
  const result = await runner.run('bake', { tool: 'bash', args: ['-c', 'exit 1'], okExitCodes: [1] });
  assert.is(result.exitCode, 1);
});

failures('reports a missing tool as a preflight problem', async ({ runner }) => {
  const error = await rejection(runner.run('preflight', { tool: 'bakery-no-such-tool', args: ['--version'] }));
  assert.instance(error, pipeline.errors.PreflightError);
  assert.is((error as PreflightError).message, 'bakery-no-such-tool is not installed or not on PATH');
  assert.is((error as PreflightError).exitCode, 1);
  assert.match((error as PreflightError).details.join('\n'), 'command: bakery-no-such-tool --version');
});

failures.run();

const picking = suite('pickErrorLines and formatCommand');
picking.before(loadPipeline);

picking('prefers error-looking lines and falls back to the last lines', () => {
  assert.equal(pipeline.process.pickErrorLines(['ok', 'Error: nope', 'fine', 'FATAL: broken', '']), [
    'Error: nope',
    'FATAL: broken',
  ]);
  assert.equal(pipeline.process.pickErrorLines(['one', 'two', 'three'], 2), ['two', 'three']);
  assert.equal(pipeline.process.pickErrorLines(['\x1b[31merror: red\x1b[0m  ']), ['error: red']);
});

picking('quotes arguments the way a shell needs them', () => {
  assert.is(
    pipeline.process.formatCommand('packer', ['build', '-var', 'name=my app', "it's"]),
    `packer build -var 'name=my app' 'it'\\''s'`,
  );
});

picking.run();

// ---------------------------------------------------------------------------------------

const inProcess = withRunner('Interrupts stop a running tool without signalling the test runner');

inProcess(
  'forwards the first interrupt to the tool, which cleans up, and the run says it was interrupted',
  async ({ dir, runner, interrupts }) => {
    const marker = join(dir, 'marker');
    const ready = join(dir, 'ready');
    const script = writeScript(
      dir,
      'trap.sh',
      `trap 'echo cleaned > "${marker}"; exit 130' INT\necho ready > "${ready}"\nwhile true; do sleep 0.05; done`,
    );
    const running = runner.run('bake', { tool: 'bash', args: [script] });
    await waitFor(() => existsSync(ready), 10_000, 'the script to start');
    interrupts.receive('SIGINT');
    const error = await rejection(running);
    assert.instance(error, pipeline.errors.InterruptedError);
    assert.is((error as InterruptedError).exitCode, 130);
    assert.is(readFileSync(marker, 'utf8'), 'cleaned\n');
    assert.ok(interrupts.signal.aborted);
  },
);

inProcess('starts no new tool after an interrupt', async ({ runner, interrupts }) => {
  interrupts.receive('SIGTERM');
  const error = await rejection(runner.run('bake', { tool: 'bash', args: ['-c', 'exit 0'] }));
  assert.instance(error, pipeline.errors.InterruptedError);
  assert.is((error as InterruptedError).message, 'interrupted before bash started');
});

inProcess('lets cleanup work finish after the first interrupt', async ({ dir, runner, interrupts }) => {
  const ready = join(dir, 'ready');
  const script = writeScript(dir, 'cleanup.sh', `echo ready > "${ready}"\nsleep 0.3\necho "removed the builder"`);
  const running = runner.run('bake', { tool: 'bash', args: [script], cleanup: true });
  await waitFor(() => existsSync(ready), 10_000, 'the script to start');
  interrupts.receive('SIGINT');
  const result = await running;
  assert.is(result.stdout, 'removed the builder');
  const after = await runner.run('bake', { tool: 'bash', args: ['-c', 'echo again'], cleanup: true });
  assert.is(after.stdout, 'again');
});

inProcess.run();

// ---------------------------------------------------------------------------------------

const signals = suite<{ dir: string }>('a real SIGINT reaches the tool through the runner');
signals.before.each((context) => {
  context.dir = makeTempDir();
});
signals.after.each((context) => removeDir(context.dir));

const FIXTURE = 'test/fixtures/interruptible.ts';

/** True while the process exists and is not a zombie. */
function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

signals('forwards SIGINT to a tool that traps it, waits for its cleanup and exits 130', async ({ dir }) => {
  const marker = join(dir, 'marker');
  const ready = join(dir, 'ready');
  const script = writeScript(
    dir,
    'trap.sh',
    `trap 'echo "cleaned up after INT" > "${marker}"; exit 130' INT\necho $$ > "${ready}"\nwhile true; do sleep 0.05; done`,
  );
  const fixture = spawnTs(FIXTURE, [join(dir, 'logs'), script]);
  let stderr = '';
  fixture.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  await waitFor(() => existsSync(ready) && readFileSync(ready, 'utf8').endsWith('\n'), 20_000, 'the script to start');
  fixture.kill('SIGINT');
  const exit = await exitOf(fixture);
  assert.is(exit.code, 130, stderr);
  assert.is(readFileSync(marker, 'utf8'), 'cleaned up after INT\n');
  assert.match(stderr, 'SIGINT: stopping; waiting for bash to clean up');
  assert.match(stderr, 'error: bash was interrupted (SIGINT)');
  assert.match(readFileSync(join(dir, 'logs', 'fixture.log'), 'utf8'), '# exited with 130');
});

signals('forwards SIGTERM the same way', async ({ dir }) => {
  const marker = join(dir, 'marker');
  const ready = join(dir, 'ready');
  const script = writeScript(
    dir,
    'trap.sh',
    `trap 'echo "TERM" > "${marker}"; exit 143' TERM\necho $$ > "${ready}"\nwhile true; do sleep 0.05; done`,
  );
  const fixture = spawnTs(FIXTURE, [join(dir, 'logs'), script]);
  await waitFor(() => existsSync(ready) && readFileSync(ready, 'utf8').endsWith('\n'), 20_000, 'the script to start');
  fixture.kill('SIGTERM');
  const exit = await exitOf(fixture);
  assert.is(exit.code, 130);
  assert.is(readFileSync(marker, 'utf8'), 'TERM\n');
});

signals('kills a tool that ignores SIGINT when a second SIGINT arrives', async ({ dir }) => {
  const ready = join(dir, 'ready');
  const script = writeScript(
    dir,
    'stubborn.sh',
    `trap '' INT\nsleep 60 &\necho "$$ $!" > "${ready}.tmp" && mv "${ready}.tmp" "${ready}"\nwait $!`,
  );
  const fixture = spawnTs(FIXTURE, [join(dir, 'logs'), script]);
  let stderr = '';
  fixture.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  await waitFor(() => existsSync(ready), 20_000, 'the script to start');
  const [bashPid, sleepPid] = readFileSync(ready, 'utf8').trim().split(' ').map(Number) as [number, number];

  fixture.kill('SIGINT');
  await waitFor(() => stderr.includes('SIGINT: stopping'), 10_000, 'the first notice');
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.is(fixture.exitCode, null, 'the fixture exited although the tool ignored SIGINT');
  assert.ok(isRunning(bashPid), 'the tool died from the first SIGINT');

  const started = Date.now();
  fixture.kill('SIGINT');
  const exit = await exitOf(fixture);
  assert.ok(Date.now() - started < 10_000, 'the second SIGINT did not stop the tool quickly');
  assert.is(exit.code, 130, stderr);
  assert.match(stderr, 'forced stop: killed bash');
  await waitFor(() => !isRunning(bashPid) && !isRunning(sleepPid), 5_000, 'the tool and its child to be gone');
});

signals.run();
