// The process runner's attached and captured modes (pipeline/process/runner.ts), with
// real processes: exit codes pass through, a missing tool is a clear error, a probe
// stops at its deadline or as soon as it saw what it waited for.

import * as assert from 'uvu/assert';
import { PreflightError } from '../../pipeline/errors.ts';
import { exitCodeOfChild, runAttached, runCaptured } from '../../pipeline/process/runner.ts';
import { suite } from '../support/suite.ts';

const Attached = suite('attached mode');

Attached('passes the exit code through', async () => {
  const code = await runAttached({
    tool: 'sh',
    args: ['-c', 'exit 7'],
    stdio: 'ignore',
    detached: true,
    env: process.env,
    missingHint: 'install sh',
  });
  assert.is(code, 7);
});

Attached('a tool that is not installed is a PreflightError naming it and the hint', async () => {
  try {
    await runAttached({
      tool: 'bakery-no-such-tool',
      args: [],
      stdio: 'ignore',
      detached: true,
      env: process.env,
      missingHint: 'install it, or run with --no-container',
    });
    assert.unreachable('should have failed');
  } catch (error) {
    assert.instance(error, PreflightError);
    assert.is((error as PreflightError).message, 'bakery-no-such-tool is not installed or not on PATH');
    assert.equal((error as PreflightError).details, ['install it, or run with --no-container']);
  }
});

Attached('a signal death is reported as a shell would (128 + its number)', () => {
  assert.is(exitCodeOfChild(null, 'SIGTERM'), 143);
  assert.is(exitCodeOfChild(null, 'SIGINT'), 130);
  assert.is(exitCodeOfChild(3, null), 3);
});

Attached.run();

const Captured = suite('captured mode');

Captured('returns both streams and the exit code', async () => {
  const result = await runCaptured({ tool: 'sh', args: ['-c', 'echo out; echo err >&2; exit 3'] });
  assert.is(result.started, true);
  assert.is(result.exitCode, 3);
  assert.is(result.stdout, 'out\n');
  assert.is(result.stderr, 'err\n');
  assert.is(result.stopped, undefined);
});

Captured('stops the tool as soon as its output satisfies `until`', async () => {
  const result = await runCaptured({
    tool: 'sh',
    args: ['-c', 'echo booting; echo "Run /init as init process"; sleep 30'],
    until: (output) => output.includes('Run /init'),
    timeoutMs: 20_000,
  });
  assert.is(result.stopped, 'until');
  assert.ok(result.seconds < 10, `took ${result.seconds} s`);
  assert.match(result.output, /booting\nRun \/init/);
});

Captured('stops the tool at its deadline and says so', async () => {
  const result = await runCaptured({ tool: 'sleep', args: ['30'], timeoutMs: 200 });
  assert.is(result.stopped, 'timeout');
  assert.ok(result.seconds < 10, `took ${result.seconds} s`);
});

Captured('a tool that cannot start is described, not thrown', async () => {
  const result = await runCaptured({ tool: 'bakery-no-such-tool', args: [] });
  assert.is(result.started, false);
  assert.is(result.startError, 'ENOENT');
});

Captured.run();
