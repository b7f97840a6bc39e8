// One-off instances (pipeline/targets/aws/one-off.ts, one-off-script.ts): the script the
// instance runs, executed by /bin/sh with fake systemctl/systemd-run; the console read
// back; and the runner against mocked EC2 and Auto Scaling answers, which must always end
// with the instance terminated.

import { DescribeAutoScalingGroupsCommand } from '@aws-sdk/client-auto-scaling';
import {
  DescribeInstancesCommand,
  DescribeLaunchTemplateVersionsCommand,
  GetConsoleOutputCommand,
  RunInstancesCommand,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import { execFile } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import * as assert from 'uvu/assert';
import { parse, stringify } from 'yaml';
import { InterruptedError } from '../../pipeline/errors.ts';
import {
  OneOffInstanceError,
  OneOffLaunchError,
  fleetLaunchSpec,
  runOneOffInstance,
  type OneOffRequest,
} from '../../pipeline/targets/aws/one-off.ts';
import {
  SCRIPT_PATH,
  newLines,
  oneOffScript,
  oneOffUserData,
  readConsole,
  shellQuote,
} from '../../pipeline/targets/aws/one-off-script.ts';
import { awsError, mockedClients, recordingIO } from '../helpers/aws-io.ts';
import { suite } from '../support/suite.ts';

const MARKER = 'BAKERY-ONE-OFF-test1234';
const b64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64');
const TEMPLATE_USER_DATA = b64(
  '#cloud-config\nwrite_files:\n  - path: /etc/bakery/app.env\n    owner: root:root\n    permissions: "0600"\n    content: |\n      APP_PUBLIC_HOST="shop.example"\n',
);

const Script = suite<{ dir: string }>('one-off instance script');

Script.before.each(async (context) => {
  context.dir = await mkdtemp(join(tmpdir(), 'bakery-one-off-'));
});

Script.after.each(async ({ dir }) => {
  await rm(dir, { recursive: true, force: true });
});

/** Runs the script with fake systemctl, systemd-run and shutdown first on PATH; returns the "console". */
async function runScript(dir: string, fakeRun: string, secretsExit = 0): Promise<{ console: string; calls: string }> {
  const bin = join(dir, 'bin');
  await writeFile(join(dir, 'calls'), '');
  const fake = async (name: string, body: string) => {
    await writeFile(join(bin, name), `#!/bin/sh\necho "${name} $*" >>${join(dir, 'calls')}\n${body}\n`);
    await chmod(join(bin, name), 0o755);
  };
  await promisify(execFile)('mkdir', ['-p', bin]);
  await fake(
    'systemctl',
    `case "$1" in start) exit ${secretsExit};; status) echo "secrets.json: GetParameters: AccessDenied";; esac`,
  );
  await fake('systemd-run', fakeRun);
  await fake('shutdown', 'exit 0');
  await fake('sync', 'exit 0');
  const script = oneOffScript({
    app: 'shop',
    argv: ['/bin/sh', '-c', "python manage.py migrate --no-input && echo 'done'"],
    marker: MARKER,
    lifetimeMinutes: 20,
    console: join(dir, 'console'),
    runDir: dir,
  });
  await writeFile(join(dir, 'one-off.sh'), script);
  await promisify(execFile)('/bin/sh', [join(dir, 'one-off.sh')], {
    env: { PATH: `${bin}:/usr/bin:/bin` },
  });
  return { console: await readFile(join(dir, 'console'), 'utf8'), calls: await readFile(join(dir, 'calls'), 'utf8') };
}

Script(
  'the output is framed, numbered, stderr included, and the exit code follows; then the instance powers off',
  async ({ dir }) => {
    const { console, calls } = await runScript(
      dir,
      'echo "Applying shop.0002... OK"; echo "warning: slow" >&2; printf "no newline"; exit 3',
    );
    assert.is(
      console,
      [
        `${MARKER} BEGIN`,
        `${MARKER} 1 Applying shop.0002... OK`,
        `${MARKER} 2 warning: slow`,
        `${MARKER} 3 no newline`,
        `${MARKER} EXIT 3`,
        '',
      ].join('\n'),
    );
    const lines = calls.trim().split('\n');
    assert.is(lines[0], 'shutdown -P +20');
    assert.is(lines[1], 'systemctl start shop-secrets.service');
    assert.is(lines[2], 'systemctl stop shop.service');
    assert.is(lines.at(-1), 'systemctl poweroff');
    const run = lines.find((line) => line.startsWith('systemd-run')) ?? '';
    for (const part of [
      '--wait --pipe',
      '--uid=shop --gid=shop',
      '-p WorkingDirectory=/opt/shop/app',
      '-p EnvironmentFile=-/etc/bakery/app.env',
      '--setenv=PATH=/opt/shop/venv/bin:/usr/local/bin:/usr/bin:/bin',
      "-- /bin/sh -c python manage.py migrate --no-input && echo 'done'",
    ])
      assert.ok(run.includes(part), `systemd-run lacks ${part}: ${run}`);
  },
);

Script('a failing secrets unit is reported as such, and the command never runs', async ({ dir }) => {
  const { console, calls } = await runScript(dir, 'echo ran', 1);
  assert.match(
    console,
    new RegExp(`^${MARKER} BEGIN\n${MARKER} FAIL the secrets unit shop-secrets.service failed: .*AccessDenied`),
  );
  assert.not.match(console, /EXIT/);
  assert.not.match(calls, /systemd-run/);
  assert.match(calls, /systemctl poweroff\n$/);
});

Script('words are quoted for /bin/sh whatever they hold', () => {
  assert.is(shellQuote('manage.py'), 'manage.py');
  assert.is(shellQuote("it's $HOME"), `'it'\\''s $HOME'`);
  assert.is(shellQuote(''), "''");
});

Script("the user data is the launch template's cloud-config plus the script, written root-only and run once", () => {
  const merged = parse(
    Buffer.from(oneOffUserData(TEMPLATE_USER_DATA, '#!/bin/sh\necho hi\n'), 'base64').toString('utf8'),
  );
  assert.equal(merged.write_files[0], {
    path: '/etc/bakery/app.env',
    owner: 'root:root',
    permissions: '0600',
    content: 'APP_PUBLIC_HOST="shop.example"\n',
  });
  assert.equal(merged.write_files[1], {
    path: SCRIPT_PATH,
    owner: 'root:root',
    permissions: '0700',
    content: '#!/bin/sh\necho hi\n',
  });
  assert.equal(merged.runcmd, [['/bin/sh', SCRIPT_PATH]]);
  assert.throws(() => oneOffUserData(b64('#!/bin/bash\necho x'), 'x'), /not cloud-config/);
});

Script("settings given to the one-off replace the template's; what Terraform adds of its own stays", () => {
  const withSecrets = b64(
    `#cloud-config\n${stringify({
      write_files: [
        { path: '/etc/bakery/app.env', content: 'APP_PUBLIC_HOST="shop.example"\nLOG_LEVEL="info"\n' },
        {
          path: '/etc/bakery/secrets.json',
          content: JSON.stringify({ region: 'eu-west-1', parameters: { OLD: '/old' }, database: { host: 'db' } }),
        },
      ],
    })}`,
  );
  const settings = {
    variables: { LOG_LEVEL: 'warn', GREETING: 'say "hi"' },
    secretReferences: { TOKEN: '/t' },
    region: 'eu-west-1',
  };
  const merged = parse(Buffer.from(oneOffUserData(withSecrets, 'x', settings), 'base64').toString('utf8'));
  assert.is(
    merged.write_files[0].content,
    'APP_PUBLIC_HOST="shop.example"\nLOG_LEVEL="warn"\nGREETING="say \\"hi\\""\n',
  );
  assert.equal(JSON.parse(merged.write_files[1].content), {
    region: 'eu-west-1',
    parameters: { TOKEN: '/t' },
    database: { host: 'db' },
  });
  // A template without secrets gets the file the secrets unit reads.
  const added = parse(Buffer.from(oneOffUserData(TEMPLATE_USER_DATA, 'x', settings), 'base64').toString('utf8'));
  const secrets = added.write_files.find((file: { path: string }) => file.path === '/etc/bakery/secrets.json');
  assert.equal(JSON.parse(secrets.content), { region: 'eu-west-1', parameters: { TOKEN: '/t' }, database: null });
});

Script('the console is read by marker, amid other output, and new lines are told from seen and lost ones', () => {
  const output = [
    '[   12.3] cloud-init[512]: something',
    `${MARKER} BEGIN\r`,
    `[   13.0] kernel: noise ${MARKER} 1 first`,
    `${MARKER} 2 second`,
    'BAKERY-ONE-OFF-other 3 from another run',
    `${MARKER} 3 EXIT 9`,
    `${MARKER} EXIT 0`,
  ].join('\n');
  const reading = readConsole(output, MARKER);
  assert.is(reading.began, true);
  assert.is(reading.exitCode, 0);
  assert.equal(
    reading.lines.map((l) => [l.n, l.text]),
    [
      [1, 'first'],
      [2, 'second'],
      [3, 'EXIT 9'],
    ],
  );
  assert.equal(newLines(reading, 1), { lines: reading.lines.slice(1), missed: 0 });
  const later = readConsole(`${MARKER} 7 seventh\n${MARKER} 8 eighth`, MARKER);
  assert.equal(newLines(later, 3).missed, 3);
});

Script.run();

const Runner = suite<{ mocks: ReturnType<typeof mockedClients> }>('one-off instance runner');

Runner.before.each((context) => {
  context.mocks = mockedClients();
  context.mocks.ec2.on(DescribeLaunchTemplateVersionsCommand).resolves({
    LaunchTemplateVersions: [
      {
        VersionNumber: 7,
        LaunchTemplateData: { UserData: TEMPLATE_USER_DATA, NetworkInterfaces: [{ Groups: ['sg-0instances'] }] },
      },
    ],
  });
  context.mocks.ec2.on(RunInstancesCommand).resolves({ Instances: [{ InstanceId: 'i-0oneoff' }] });
  context.mocks.ec2
    .on(DescribeInstancesCommand)
    .resolves({ Reservations: [{ Instances: [{ InstanceId: 'i-0oneoff', State: { Name: 'running' } }] }] });
  context.mocks.ec2.on(TerminateInstancesCommand).resolves({});
});

Runner.after.each((context) => {
  context.mocks.restore();
});

const request = (overrides: Partial<OneOffRequest> = {}): OneOffRequest => ({
  app: 'shop',
  environment: 'prod',
  purpose: 'release',
  imageId: 'ami-0new',
  launchTemplateId: 'lt-0fleet',
  launchTemplateVersion: '7',
  subnetIds: ['subnet-0a', 'subnet-0b'],
  argv: ['/bin/sh', '-c', 'python manage.py migrate'],
  timeoutMs: 60_000,
  pollMs: 1,
  marker: MARKER,
  ...overrides,
});

const consoleAnswer = (...lines: string[]) => ({ Output: b64(lines.join('\n')) });

Runner('streams new lines as they appear, passes the exit code on and terminates the instance', async ({ mocks }) => {
  mocks.ec2
    .on(GetConsoleOutputCommand)
    .resolvesOnce({})
    .resolvesOnce(consoleAnswer(`${MARKER} BEGIN`, `${MARKER} 1 Operations to perform:`))
    .resolvesOnce(
      consoleAnswer(
        `${MARKER} BEGIN`,
        `${MARKER} 1 Operations to perform:`,
        `${MARKER} 2   Apply all migrations: shop`,
        `${MARKER} EXIT 0`,
      ),
    );
  const streamed: string[] = [];
  const outcome = await runOneOffInstance(recordingIO(), mocks.clients, request({ onLine: (l) => streamed.push(l) }));
  assert.equal(outcome, {
    exitCode: 0,
    lines: ['Operations to perform:', '  Apply all migrations: shop'],
    timedOut: false,
    instanceId: 'i-0oneoff',
  });
  assert.equal(streamed, outcome.lines);

  const run = mocks.ec2.commandCalls(RunInstancesCommand)[0]?.args[0].input;
  assert.equal(run?.LaunchTemplate, { LaunchTemplateId: 'lt-0fleet', Version: '7' });
  assert.is(run?.ImageId, 'ami-0new');
  assert.is(run?.InstanceInitiatedShutdownBehavior, 'terminate');
  assert.equal(run?.NetworkInterfaces, [
    {
      DeviceIndex: 0,
      SubnetId: 'subnet-0a',
      Groups: ['sg-0instances'],
      AssociatePublicIpAddress: false,
      DeleteOnTermination: true,
    },
  ]);
  assert.equal(run?.TagSpecifications?.[0]?.Tags?.slice(1), [
    { Key: 'bakery:app', Value: 'shop' },
    { Key: 'bakery:env', Value: 'prod' },
    { Key: 'bakery:role', Value: 'one-off' },
  ]);
  const userData = Buffer.from(run?.UserData ?? '', 'base64').toString('utf8');
  assert.match(userData, /APP_PUBLIC_HOST/);
  assert.match(userData, new RegExp(MARKER));
  assert.equal(mocks.ec2.commandCalls(GetConsoleOutputCommand)[0]?.args[0].input, {
    InstanceId: 'i-0oneoff',
    Latest: true,
  });
  assert.equal(mocks.ec2.commandCalls(TerminateInstancesCommand)[0]?.args[0].input, { InstanceIds: ['i-0oneoff'] });
});

Runner('a failing command returns its exit code and last lines, instance terminated', async ({ mocks }) => {
  mocks.ec2
    .on(GetConsoleOutputCommand)
    .resolves(
      consoleAnswer(`${MARKER} BEGIN`, `${MARKER} 1 django.db.utils.ProgrammingError: boom`, `${MARKER} EXIT 1`),
    );
  const outcome = await runOneOffInstance(recordingIO(), mocks.clients, request());
  assert.is(outcome.exitCode, 1);
  assert.equal(outcome.lines, ['django.db.utils.ProgrammingError: boom']);
  assert.is(mocks.ec2.commandCalls(TerminateInstancesCommand).length, 1);
});

Runner('a command that outlives its timeout is reported as timed out, instance terminated', async ({ mocks }) => {
  mocks.ec2.on(GetConsoleOutputCommand).resolves(consoleAnswer(`${MARKER} BEGIN`, `${MARKER} 1 waiting for a lock`));
  const outcome = await runOneOffInstance(recordingIO(), mocks.clients, request({ timeoutMs: 30, pollMs: 5 }));
  assert.is(outcome.timedOut, true);
  assert.is(outcome.exitCode, 124);
  assert.equal(outcome.lines, ['waiting for a lock']);
  assert.is(mocks.ec2.commandCalls(TerminateInstancesCommand).length, 1);
});

Runner('an instance that ends without an exit code is a typed error naming it and why', async ({ mocks }) => {
  mocks.ec2.on(GetConsoleOutputCommand).resolves(consoleAnswer(`${MARKER} BEGIN`));
  mocks.ec2.on(DescribeInstancesCommand).resolves({
    Reservations: [
      {
        Instances: [
          {
            InstanceId: 'i-0oneoff',
            State: { Name: 'terminated' },
            StateReason: { Message: 'Server.InternalError: Internal error on launch' },
          },
        ],
      },
    ],
  });
  try {
    await runOneOffInstance(recordingIO(), mocks.clients, request());
    assert.unreachable('should have thrown');
  } catch (error) {
    assert.instance(error, OneOffInstanceError);
    assert.match((error as Error).message, /i-0oneoff ended \(terminated\) before the command did/);
    assert.match((error as OneOffInstanceError).details.join('\n'), /Internal error on launch/);
  }
  assert.is(mocks.ec2.commandCalls(TerminateInstancesCommand).length, 1);
});

Runner('a failed secrets unit is a typed error with its reason', async ({ mocks }) => {
  mocks.ec2
    .on(GetConsoleOutputCommand)
    .resolves(
      consoleAnswer(`${MARKER} BEGIN`, `${MARKER} FAIL the secrets unit shop-secrets.service failed: AccessDenied`),
    );
  try {
    await runOneOffInstance(recordingIO(), mocks.clients, request());
    assert.unreachable('should have thrown');
  } catch (error) {
    assert.instance(error, OneOffInstanceError);
    assert.equal((error as OneOffInstanceError).details, [
      'the secrets unit shop-secrets.service failed: AccessDenied',
    ]);
  }
  assert.is(mocks.ec2.commandCalls(TerminateInstancesCommand).length, 1);
});

Runner('Ctrl-C while the command runs still terminates the instance', async ({ mocks }) => {
  const io = recordingIO();
  mocks.ec2.on(GetConsoleOutputCommand).callsFake(async () => {
    io.abort();
    return consoleAnswer(`${MARKER} BEGIN`);
  });
  try {
    await runOneOffInstance(io, mocks.clients, request({ pollMs: 50 }));
    assert.unreachable('should have thrown');
  } catch (error) {
    assert.instance(error, InterruptedError);
  }
  assert.equal(mocks.ec2.commandCalls(TerminateInstancesCommand)[0]?.args[0].input, { InstanceIds: ['i-0oneoff'] });
});

Runner('a terminate that fails is a warning naming the instance, not a second error', async ({ mocks }) => {
  mocks.ec2.on(GetConsoleOutputCommand).resolves(consoleAnswer(`${MARKER} EXIT 0`));
  mocks.ec2.on(TerminateInstancesCommand).rejects(awsError('UnauthorizedOperation', 'not allowed'));
  const io = recordingIO();
  const outcome = await runOneOffInstance(io, mocks.clients, request());
  assert.is(outcome.exitCode, 0);
  assert.match(
    io.warnings.join('\n'),
    /could not terminate the one-off instance i-0oneoff[\s\S]*terminate-instances --instance-ids i-0oneoff/,
  );
});

Runner('no capacity in one subnet tries the next; none anywhere is a launch error listing each', async ({ mocks }) => {
  mocks.ec2.on(GetConsoleOutputCommand).resolves(consoleAnswer(`${MARKER} EXIT 0`));
  mocks.ec2
    .on(RunInstancesCommand)
    .rejectsOnce(awsError('InsufficientInstanceCapacity', 'no t3.micro'))
    .resolvesOnce({ Instances: [{ InstanceId: 'i-0second' }] });
  const outcome = await runOneOffInstance(recordingIO(), mocks.clients, request());
  assert.is(outcome.instanceId, 'i-0second');
  assert.equal(
    mocks.ec2.commandCalls(RunInstancesCommand).map((c) => c.args[0].input.NetworkInterfaces?.[0]?.SubnetId),
    ['subnet-0a', 'subnet-0b'],
  );

  mocks.ec2.on(RunInstancesCommand).rejects(awsError('InsufficientInstanceCapacity', 'no t3.micro'));
  try {
    await runOneOffInstance(recordingIO(), mocks.clients, request());
    assert.unreachable('should have thrown');
  } catch (error) {
    assert.instance(error, OneOffLaunchError);
    assert.equal((error as OneOffLaunchError).details, [
      'subnet-0a: InsufficientInstanceCapacity',
      'subnet-0b: InsufficientInstanceCapacity',
    ]);
  }
});

Runner('an instance EC2 does not know yet (eventual consistency) is waited for, not an error', async ({ mocks }) => {
  mocks.ec2
    .on(GetConsoleOutputCommand)
    .rejectsOnce(awsError('InvalidInstanceID.NotFound', "The instance ID 'i-0oneoff' does not exist"))
    .resolves(consoleAnswer(`${MARKER} BEGIN`, `${MARKER} 1 ok`, `${MARKER} EXIT 0`));
  mocks.ec2
    .on(DescribeInstancesCommand)
    .rejects(awsError('InvalidInstanceID.NotFound', "The instance ID 'i-0oneoff' does not exist"));
  const outcome = await runOneOffInstance(recordingIO(), mocks.clients, request());
  assert.equal([outcome.exitCode, outcome.lines], [0, ['ok']]);
});

Runner("the fleet's launch template version and subnets come from its Auto Scaling group", async ({ mocks }) => {
  mocks.autoscaling.on(DescribeAutoScalingGroupsCommand).resolves({
    AutoScalingGroups: [
      {
        AutoScalingGroupName: 'shop-prod',
        LaunchTemplate: { LaunchTemplateId: 'lt-0fleet', Version: '7' },
        VPCZoneIdentifier: 'subnet-0a,subnet-0b',
        MinSize: 2,
        MaxSize: 4,
        DesiredCapacity: 2,
        DefaultCooldown: 300,
        AvailabilityZones: [],
        HealthCheckType: 'ELB',
        CreatedTime: new Date(),
      },
    ],
  });
  assert.equal(await fleetLaunchSpec(recordingIO(), mocks.clients, 'shop-prod'), {
    launchTemplateId: 'lt-0fleet',
    launchTemplateVersion: '7',
    subnetIds: ['subnet-0a', 'subnet-0b'],
  });
  mocks.autoscaling.on(DescribeAutoScalingGroupsCommand).resolves({ AutoScalingGroups: [] });
  try {
    await fleetLaunchSpec(recordingIO(), mocks.clients, 'shop-prod');
    assert.unreachable('should have thrown');
  } catch (error) {
    assert.instance(error, OneOffLaunchError);
  }
});

Runner.run();
