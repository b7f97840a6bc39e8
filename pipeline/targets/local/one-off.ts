// One-off containers: a release command or a run.ts command, once, on an image with the
// environment's runtime settings, on the environment's network next to the fleet (the
// load balancer never sees it). The settings reach it as they reach an instance: the
// root-only EnvironmentFile copied into the created container (settings.ts), never
// `docker run -e`. Inside, a small root wrapper reads that file, drops to the service
// user and runs the command in the app's directory with the venv first on PATH, the way
// the unit runs the service (ansible/roles/app/templates/app.service.j2). The container
// is removed afterwards, whatever happened.

import type { RuntimeSettings } from '../../config/runtime-settings.ts';
import type { StageIO } from '../../context.ts';
import { ToolError } from '../../errors.ts';
import { runForwardingSignals } from '../../reexec/spawn.ts';
import type { ImageRef, OneOffCommand, OneOffResult } from '../target.ts';
import { docker } from './docker.ts';
import { LABEL, ownerLabels, type LocalNames } from './names.ts';
import type { LocalScope } from './scope.ts';
import { SETTINGS_FILE, copySettingsInto } from './settings.ts';

/** Where the image has the app (ansible/roles/app/defaults/main.yml: app_install_dir and its children). */
export function appPaths(app: string): { code: string; venv: string; launcher: string; buildInfo: string } {
  const install = `/opt/${app}`;
  return {
    code: `${install}/app`,
    venv: `${install}/venv`,
    launcher: `${install}/launcher`,
    buildInfo: `/etc/${app}/build-info.json`,
  };
}

// Runs as root in the container: parses the EnvironmentFile exactly as settings.ts wrote it
// (NAME="value", \\ and \" escaped), drops to the service user and execs the command. The
// settings never appear in the container's configuration; only this script does.
export const WRAPPER = `
import grp, os, pwd, re, sys
user, code, venv, launcher, build_info, settings_file = sys.argv[1:7]
argv = sys.argv[7:]
account = pwd.getpwnam(user)
env = {
    "PATH": venv + "/bin:/usr/local/bin:/usr/bin:/bin",
    "HOME": "/tmp",
    "LANG": "C.UTF-8",
    "PYTHONPATH": code + ":" + launcher,
    "PYTHONDONTWRITEBYTECODE": "1",
    "PYTHONUNBUFFERED": "1",
    "APP_BUILD_INFO": build_info,
    "APP_STATE_DIR": "/var/lib/" + user,
}
if "TERM" in os.environ:
    env["TERM"] = os.environ["TERM"]
try:
    with open(settings_file, encoding="utf-8") as settings:
        for line in settings.read().splitlines():
            match = re.fullmatch(r'([A-Za-z_][A-Za-z0-9_]*)="((?:[^"\\\\]|\\\\.)*)"', line)
            if match:
                env[match[1]] = re.sub(r"\\\\(.)", r"\\1", match[2])
except FileNotFoundError:
    pass
os.makedirs(env["APP_STATE_DIR"], mode=0o700, exist_ok=True)
os.chown(env["APP_STATE_DIR"], account.pw_uid, account.pw_gid)
os.setgroups(os.getgrouplist(user, account.pw_gid))
os.setgid(account.pw_gid)
os.setuid(account.pw_uid)
os.chdir(code)
try:
    os.execvpe(argv[0], argv, env)
except OSError as error:
    sys.stderr.write("bakery: cannot run %s: %s\\n" % (argv[0], error.strerror))
    sys.exit(127 if isinstance(error, FileNotFoundError) else 126)
`;

export function oneOffName(names: LocalNames, purpose: OneOffCommand['purpose']): string {
  return `${names.project}-${purpose}-${Math.random().toString(36).slice(2, 8)}`;
}

/** `docker create` arguments of a one-off container (pure: tested without Docker). */
export function oneOffCreateArgs(
  scope: Pick<LocalScope, 'env' | 'names'>,
  name: string,
  image: ImageRef,
  command: Pick<OneOffCommand, 'argv' | 'attach'>,
): string[] {
  const { env, names } = scope;
  const paths = appPaths(env.app);
  const terminal = command.attach.kind === 'terminal';
  const tty = command.attach.kind === 'terminal' && command.attach.tty;
  return [
    'create',
    '--name',
    name,
    '--hostname',
    name,
    '--network',
    names.network,
    ...(terminal ? ['--interactive'] : []),
    ...(tty ? ['--tty'] : []),
    ...ownerLabels(env, 'one-off'),
    '--label',
    `${LABEL.fingerprint}=${image.fingerprint}`,
    // The image boots systemd; a one-off runs only its command, as PID 1.
    '--entrypoint',
    '/usr/bin/python3',
    image.id,
    '-c',
    WRAPPER,
    env.app,
    paths.code,
    paths.venv,
    paths.launcher,
    paths.buildInfo,
    SETTINGS_FILE,
    ...command.argv,
  ];
}

/** Every exit code counts as an answer: the command's own, passed on. */
const ANY_EXIT = Array.from({ length: 255 }, (_, index) => index + 1);
const LAST_LINES = 20;

export async function runOneOff(
  io: StageIO,
  scope: LocalScope,
  image: ImageRef,
  settings: RuntimeSettings,
  command: OneOffCommand,
  host: { env: NodeJS.ProcessEnv } = { env: {} },
): Promise<OneOffResult> {
  const name = oneOffName(scope.names, command.purpose);
  io.progress(`starting ${name} on ${image.name ?? image.id}`);
  await docker(io, oneOffCreateArgs(scope, name, image, command));
  try {
    await copySettingsInto(io, name, settings);
    if (command.attach.kind === 'terminal') {
      const exitCode = await runForwardingSignals(
        'docker',
        ['start', '--attach', ...(command.attach.tty ? ['--interactive'] : []), name],
        {
          stdio: [command.attach.tty ? 'inherit' : 'ignore', 'inherit', 'inherit'],
          // docker reads the terminal: in our process group, or SIGTTIN stops it.
          detached: !command.attach.tty,
          env: host.env,
        },
      );
      return { exitCode, lastLines: [], timedOut: false, where: name };
    }
    try {
      const result = await io.run({
        tool: 'docker',
        args: ['start', '--attach', name],
        okExitCodes: ANY_EXIT,
        progress: (line) => (line.trim() === '' ? undefined : `${name}: ${line}`),
        ...(command.timeoutMs === undefined ? {} : { timeoutMs: command.timeoutMs }),
      });
      const lines = `${result.stdout}\n${result.stderr}`.split('\n').filter((line) => line.trim() !== '');
      return { exitCode: result.exitCode, lastLines: lines.slice(-LAST_LINES), timedOut: false, where: name };
    } catch (error) {
      if (error instanceof ToolError && error.failure.signal?.startsWith('timeout'))
        return { exitCode: 124, lastLines: error.failure.errorLines, timedOut: true, where: name };
      throw error;
    }
  } finally {
    // Also after a timeout or Ctrl-C: the container (and what it runs) must not outlive the run.
    await docker(io, ['rm', '--force', name], { cleanup: true, okExitCodes: [1] }).catch((error: unknown) => {
      io.warn(`could not remove the one-off container ${name}: ${String(error)}`);
    });
  }
}
