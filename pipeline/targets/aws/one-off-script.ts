// What a one-off instance runs and how its output is read back, as pure functions (tested
// without AWS). The instance boots with the fleet's own cloud-config (the launch
// template's user data: the runtime settings and the secrets' names) plus one script that
// cloud-init runs once at the end of boot. The script waits for the secrets unit, runs the
// command as the service runs (systemd-run with the unit's user, directory and
// EnvironmentFile, the app's venv first on PATH), writes every output line to the serial
// console framed by a marker unique to this run and numbered, then the exit code, and
// powers the instance off (the launch template's shutdown behaviour terminates it).
//
//   <marker> BEGIN
//   <marker> 1 Operations to perform:
//   <marker> 2   Apply all migrations: shop
//   <marker> EXIT 0
//
// GetConsoleOutput returns the console's last 64 KB, so the numbers tell which lines are
// new since the previous poll and which scrolled away unread.

import { parse, stringify } from 'yaml';
import { DeployError } from '../../errors.ts';

/** Where the image has the app (ansible/roles/app/defaults/main.yml and vars/main.yml, app_name = deploy.yaml app). */
export function imageLayout(app: string) {
  const install = `/opt/${app}`;
  return {
    user: app,
    code: `${install}/app`,
    venv: `${install}/venv`,
    launcher: `${install}/launcher`,
    buildInfo: `/etc/${app}/build-info.json`,
    settingsFile: '/etc/bakery/app.env',
    secretsUnit: `${app}-secrets.service`,
    serviceUnit: `${app}.service`,
  };
}

export const SCRIPT_PATH = '/etc/bakery/one-off.sh';

/** A marker no program prints by accident: the run's own random id. */
export function oneOffMarker(random: () => string = () => Math.random().toString(36).slice(2, 12)): string {
  return `BAKERY-ONE-OFF-${random()}`;
}

/** One word for /bin/sh, whatever it holds. */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

export interface ScriptOptions {
  app: string;
  argv: readonly string[];
  marker: string;
  /** The instance powers itself off after this many minutes whatever happens (the runner may be gone). */
  lifetimeMinutes: number;
  /** Where the framed output goes: the serial console (tests: a file). */
  console?: string;
  /** Where the exit code is kept between the pipe's two ends (tests: a scratch directory). */
  runDir?: string;
}

export function oneOffScript({
  app,
  argv,
  marker,
  lifetimeMinutes,
  console = '/dev/console',
  runDir = '/run',
}: ScriptOptions): string {
  const paths = imageLayout(app);
  const q = shellQuote;
  const rc = q(`${runDir}/bakery-one-off.rc`);
  const run = [
    'systemd-run --quiet --wait --pipe --collect --service-type=exec',
    `--uid=${q(paths.user)} --gid=${q(paths.user)}`,
    `-p WorkingDirectory=${q(paths.code)} -p EnvironmentFile=-${paths.settingsFile} -p StateDirectory=${q(app)}`,
    `--setenv=PATH=${q(`${paths.venv}/bin:/usr/local/bin:/usr/bin:/bin`)} --setenv=HOME=/tmp`,
    `--setenv=PYTHONPATH=${q(`${paths.code}:${paths.launcher}`)} --setenv=PYTHONUNBUFFERED=1 --setenv=PYTHONDONTWRITEBYTECODE=1`,
    `--setenv=APP_BUILD_INFO=${q(paths.buildInfo)} --setenv=APP_STATE_DIR=${q(`/var/lib/${app}`)}`,
    `-- ${argv.map(q).join(' ')}`,
  ].join(' \\\n  ');
  return `#!/bin/sh
# bakery one-off command: runs once at boot, output to the serial console, then power off.
M=${q(marker)}
C=${q(console)}
say() { printf '%s %s\\n' "$M" "$1" >>"$C"; }
# A dead man's switch: the instance goes away even if nobody is left to terminate it.
shutdown -P +${Math.max(1, Math.ceil(lifetimeMinutes))} >/dev/null 2>&1
say BEGIN
# The secrets (and DATABASE_URL) are in the settings file before the command starts, as
# before the service starts; a failure here is the environment's, not the command's.
if ! systemctl start ${q(paths.secretsUnit)}; then
  say "FAIL the secrets unit ${paths.secretsUnit} failed: $(systemctl status --no-pager --lines=5 ${q(paths.secretsUnit)} 2>&1 | tail -n 3 | tr '\\n' ' ')"
  systemctl poweroff
  exit 0
fi
# The web service is not needed here: the one-off instance never joins the load balancer.
systemctl stop ${q(paths.serviceUnit)} >/dev/null 2>&1
# POSIX sh has no pipefail: the command's status travels through a file.
# Numbered line by line as it comes (a read loop: mawk would hold lines back in its buffer).
{ ${run} </dev/null 2>&1; echo $? >${rc}; } | {
  n=0
  while IFS= read -r line || [ -n "$line" ]; do
    n=$((n + 1))
    printf '%s %d %s\\n' "$M" "$n" "$line" >>"$C"
  done
}
say "EXIT $(cat ${rc})"
sync
systemctl poweroff
`;
}

/** The runtime settings a one-off instance runs with, when they may differ from the launch template's. */
export interface OneOffSettings {
  /** service.env: NAME → value. */
  variables: Record<string, string>;
  /** service.secrets: NAME → SSM parameter name. */
  secretReferences: Record<string, string>;
  region: string;
}

