// The VM bake and boot for test/vm: the base disk (scripts/vm-base-image.sh), Packer's
// qemu.app source, and a booted copy of the baked qcow2 reached over SSH on loopback.
// Every qemu and Packer process runs under `nice -n 19`: the machine's two cores are
// shared, and a bake under software emulation takes minutes of CPU.

import { spawn, type ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { mkdir, writeFile, symlink, chmod, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { REPO_ROOT } from '../support/files.ts';
import {
  ANSIBLE_DIR,
  PACKER_DIR,
  artifactIdOf,
  assertSucceeded,
  packerEnv,
  parseMachineReadable,
  runTool,
  tailOf,
  waitFor,
  type BakeVariables,
  type ToolResult,
} from './bake.ts';
import type { Accelerator } from '../../pipeline/bake/accelerator.ts';

export interface VmBase {
  dir: string;
  disk: string;
  key: string;
  seconds: number;
}

/** Makes (or finds in its cache) the base disk; returns where it is. */
export async function vmBaseImage(): Promise<VmBase> {
  const started = performance.now();
  const result = assertSucceeded(
    await runTool('nice', ['-n', '19', 'bash', join(REPO_ROOT, 'scripts/vm-base-image.sh')], {
      timeoutMs: 30 * 60_000,
    }),
  );
  const dir = result.stdout.trim().split('\n').pop() ?? '';
  return {
    dir,
    disk: join(dir, 'base.qcow2'),
    key: join(dir, 'id_ed25519'),
    seconds: (performance.now() - started) / 1000,
  };
}

/**
 * Ansible's connection and privilege-escalation timeout (default 10 s): under software
 * emulation on a busy machine sudo alone can take longer to prompt ("Timeout (12s)
 * waiting for privilege escalation prompt").
 */
const ANSIBLE_TIMEOUT_SECONDS = '60';

export interface VmBakeOptions {
  base: VmBase;
  accelerator: Accelerator;
  outputDirectory: string;
}

export interface VmBakeResult {
  image: string;
  seconds: number;
  result: ToolResult;
}

/**
 * `packer build -only=qemu.app` with the test's variables; the qcow2 it wrote. Packer's
 * output also goes to `<outputDirectory>.packer.log` as it comes, to follow a long bake.
 */
export async function bakeVm(variables: BakeVariables, options: VmBakeOptions): Promise<VmBakeResult> {
  const started = performance.now();
  const log = `${options.outputDirectory}.packer.log`;
  const result = await runTool(
    'bash',
    [
      '-c',
      'set -o pipefail; nice -n 19 packer build -only=qemu.app -machine-readable "$1" | tee "$2"',
      'bash',
      `${PACKER_DIR}/`,
      log,
    ],
    {
      env: {
        ...packerEnv(variables),
        PKR_VAR_qemu_base_disk: options.base.disk,
        PKR_VAR_qemu_ssh_private_key_file: options.base.key,
        PKR_VAR_qemu_accelerator: options.accelerator,
        PKR_VAR_qemu_output_directory: options.outputDirectory,
        PKR_VAR_qemu_ssh_timeout: options.accelerator === 'tcg' ? '15m' : '5m',
        // Packer's Ansible provisioner passes its environment on to ansible-playbook.
        ANSIBLE_TIMEOUT: ANSIBLE_TIMEOUT_SECONDS,
        CHECKPOINT_DISABLE: '1',
      },
      timeoutMs: 45 * 60_000,
    },
  );
  const seconds = (performance.now() - started) / 1000;
  const lines = parseMachineReadable(result.stdout);
  if (result.code !== 0 || !artifactIdOf(lines, 'qemu.app')) {
    throw new Error(`packer build -only=qemu.app failed (exit ${result.code}), log ${log}:\n${tailOf(result, 25)}`);
  }
  const name = `${variables.app_name}-${variables.environment}-${variables.fingerprint.slice(0, 12)}.qcow2`;
  return { image: join(options.outputDirectory, name), seconds, result };
}

/** Where the check's own SSH server listens inside the VM (not 22: that one stays masked). */
export const CHECK_SSH_PORT = 2222;

/**
 * A disposable raw copy of the baked image with one addition for the check: a unit
 * `bakery-check-sshd.service` running a second sshd on port 2222. The image's own
 * ssh.service and ssh.socket stay masked, as shipped, and are asserted so; the
 * baked qcow2 itself is never written. The partition starts at 1 MiB (see
 * scripts/vm-base-image.sh); it is mounted through a loop device with an offset.
 */
export async function makeCheckDisk(image: string, work: string): Promise<string> {
  const disk = join(work, 'check.raw');
  assertSucceeded(
    await runTool('nice', ['-n', '19', 'qemu-img', 'convert', '-O', 'raw', image, disk], { timeoutMs: 10 * 60_000 }),
  );
  const loop = assertSucceeded(
    await runTool('losetup', ['--show', '--find', '--offset', String(1024 * 1024), disk]),
  ).stdout.trim();
  const root = join(work, 'root');
  await mkdir(root, { recursive: true });
  try {
    assertSucceeded(await runTool('mount', [loop, root]));
    try {
      const unit = join(root, 'etc/systemd/system/bakery-check-sshd.service');
      await writeFile(
        unit,
        [
          '# Added by test/vm to a disposable copy of the image only: the boot check logs in here.',
          '[Unit]',
          'Description=SSH server for the boot check (not part of the image)',
          'After=network.target',
          '[Service]',
          'RuntimeDirectory=sshd',
          'ExecStartPre=/usr/bin/ssh-keygen -A',
          `ExecStart=/usr/sbin/sshd -D -e -p ${CHECK_SSH_PORT} -o PidFile=/run/bakery-check-sshd.pid`,
          '[Install]',
          'WantedBy=multi-user.target',
          '',
        ].join('\n'),
      );
      await chmod(unit, 0o644);
      await symlink(
        '/etc/systemd/system/bakery-check-sshd.service',
        join(root, 'etc/systemd/system/multi-user.target.wants/bakery-check-sshd.service'),
      );
    } finally {
      assertSucceeded(await runTool('umount', [root]));
    }
  } finally {
    await runTool('losetup', ['--detach', loop]);
  }
  return disk;
}

export interface BootedVm {
  process: ChildProcess;
  serialLog: string;
  /** The last of what qemu printed on stderr (why it would not start). */
  stderrTail(): string;
}

/**
 * Boots a raw disk with user-mode networking: the check's SSH server and the
 * service port are forwarded from 127.0.0.1 only, nothing else reaches the VM.
 */
export function bootVm(
  disk: string,
  accelerator: Accelerator,
  forwards: { ssh: number; http: number; servicePort: number },
  serialLog: string,
): BootedVm {
  const child = spawn(
    'nice',
    [
      '-n',
      '19',
      'qemu-system-x86_64',
      '-accel',
      accelerator,
      '-m',
      '1024',
      '-smp',
      '2',
      '-drive',
      `file=${disk},if=virtio,format=raw`,
      '-nic',
      `user,model=virtio-net-pci,hostfwd=tcp:127.0.0.1:${forwards.ssh}-:${CHECK_SSH_PORT},hostfwd=tcp:127.0.0.1:${forwards.http}-:${forwards.servicePort}`,
      '-display',
      'none',
      '-serial',
      `file:${serialLog}`,
      '-monitor',
      'none',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-2000);
  });
  return { process: child, serialLog, stderrTail: () => stderr.trim() };
}

/** How long a booting VM's serial console may stay silent before SSH answers. */
const BOOT_STALL_MS = 180_000;

export interface ReachableVm {
  vm: BootedVm;
  /** Boots it took: 2 when the first one stalled. */
  boots: number;
}

/**
 * Boots the disk (bootVm) until its check sshd runs a command. Under software emulation
 * the guest kernel has, rarely, stopped for good early in its boot (seen once here: the
 * serial console silent after PCI enumeration at 0.98 s, SSH never up in 10 minutes;
 * the same image booted in 39 s before and after). A console silent for BOOT_STALL_MS
 * before SSH answers is taken for that: the VM is stopped and booted once more, and the
 * second boot gets the whole deadline. A VM that had in fact mounted its disk (a boot
 * slowed past the limit by a busy machine) only costs the time: its second boot
 * recovers the journal as after a power cut.
 */
export async function bootReachable(
  disk: string,
  accelerator: Accelerator,
  forwards: { ssh: number; http: number; servicePort: number },
  options: { key: string; serialLog: (boot: number) => string; deadlineMs: number },
): Promise<ReachableVm> {
  for (let boot = 1; ; boot++) {
    const vm = bootVm(disk, accelerator, forwards, options.serialLog(boot));
    let outcome: 'reachable' | 'stalled' | 'exited';
    try {
      outcome = await waitUntilReachable(vm, forwards.ssh, options.key, options.deadlineMs, boot === 1);
    } catch (error) {
      await stopVm(vm);
      throw new Error(`${(error as Error).message}\n--- serial console ---\n${await serialTail(vm.serialLog)}`, {
        cause: error,
      });
    }
    if (outcome === 'reachable') return { vm, boots: boot };
    await stopVm(vm);
    if (outcome === 'exited') {
      throw new Error(
        `qemu exited (${vm.process.exitCode ?? vm.process.signalCode}) before the VM answered over SSH: ${vm.stderrTail() || 'nothing on stderr'}`,
      );
    }
    const lastLines = await serialTail(vm.serialLog, 5);
    console.log(
      `vm: boot ${boot}: no SSH and a serial console silent for ${BOOT_STALL_MS / 1000} s; booting again. Last console lines:\n${lastLines}`,
    );
  }
}

/** Polls SSH until it answers, qemu exits or (mayStall) the console stays silent too long. */
function waitUntilReachable(
  vm: BootedVm,
  port: number,
  key: string,
  deadlineMs: number,
  mayStall: boolean,
): Promise<'reachable' | 'stalled' | 'exited'> {
  let consoleSize = -1;
  let consoleChangedAt = Date.now();
  return waitFor(
    'the booted VM to answer over SSH',
    async () => {
      if (hasExited(vm)) return 'exited';
      if ((await sshRoot(port, key, 'true', 30_000)).code === 0) return 'reachable';
      const size = (await stat(vm.serialLog).catch(() => undefined))?.size ?? 0;
      if (size !== consoleSize) [consoleSize, consoleChangedAt] = [size, Date.now()];
      if (mayStall && Date.now() - consoleChangedAt > BOOT_STALL_MS) return 'stalled';
      return undefined;
    },
    deadlineMs,
    3000,
  );
}

function hasExited(vm: BootedVm): boolean {
  return vm.process.exitCode !== null || vm.process.signalCode !== null;
}

/** Stops a booted VM: SIGTERM, then SIGKILL if qemu is still there after 10 s. */
export async function stopVm(vm: BootedVm): Promise<void> {
  if (hasExited(vm)) return;
  const exited = new Promise((resolve) => vm.process.once('exit', resolve));
  vm.process.kill('SIGTERM');
  const grace = new AbortController();
  const stopped = await Promise.race([
    exited.then(() => true),
    sleep(10_000, false, { signal: grace.signal }).catch(() => false),
  ]);
  grace.abort();
  if (!stopped) {
    vm.process.kill('SIGKILL');
    await exited;
  }
}

/** The last lines of the VM's serial console, for failure messages. */
export async function serialTail(serialLog: string, count = 40): Promise<string> {
  const text = await readFile(serialLog, 'latin1').catch(() => '');
  return text.split('\n').slice(-count).join('\n');
}

export const SSH_OPTIONS = [
  '-o',
  'StrictHostKeyChecking=no',
  '-o',
  'UserKnownHostsFile=/dev/null',
  '-o',
  'LogLevel=ERROR',
  '-o',
  'BatchMode=yes',
  '-o',
  'ConnectTimeout=10',
];

/** Runs a shell command as root in the VM (admin with sudo, through the check's sshd). */
export function sshRoot(port: number, key: string, command: string, timeoutMs = 60_000): Promise<ToolResult> {
  return runTool(
    'ssh',
    [...SSH_OPTIONS, '-i', key, '-p', String(port), 'admin@127.0.0.1', 'sudo', 'sh', '-c', shellQuote(command)],
    { timeoutMs },
  );
}

function shellQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

/**
 * The inventory name of the VM in the check's own playbook run. Not 127.0.0.1: Ansible
 * takes an inventory host among 127.0.0.1/localhost/::1 as `localhost`, so the tasks
 * delegated to this machine would run in the VM.
 */
export const VM_INVENTORY_HOST = 'vm';

/** Runs ansible/playbook.yml against the booted VM as admin (become), the way Packer does. */
export function runPlaybookOverSsh(
  port: number,
  key: string,
  extraVars: Record<string, string | number>,
): Promise<ToolResult> {
  return runTool(
    'ansible-playbook',
    [
      '--inventory',
      `${VM_INVENTORY_HOST},`,
      '--user',
      'admin',
      '--private-key',
      key,
      '--extra-vars',
      JSON.stringify({ ...extraVars, ansible_host: '127.0.0.1', ansible_port: port }),
      join(ANSIBLE_DIR, 'playbook.yml'),
    ],
    {
      env: {
        ANSIBLE_CONFIG: join(ANSIBLE_DIR, 'ansible.cfg'),
        ANSIBLE_NOCOLOR: '1',
        ANSIBLE_FORCE_COLOR: '0',
        ANSIBLE_SSH_ARGS: SSH_OPTIONS.join(' '),
        ANSIBLE_TIMEOUT: ANSIBLE_TIMEOUT_SECONDS,
      },
      timeoutMs: 30 * 60_000,
    },
  );
}
