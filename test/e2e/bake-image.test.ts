// Bakes the docker source of packer/ for real (Packer + the Ansible playbook on
// the local Debian 12 base image), boots the image with systemd as PID 1 and
// checks what the bake promises: labels, the enabled and sandboxed unit, the
// build information, and a service that answers /health. Every check runs twice: on an
// image baked in one layer (as the AMI and the VM are) and on one baked in two (the base
// layer, then the app layer on it, as local deploys are): the layered image must hold
// the same hardening and pass the same checks.

import { suite } from '../support/suite.ts';
import * as assert from 'uvu/assert';
import {
  SYSTEMD_RUN_FLAGS,
  bake,
  changedTasks,
  docker,
  playbookVariablesOf,
  recapOf,
  removeDockerObjects,
  runPlaybook,
  runTool,
  tailOf,
  testBakeVariables,
  waitFor,
  BASE_IMAGE,
  type BakeResult,
} from '../helpers/bake.ts';

const MAX_EXPOSURE = 2.5;

interface Context {
  variables: ReturnType<typeof testBakeVariables>;
  /** The base layer the image was baked on (the layered variant). */
  baseLayer?: BakeResult;
  baked?: BakeResult;
  container?: string;
}

for (const layered of [false, true]) defineBakeSuite(layered);