const SETTINGS_FILE = '/etc/bakery/app.env';
const SECRETS_FILE = '/etc/bakery/secrets.json';

/** One NAME="value" line, quoted as terraform/locals.tf writes the settings file. */
function settingsLine(name: string, value: string): string {
  return `${name}="${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"\n`;
}

/**
 * The fleet's write_files with `settings` in place of the launch template's: the release
 * runs while provision holds the launch template on the settings in service
 * (apply-steps.ts). What Terraform adds of its own (APP_PUBLIC_HOST, the database's
 * reference) is kept from the template.
 */
function withSettings(files: unknown[], settings: OneOffSettings): unknown[] {
  const isFile = (file: unknown, path: string): file is { path: string; content?: unknown } =>
    typeof file === 'object' && file !== null && (file as { path?: unknown }).path === path;
  const out = files.map((file) => {
    if (isFile(file, SETTINGS_FILE)) {
      const kept = String(file.content ?? '')
        .split('\n')
        .filter((line) => line.startsWith('APP_PUBLIC_HOST='))
        .map((line) => `${line}\n`);
      const lines = Object.entries(settings.variables).map(([name, value]) => settingsLine(name, value));
      return {
        ...file,
        content: [...(settings.variables.APP_PUBLIC_HOST === undefined ? kept : []), ...lines].join(''),
      };
    }
    if (isFile(file, SECRETS_FILE)) {
      let spec: Record<string, unknown> = {};
      try {
        spec = JSON.parse(String(file.content ?? '{}')) as Record<string, unknown>;
      } catch {
        // Not JSON: written again below from the settings alone.
      }
      return { ...file, content: JSON.stringify({ ...spec, parameters: { ...settings.secretReferences } }) };
    }
    return file;
  });
  if (!files.some((file) => isFile(file, SETTINGS_FILE)))
    out.push({
      path: SETTINGS_FILE,
      owner: 'root:root',
      permissions: '0600',
      content: Object.entries(settings.variables)
        .map(([name, value]) => settingsLine(name, value))
        .join(''),
    });
  if (!files.some((file) => isFile(file, SECRETS_FILE)) && Object.keys(settings.secretReferences).length > 0)
    out.push({
      path: SECRETS_FILE,
      owner: 'root:root',
      permissions: '0600',
      content: JSON.stringify({
        region: settings.region,
        parameters: { ...settings.secretReferences },
        database: null,
      }),
    });
  return out;
}

/**
 * The launch template's cloud-config with the one-off script added to write and run, and
 * `settings` (when given) in place of the template's.
 */
export function oneOffUserData(
  templateUserData: string | undefined,
  script: string,
  settings?: OneOffSettings,
): string {
  let config: Record<string, unknown> = {};
  if (templateUserData) {
    const text = Buffer.from(templateUserData, 'base64').toString('utf8');
    if (!text.startsWith('#cloud-config'))
      throw new DeployError("the launch template's user data is not cloud-config", [
        "a one-off instance adds its command to the fleet's cloud-config; terraform/locals.tf writes it: run ./deploy.ts again to restore it",
      ]);
    const parsed: unknown = parse(text);
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) config = parsed as Record<string, unknown>;
  }
  const templateFiles: unknown[] = Array.isArray(config.write_files) ? config.write_files : [];
  const writeFiles = settings ? withSettings(templateFiles, settings) : templateFiles;
  const runcmd = Array.isArray(config.runcmd) ? config.runcmd : [];
  const merged = {
    ...config,
    write_files: [...writeFiles, { path: SCRIPT_PATH, owner: 'root:root', permissions: '0700', content: script }],
    runcmd: [...runcmd, ['/bin/sh', SCRIPT_PATH]],
  };
  return Buffer.from(`#cloud-config\n${stringify(merged)}`, 'utf8').toString('base64');
}

/** What the console says so far about one run. */
export interface ConsoleReading {
  began: boolean;
  /** Numbered output lines seen in this reading, in order. */
  lines: Array<{ n: number; text: string }>;
  exitCode?: number;
  /** The script could not start the command (the secrets unit failed). */
  failure?: string;
}

export function readConsole(output: string, marker: string): ConsoleReading {
  const reading: ConsoleReading = { began: false, lines: [] };
  const prefix = `${marker} `;
  for (const raw of output.split('\n')) {
    const line = raw.replace(/\r$/, '');
    const at = line.indexOf(prefix);
    if (at < 0) continue;
    const rest = line.slice(at + prefix.length);
    if (rest === 'BEGIN') reading.began = true;
    else if (/^EXIT \d+$/.test(rest)) reading.exitCode = Number(rest.slice(5));
    else if (rest.startsWith('FAIL ')) reading.failure = rest.slice(5).trim();
    else {
      const numbered = /^(\d+) ?(.*)$/.exec(rest);
      if (numbered) reading.lines.push({ n: Number(numbered[1]), text: numbered[2] ?? '' });
    }
  }
  return reading;
}

/** The lines after `seen` (the highest number already shown), and how many scrolled away unread. */
export function newLines(
  reading: ConsoleReading,
  seen: number,
): { lines: Array<{ n: number; text: string }>; missed: number } {
  const fresh = reading.lines.filter((line) => line.n > seen).sort((a, b) => a.n - b.n);
  const unique = fresh.filter((line, index) => index === 0 || line.n !== fresh[index - 1]?.n);
  const first = unique[0]?.n;
  return { lines: unique, missed: first !== undefined && first > seen + 1 ? first - seen - 1 : 0 };
}
