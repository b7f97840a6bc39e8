import * as assert from 'uvu/assert';
import type { LogEvent, Reporter, RunSummary } from '../../pipeline/output/events.ts';
import { formatPlain, formatSeconds, formatSummaryTable, stripAnsi, truncate } from '../../pipeline/output/format.ts';
import { chooseOutputMode, createReporter, type OutputMode } from '../../pipeline/output/reporters.ts';
import { StringSink } from '../support/fakes.ts';
import { suite } from '../support/suite.ts';

const SUMMARY: RunSummary = {
  command: 'deploy',
  env: 'local',
  target: 'local',
  image: 'sha256:3f9c0d',
  fingerprint: '3f9c0d1e2f',
  url: 'http://127.0.0.1:8080',
  stages: [
    { name: 'preflight', status: 'ok', seconds: 0.4 },
    {
      name: 'bake',
      status: 'skipped',
      seconds: 0,
      skipped_reason: 'image 3f9c0d1e already baked (bakery-demo:3f9c0d1e)',
    },
    { name: 'provision', status: 'ok', seconds: 75.2 },
  ],
  ok: true,
  exit_code: 0,
  log_dir: '/srv/app/.deploy/local/logs/2026-11-22T10-04-05Z',
};

/** One deploy as the runner reports it. */
const EVENTS: LogEvent[] = [
  {
    kind: 'run-start',
    command: 'deploy',
    env: 'local',
    target: 'local',
    logDir: SUMMARY.log_dir as string,
    dryRun: false,
  },
  { kind: 'stage-start', stage: 'preflight', title: 'Preflight checks' },
  { kind: 'stage-progress', stage: 'preflight', text: 'checking docker' },
  { kind: 'tool-line', stage: 'preflight', tool: 'docker', stream: 'stdout', line: 'Docker version 26.1.5' },
  { kind: 'stage-end', stage: 'preflight', title: 'Preflight checks', status: 'ok', seconds: 0.4 },
  { kind: 'stage-start', stage: 'bake', title: 'Bake the image' },
  {
    kind: 'stage-end',
    stage: 'bake',
    title: 'Bake the image',
    status: 'skipped',
    seconds: 0,
    reason: 'image 3f9c0d1e already baked (bakery-demo:3f9c0d1e)',
  },
  { kind: 'stage-start', stage: 'provision', title: 'Provision' },
  {
    kind: 'message',
    level: 'warn',
    text: 'port 8080 was in use by a stopped container',
    details: ['removed container old-lb'],
  },
  { kind: 'stage-end', stage: 'provision', title: 'Provision', status: 'ok', seconds: 75.2 },
  { kind: 'run-end', summary: SUMMARY },
];

function report(
  mode: OutputMode,
  verbose = false,
  columns?: number,
): { out: StringSink; err: StringSink; reporter: Reporter } {
  const out = new StringSink();
  const err = new StringSink(columns);
  const reporter = createReporter({ mode, out, err, verbose, now: () => new Date('2026-11-22T10:04:05.000Z') });
  for (const event of EVENTS) reporter.emit(event);
  reporter.close();
  return { out, err, reporter };
}

/** What a terminal shows: ANSI removed, each line as left by its last carriage return. */
function screen(text: string): string[] {
  return stripAnsi(text)
    .split('\n')
    .map((line) => line.slice(line.lastIndexOf('\r') + 1))
    .filter((line) => line !== '');
}

// ---------------------------------------------------------------------------------------

const tty = suite('the TTY reporter');

