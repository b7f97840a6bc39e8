// Which qemu accelerator boots the VM bake's kernel on this machine: KVM where it
// works, software emulation (TCG) otherwise. /dev/kvm existing is not enough: on
// some hosts (nested virtualisation) Debian 12's kernel hangs right after
// decompression under KVM while it boots under TCG. So the answer comes from a tiny
// boot of the base disk itself under KVM with a deadline, watched on the serial
// console, and is cached per base disk and host kernel.

import { constants } from 'node:fs';
import { access, readFile, writeFile } from 'node:fs/promises';
import { release } from 'node:os';
import type { Command } from '../process/command.ts';
import { runCaptured } from '../process/runner.ts';

export type Accelerator = 'kvm' | 'tcg';

export interface AcceleratorChoice {
  accelerator: Accelerator;
  /** Why, as a sentence fragment for logs and reports. */
  reason: string;
}

/** What the KVM probe found: KVM not usable at all, or whether the kernel started under it. */
export type KvmProbe = { usable: false; why: string } | { usable: true; booted: boolean; seconds: number };

/** KVM when the probe boot got the kernel going, TCG otherwise. */
export function chooseAccelerator(probe: KvmProbe): AcceleratorChoice {
  if (!probe.usable) return { accelerator: 'tcg', reason: `KVM is not usable (${probe.why})` };
  if (probe.booted)
    return { accelerator: 'kvm', reason: `the kernel started under KVM in ${probe.seconds.toFixed(1)} s` };
  return {
    accelerator: 'tcg',
    reason: `the kernel did not start under KVM within ${probe.seconds.toFixed(0)} s (software emulation instead)`,
  };
}

/**
 * Whether the serial console shows the kernel past its early start: it prints this
 * when it runs the initramfs's /init, after memory, CPUs and drivers are up.
 */
export function kernelStarted(serial: string): boolean {
  return /Run \/init as init process|Freeing unused kernel [^\n]*memory/.test(serial);
}

/** qemu's arguments for the probe: the base disk, read-only in effect (-snapshot), no network, serial on stdout. */
export function probeArgs(disk: string, accelerator: Accelerator): string[] {
  return [
    '-accel',
    accelerator,
    '-m',
    '512',
    '-smp',
    '1',
    '-snapshot',
    '-drive',
    `file=${disk},if=virtio,format=qcow2`,
    '-nic',
    'none',
    '-display',
    'none',
    '-serial',
    'stdio',
    '-monitor',
    'none',
    '-no-reboot',
  ];
}

/** The probe boot as a command: qemu at the lowest CPU priority, since the machine is shared. */
export function probeCommand(disk: string, accelerator: Accelerator): Command {
  return { tool: 'nice', args: ['-n', '19', 'qemu-system-x86_64', ...probeArgs(disk, accelerator)] };
}

/**
 * Boots the disk under one accelerator until the kernel has started or the deadline
 * passes, then stops qemu.
 */
export async function probeBoot(
  disk: string,
  accelerator: Accelerator,
  deadlineMs: number,
): Promise<{ booted: boolean; seconds: number; serial: string }> {
  const run = await runCaptured({
    ...probeCommand(disk, accelerator),
    timeoutMs: deadlineMs,
    until: kernelStarted,
    // The serial console is raw bytes, not necessarily UTF-8.
    encoding: 'latin1',
  });
  return { booted: run.stopped === 'until', seconds: run.seconds, serial: run.output };
}

export interface DetectOptions {
  /** The base disk (qcow2) whose kernel is probed. */
  disk: string;
  /** Where the answer is cached (JSON); valid for this disk and host kernel. */
  cacheFile: string;
  /** How long the kernel may take to start under KVM. */
  deadlineMs?: number;
  kvmDevice?: string;
}

interface CachedChoice extends AcceleratorChoice {
  disk: string;
  hostKernel: string;
}

/** The accelerator for VM bakes on this machine, from the cache or a probe boot. */
export async function detectAccelerator(options: DetectOptions): Promise<AcceleratorChoice & { cached: boolean }> {
  const hostKernel = release();
  const cached = await readCachedChoice(options.cacheFile);
  if (cached && cached.disk === options.disk && cached.hostKernel === hostKernel)
    return { accelerator: cached.accelerator, reason: cached.reason, cached: true };

  const device = options.kvmDevice ?? '/dev/kvm';
  let probe: KvmProbe;
  try {
    await access(device, constants.R_OK | constants.W_OK);
    const boot = await probeBoot(options.disk, 'kvm', options.deadlineMs ?? 30_000);
    probe = { usable: true, booted: boot.booted, seconds: boot.seconds };
  } catch {
    probe = { usable: false, why: `${device} is missing or not read-writable` };
  }
  const choice = chooseAccelerator(probe);
  const record: CachedChoice = { ...choice, disk: options.disk, hostKernel };
  await writeFile(options.cacheFile, `${JSON.stringify(record, null, 2)}\n`);
  return { ...choice, cached: false };
}

async function readCachedChoice(file: string): Promise<CachedChoice | undefined> {
  try {
    const parsed = JSON.parse(await readFile(file, 'utf8')) as Partial<CachedChoice>;
    if ((parsed.accelerator === 'kvm' || parsed.accelerator === 'tcg') && parsed.disk && parsed.hostKernel)
      return parsed as CachedChoice;
  } catch {
    // No cache yet, or an unreadable one: probe again.
  }
  return undefined;
}