function defineBakeSuite(layered: boolean): void {
  const Bake = suite<Context>(
    `bake: the docker source of packer/ bakes an image that boots the service (${layered ? 'two layers' : 'one layer'})`,
    { variables: testBakeVariables() },
  );

  const unitOf = (context: Context): string => `${context.variables.app_name}.service`;

  function imageOf(context: Context): string {
    if (!context.baked) throw new Error('the bake did not produce an image (see the first failure)');
    return context.baked.imageId;
  }

  function containerOf(context: Context): string {
    if (!context.container) throw new Error('the image was not booted (see the first failure)');
    return context.container;
  }

  /** Runs a command inside the booted container; resolves with its result. */
  function inContainer(context: Context, ...command: string[]) {
    return runTool('docker', ['exec', containerOf(context), ...command]);
  }

  Bake.after(async (context) => {
    try {
      if (context.container) {
        const journal = await runTool('docker', [
          'exec',
          context.container,
          'journalctl',
          '--no-pager',
          '-n',
          '30',
          '-u',
          unitOf(context),
        ]);
        if (journal.code === 0) console.log(`--- journal of ${unitOf(context)} ---\n${journal.stdout}`);
      }
    } finally {
      await removeDockerObjects(
        context.container ? [context.container] : [],
        [context.baked?.imageId, context.baseLayer?.imageId].filter((id): id is string => id !== undefined),
      );
    }
  });

  Bake('packer build -only=docker.app prints the image id in a machine-readable artifact line', async (context) => {
    if (layered) {
      context.baseLayer = await bake({ ...context.variables, bake_layer: 'base' });
      console.log(`base layer bake took ${context.baseLayer.seconds.toFixed(1)}s: ${context.baseLayer.imageId}`);
      context.variables = { ...context.variables, bake_layer: 'app', base_docker_image: context.baseLayer.imageId };
    }
    context.baked = await bake(context.variables);
    console.log(
      `bake of ${context.variables.app_name} took ${context.baked.seconds.toFixed(1)}s: ${context.baked.imageId}`,
    );
    assert.match(context.baked.imageId, /^sha256:[0-9a-f]{64}$/);
    const builds = new Set(context.baked.lines.filter((line) => line.type === 'artifact').map((line) => line.target));
    assert.equal([...builds], ['docker.app'], 'only the docker source was built');
  });

  Bake('the image carries the bake labels, boots systemd and stops it with SIGRTMIN+3', async (context) => {
    const config = JSON.parse(await docker('image', 'inspect', '--format', '{{json .Config}}', imageOf(context))) as {
      Labels: Record<string, string> | null;
      Cmd: string[] | null;
      Entrypoint?: string[] | null;
      StopSignal?: string;
      ExposedPorts?: Record<string, unknown>;
    };
    const { variables } = context;
    assert.equal(config.Labels, {
      'bakery.app': variables.app_name,
      'bakery.env': variables.environment,
      'bakery.fingerprint': variables.fingerprint,
      'bakery.version': variables.version,
      'bakery.git_revision': variables.git_revision,
      'bakery.baked_at': variables.baked_at,
      // Not the builder container's role=builder, which the commit would otherwise keep.
      'bakery.role': 'image',
      'bakery.layer': layered ? 'app' : 'all',
      'bakery.built_from': layered ? context.baseLayer?.imageId : BASE_IMAGE,
    });
    assert.equal(config.Cmd, ['/lib/systemd/systemd']);
    assert.ok(
      (config.Entrypoint ?? []).length === 0,
      `entrypoint ${JSON.stringify(config.Entrypoint)} left over from the build container`,
    );
    assert.is(config.StopSignal, 'SIGRTMIN+3');
    assert.ok(
      config.ExposedPorts && `${variables.service_port}/tcp` in config.ExposedPorts,
      'the service port is exposed',
    );
  });

  Bake('booted with systemd as PID 1, the unit becomes active as the unprivileged service user', async (context) => {
    context.container = await docker(
      'run',
      '--detach',
      ...SYSTEMD_RUN_FLAGS,
      '--label',
      'bakery.test=bake-image',
      imageOf(context),
    );
    const unit = unitOf(context);
    const pid1 = await inContainer(context, 'cat', '/proc/1/comm');
    assert.is(pid1.stdout.trim(), 'systemd');
    await waitFor(`${unit} to become active`, async () => {
      const state = await inContainer(context, 'systemctl', 'is-active', unit);
      if (state.stdout.trim() === 'failed') throw new Error(`${unit} failed to start`);
      return state.stdout.trim() === 'active' ? true : undefined;
    });
    const enabled = await inContainer(context, 'systemctl', 'is-enabled', unit);
    assert.is(enabled.stdout.trim(), 'enabled');
    const user = await inContainer(context, 'systemctl', 'show', '--property=User', '--value', unit);
    assert.is(user.stdout.trim(), context.variables.app_name);
    const account = await inContainer(context, 'getent', 'passwd', context.variables.app_name);
    assert.match(account.stdout, /:\/nonexistent:\/usr\/sbin\/nologin$/m, 'system user without home or login shell');
  });

  Bake('the build information and the service code are installed, without tests or caches', async (context) => {
    const { variables } = context;
    const info = await inContainer(context, 'cat', `/etc/${variables.app_name}/build-info.json`);
    assert.is(info.code, 0, info.stderr);
    assert.equal(JSON.parse(info.stdout), {
      app: variables.app_name,
      version: variables.version,
      fingerprint: variables.fingerprint,
      git_revision: variables.git_revision,
      baked_at: variables.baked_at,
      environment: variables.environment,
      // The defaults: the bundled demo, served by the launcher like any other app.
      entrypoint: 'bakery_service:create_app()',
      interface: 'wsgi',
      source_revision: '',
    });
    const installed = await inContainer(context, 'find', `/opt/${variables.app_name}`, '-printf', '%u:%g %m %P\\n');
    assert.is(installed.code, 0, installed.stderr);
    assert.match(installed.stdout, /^root:\S+ 640 app\/bakery_service\/__init__\.py$/m);
    assert.match(installed.stdout, /^root:\S+ 640 launcher\/bakery_launcher\/__main__\.py$/m);
    assert.not.match(installed.stdout, /(^| )tests(\/|$)|__pycache__|\.pyc$|\.pytest_cache/m);
  });

  Bake('the image ships without apt caches and with the hardening configuration for VM boots', async (context) => {
    const caches = await inContainer(
      context,
      'find',
      '/var/cache/apt',
      '/var/lib/apt/lists',
      '-type',
      'f',
      '!',
      '-name',
      'lock',
    );
    assert.is(caches.code, 0, caches.stderr);
    assert.is(caches.stdout.trim(), '', 'apt caches left in the image');
    const sysctl = await inContainer(context, 'cat', '/etc/sysctl.d/90-bakery-hardening.conf');
    assert.is(sysctl.code, 0, sysctl.stderr);
    for (const line of [
      'net.ipv4.ip_forward = 0',
      'net.ipv4.conf.all.accept_redirects = 0',
      'net.ipv4.conf.all.rp_filter = 1',
      'net.ipv4.tcp_syncookies = 1',
      'net.ipv4.conf.all.log_martians = 1',
      '-net.ipv6.conf.all.disable_ipv6 = 1',
    ]) {
      assert.ok(sysctl.stdout.split('\n').includes(line), `missing sysctl line: ${line}`);
    }
  });

  Bake(
    '/health answers 200 on the container address (the service listens on IPv4, all interfaces)',
    async (context) => {
      const address = await docker(
        'inspect',
        '--format',
        '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}',
        containerOf(context),
      );
      assert.match(address, /^\d+\.\d+\.\d+\.\d+$/);
      const url = `http://${address}:${context.variables.service_port}/health`;
      // Asked from inside the container: only the project's own container is contacted.
      const probe = `import urllib.request; r = urllib.request.urlopen("${url}", timeout=2); print(r.status, r.read().decode())`;
      const answer = await waitFor(
        `${url} to answer`,
        async () => {
          const result = await inContainer(context, 'python3', '-c', probe);
          return result.code === 0 ? result.stdout.trim() : undefined;
        },
        30_000,
      );
      assert.match(answer, /^200 /);
      assert.equal(JSON.parse(answer.slice(4)), { status: 'ok' });
    },
  );

  Bake(`systemd-analyze security rates the unit's exposure at most ${MAX_EXPOSURE}`, async (context) => {
    const unit = unitOf(context);
    const report = await inContainer(context, 'systemd-analyze', 'security', '--no-pager', unit);
    console.log(report.stdout);
    const match = /Overall exposure level for \S+: (\d+(?:\.\d+)?)/.exec(report.stdout);
    assert.ok(match, `no exposure level in the output of systemd-analyze security:\n${report.stdout}${report.stderr}`);
    const exposure = Number(match[1]);
    assert.ok(exposure <= MAX_EXPOSURE, `exposure ${exposure} is above ${MAX_EXPOSURE}`);
  });

  // With systemd running, the playbook takes the path a VM bake takes (daemon
  // reload, start, health check against the sandboxed unit): on the booted image
  // it must find everything in place.
  Bake('the playbook run again on the booted image changes nothing and its health check passes', async (context) => {
    const result = await runPlaybook(containerOf(context), playbookVariablesOf(context.variables));
    assert.is(result.code, 0, `playbook failed on the booted image:\n${tailOf(result, 60)}`);
    const recap = recapOf(result.stdout, containerOf(context));
    assert.is(recap.failed, 0);
    assert.is(recap.changed, 0, `tasks that changed: ${changedTasks(result.stdout).join('; ')}`);
    assert.match(
      result.stdout,
      /TASK \[app : Wait until the service answers on its health endpoint\][^\n]*\n(?:[^\n]*\n)?ok: /,
    );
  });

  Bake('stopping the unit lets the service drain and exit 0 (SIGTERM, no SIGKILL)', async (context) => {
    const unit = unitOf(context);
    const stop = await inContainer(context, 'systemctl', 'stop', unit);
    assert.is(stop.code, 0, stop.stderr);
    const show = await inContainer(context, 'systemctl', 'show', '--property=Result,ExecMainCode,ExecMainStatus', unit);
    const properties = Object.fromEntries(
      show.stdout
        .trim()
        .split('\n')
        .map((line) => line.split('=', 2) as [string, string]),
    );
    // ExecMainCode 1 is CLD_EXITED: the process exited by itself rather than being killed.
    assert.equal(properties, { Result: 'success', ExecMainCode: '1', ExecMainStatus: '0' });
  });

  Bake('docker stop halts systemd at once (the image stops with SIGRTMIN+3)', async (context) => {
    const started = Date.now();
    await docker('stop', '--time', '30', containerOf(context));
    const seconds = (Date.now() - started) / 1000;
    assert.ok(seconds < 20, `docker stop took ${seconds}s: systemd did not halt on the image's stop signal`);
    assert.is(await docker('inspect', '--format', '{{.State.Running}}', containerOf(context)), 'false');
  });

  Bake.run();
}