tty('prints one line per finished stage with its mark, time and skip reason', () => {
  const lines = screen(report('tty').err.text);
  assert.ok(
    lines.includes('deploy local (target local); logs in /srv/app/.deploy/local/logs/2026-11-22T10-04-05Z'),
    lines.join('\n'),
  );
  assert.ok(
    lines.some((line) => /^✔ Preflight checks {13,} +0\.4s$/.test(line)),
    lines.join('\n'),
  );
  assert.ok(
    lines.some((line) =>
      /^↷ Bake the image +0\.0s {2}image 3f9c0d1e already baked \(bakery-demo:3f9c0d1e\)$/.test(line),
    ),
    lines.join('\n'),
  );
  assert.ok(
    lines.some((line) => /^✔ Provision +1m15s$/.test(line)),
    lines.join('\n'),
  );
  assert.ok(lines.includes('warning: port 8080 was in use by a stopped container'));
  assert.ok(lines.includes('  removed container old-lb'));
});

tty('ends with the summary table', () => {
  const lines = screen(report('tty').err.text);
  const table = formatSummaryTable(SUMMARY).split('\n');
  assert.equal(lines.slice(-table.length), table);
});

tty('writes nothing to stdout and no timestamps', () => {
  const { out, err } = report('tty');
  assert.is(out.text, '');
  assert.not.match(stripAnsi(err.text), /\d\d:\d\d:\d\d /);
});

tty('hides tool lines unless verbose', () => {
  assert.not.match(report('tty').err.text, 'Docker version');
  assert.match(report('tty', true).err.text, '  docker: Docker version 26.1.5');
});

tty('shows a live spinner line with the last progress text, cut to the terminal width', async () => {
  const err = new StringSink(60);
  const reporter = createReporter({ mode: 'tty', out: new StringSink(), err, verbose: false });
  reporter.emit({ kind: 'stage-start', stage: 'bake', title: 'Bake the image' });
  reporter.emit({
    kind: 'stage-progress',
    stage: 'bake',
    text: '\x1b[1mamazon-ebs.app: waiting for SSH to become available\x1b[0m',
  });
  await new Promise((resolve) => setTimeout(resolve, 250));
  reporter.close();
  const frames = stripAnsi(err.text)
    .split('\r')
    .filter((frame) => frame.includes('amazon-ebs'));
  assert.ok(frames.length > 0, 'the progress text never showed');
  const frame = frames[frames.length - 1] as string;
  assert.match(frame, /^[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] Bake the image/);
  assert.ok(frame.length <= 59, `"${frame}" is wider than the terminal`);
  assert.ok(frame.endsWith('…'));
  const written = err.text.length;
  await new Promise((resolve) => setTimeout(resolve, 250));
  assert.is(err.text.length, written, 'the spinner kept drawing after close()');
});

tty.run();

// ---------------------------------------------------------------------------------------

const plain = suite('the plain (CI) reporter');

plain('timestamps every line on stderr', () => {
  const { out, err } = report('plain');
  assert.is(out.text, '');
  const lines = err.text.split('\n').filter((line) => line !== '');
  for (const line of lines) assert.match(line, /^10:04:05 /);
  assert.equal(lines, [
    '10:04:05 deploy local (target local); logs in /srv/app/.deploy/local/logs/2026-11-22T10-04-05Z',
    '10:04:05 [preflight] Preflight checks',
    '10:04:05 [preflight] checking docker',
    '10:04:05 [preflight] done in 0.4s',
    '10:04:05 [bake] Bake the image',
    '10:04:05 [bake] skipped in 0.0s: image 3f9c0d1e already baked (bakery-demo:3f9c0d1e)',
    '10:04:05 [provision] Provision',
    '10:04:05 warning: port 8080 was in use by a stopped container',
    '10:04:05   removed container old-lb',
    '10:04:05 [provision] done in 1m15s',
  ]);
});

plain('adds tool lines when verbose', () => {
  assert.match(report('plain', true).err.text, '10:04:05 [preflight] docker: Docker version 26.1.5\n');
});

plain('uses no escape sequences', () => {
  assert.is(report('plain').err.text, stripAnsi(report('plain').err.text));
  assert.not.match(report('plain').err.text, '\r');
});

plain.run();

// ---------------------------------------------------------------------------------------

const json = suite('the JSON reporter');

json('prints exactly one JSON object on stdout, and only that', () => {
  const { out } = report('json');
  const lines = out.text.split('\n');
  assert.is(lines.length, 2);
  assert.is(lines[1], '');
  const parsed = JSON.parse(lines[0] as string) as Record<string, unknown>;
  assert.is(parsed.env, 'local');
  assert.is(parsed.target, 'local');
  assert.is(parsed.image, 'sha256:3f9c0d');
  assert.is(parsed.url, 'http://127.0.0.1:8080');
  assert.is(parsed.ok, true);
  assert.equal(parsed.stages, [
    { name: 'preflight', status: 'ok', seconds: 0.4 },
    {
      name: 'bake',
      status: 'skipped',
      seconds: 0,
      skipped_reason: 'image 3f9c0d1e already baked (bakery-demo:3f9c0d1e)',
    },
    { name: 'provision', status: 'ok', seconds: 75.2 },
  ]);
  assert.equal(parsed, JSON.parse(JSON.stringify(SUMMARY)));
});

json('puts the progress on stderr as plain lines', () => {
  const { err } = report('json');
  assert.is(err.text, report('plain').err.text);
});

json.run();

// ---------------------------------------------------------------------------------------

const choosing = suite('chooseOutputMode and the formatting helpers');

choosing('picks json when asked, plain in CI or without a terminal, tty otherwise', () => {
  assert.is(chooseOutputMode({ json: true, isTTY: true, env: {} }), 'json');
  assert.is(chooseOutputMode({ json: false, isTTY: true, env: {} }), 'tty');
  assert.is(chooseOutputMode({ json: false, isTTY: true, env: { CI: 'true' } }), 'plain');
  assert.is(chooseOutputMode({ json: false, isTTY: true, env: { CI: 'false' } }), 'tty');
  assert.is(chooseOutputMode({ json: false, isTTY: true, env: { CI: '' } }), 'tty');
  assert.is(chooseOutputMode({ json: false, isTTY: false, env: {} }), 'plain');
});

choosing('formats seconds below and above a minute', () => {
  assert.is(formatSeconds(0), '0.0s');
  assert.is(formatSeconds(4.26), '4.3s');
  assert.is(formatSeconds(59.9), '59.9s');
  assert.is(formatSeconds(60), '1m00s');
  assert.is(formatSeconds(75.2), '1m15s');
  assert.is(formatSeconds(119.6), '2m00s');
  assert.is(formatSeconds(3599.7), '60m00s');
});

choosing('lays out the summary table in columns with a total', () => {
  assert.is(
    formatSummaryTable(SUMMARY),
    [
      'preflight  done     0.4s',
      'bake       skipped  0.0s   image 3f9c0d1e already baked (bakery-demo:3f9c0d1e)',
      'provision  done     1m15s',
      'total               1m16s',
    ].join('\n'),
  );
});

choosing('truncates with an ellipsis and strips colours', () => {
  assert.is(truncate('abcdef', 4), 'abc…');
  assert.is(truncate('abc', 4), 'abc');
  assert.is(stripAnsi('\x1b[32mok\x1b[0m \x1b]8;;http://x\x07link\x1b]8;;\x07'), 'ok link');
});

choosing('says what a dry run would do', () => {
  assert.is(
    formatPlain(
      {
        kind: 'stage-end',
        stage: 'bake',
        title: 'Bake the image',
        status: 'planned',
        seconds: 0,
        reason: 'packer build -only=docker.app',
      },
      false,
    ),
    '[bake] would run in 0.0s: packer build -only=docker.app',
  );
  assert.is(
    formatPlain(
      { kind: 'run-start', command: 'destroy', env: 'staging', target: 'aws', logDir: '/x', dryRun: true },
      false,
    ),
    'dry run: destroy staging (target aws); logs in /x',
  );
});

choosing.run();
