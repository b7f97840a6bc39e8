// The AMI's playbook path on a real kernel: the qemu.app source bakes the VM image
// (the same playbook and roles as the AMI, the VM's branches taken by facts), then a
// disposable copy of the qcow2 boots under qemu and the test asserts, from inside the
// running VM, what the AMI promises: AppArmor on with the service confined by its
// profile in enforce mode, IPv6 off on the kernel command line and in the kernel, SSH
// masked, the unit active and sandboxed, /health answering, and a second playbook run
// changing nothing. One bake and one boot are shared by every test of the file.
//
// Run by `npm run test:vm` (not `npm test`: under software emulation the bake alone
// takes many minutes). Traffic stays on this machine: qemu's user-mode network
// forwards 127.0.0.1 ports 18384 (SSH) and 18385 (service) to the VM; the VM reaches
// only Debian's package mirror, as the AMI bake does.

import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { detectAccelerator, type AcceleratorChoice } from '../../pipeline/bake/accelerator.ts';
import {
  changedTasks,
  playbookVariablesOf,
  recapOf,
  tailOf,
  testBakeVariables,
  type ToolResult,
} from '../helpers/bake.ts';
import {
  CHECK_SSH_PORT,
  VM_INVENTORY_HOST,
  bakeVm,
  bootReachable,
  makeCheckDisk,
  runPlaybookOverSsh,
  sshRoot,
  stopVm,
  vmBaseImage,
  type BootedVm,
  type VmBase,
} from '../helpers/vm.ts';
import { suite } from '../support/suite.ts';

const SSH_PORT = 18384;
const HTTP_PORT = 18385;

interface Context {
  work: string;
  base?: VmBase;
  choice?: AcceleratorChoice;
  image?: string;
  vm?: BootedVm;
}

const variables = testBakeVariables({ app_name: 'bakery-vm-check', service_port: 8080 });
const unit = `${variables.app_name}.service`;

const Vm = suite<Context>('vm: the baked VM image keeps the AMI promises on a real kernel', { work: '' });

async function root(context: Context, command: string): Promise<string> {
  const result = await sshRoot(SSH_PORT, (context.base as VmBase).key, command);
  assert.is(result.code, 0, `${command} failed in the VM:\n${tailOf(result)}`);
  return result.stdout.trim();
}

Vm.before(async (context) => {
  context.work = await mkdtemp('/tmp/bakery-vm-');
  const base = await vmBaseImage();
  context.base = base;
  console.log(`vm: base disk ${base.disk} ready in ${base.seconds.toFixed(1)} s`);
  const choice = await detectAccelerator({ disk: base.disk, cacheFile: join(base.dir, 'accelerator.json') });
  context.choice = choice;
  console.log(`vm: accelerator ${choice.accelerator}: ${choice.reason}${choice.cached ? ' (cached)' : ''}`);
  const baked = await bakeVm(variables, {
    base,
    accelerator: choice.accelerator,
    outputDirectory: join(context.work, 'output'),
  });
  context.image = baked.image;
  console.log(`vm: baked ${baked.image} in ${baked.seconds.toFixed(0)} s under ${choice.accelerator}`);

  const started = performance.now();
  const disk = await makeCheckDisk(baked.image, context.work);
  const { vm, boots } = await bootReachable(
    disk,
    choice.accelerator,
    { ssh: SSH_PORT, http: HTTP_PORT, servicePort: variables.service_port },
    {
      key: base.key,
      serialLog: (boot) => join(context.work, `serial-${boot}.log`),
      deadlineMs: choice.accelerator === 'tcg' ? 10 * 60_000 : 3 * 60_000,
    },
  );
  context.vm = vm;
  // "degraded" still means booted: the tests below say what is wrong. Three tries: one
  // SSH connection may fail on a VM that answered a moment ago.
  let systemState: Pick<ToolResult, 'code' | 'stdout'> = { code: null, stdout: '' };
  for (let attempt = 1; attempt <= 3 && systemState.code !== 0; attempt++) {
    systemState = await sshRoot(SSH_PORT, base.key, 'systemctl is-system-running --wait || true', 5 * 60_000);
  }
  assert.is(systemState.code, 0, 'the booted VM stopped answering over SSH');
  const state = systemState.stdout.trim();
  if (state !== 'running') {
    const failed = await sshRoot(SSH_PORT, base.key, 'systemctl --failed --no-legend --plain');
    console.log(`vm: the system is ${state}; failed units:\n${failed.stdout}`);
  }
  console.log(
    `vm: booted and reachable in ${((performance.now() - started) / 1000).toFixed(0)} s${boots > 1 ? ` (${boots} boots)` : ''}`,
  );
});

Vm.after(async (context) => {
  if (context.vm) await stopVm(context.vm);
  // BAKERY_VM_KEEP=1 keeps the disks and logs (Packer's, the serial consoles) to look into.
  if (context.work && process.env.BAKERY_VM_KEEP !== '1') await rm(context.work, { recursive: true, force: true });
  else if (context.work) console.log(`vm: kept ${context.work}`);
});

Vm('AppArmor is enabled and the service profile is loaded in enforce mode', async (context) => {
  assert.is(await root(context, 'cat /sys/module/apparmor/parameters/enabled'), 'Y');
  const status = JSON.parse(await root(context, 'aa-status --json')) as { profiles: Record<string, string> };
  assert.is(status.profiles[variables.app_name], 'enforce', JSON.stringify(status.profiles));
});

Vm('the running service is confined by its profile', async (context) => {
  const pid = await root(context, `systemctl show --property MainPID --value ${unit}`);
  assert.ok(Number(pid) > 0, `${unit} has no main process (MainPID=${pid})`);
  const label = await root(context, `cat /proc/${pid}/attr/current`);
  assert.is(label.replace(/\0/g, ''), `${variables.app_name} (enforce)`);
});

Vm('IPv6 is off on the kernel command line and in the running kernel', async (context) => {
  assert.match(await root(context, 'cat /proc/cmdline'), /(^|\s)ipv6\.disable=1(\s|$)/);
  assert.is(await root(context, 'test -e /proc/sys/net/ipv6 && echo present || echo absent'), 'absent');
  // The kernel lists every IPv6 address here; without the IPv6 stack the file does not exist.
  assert.is(await root(context, 'test -e /proc/net/if_inet6 && echo present || echo absent'), 'absent');
});

Vm('the SSH server is masked and nothing listens on port 22', async (context) => {
  const states = await root(context, 'systemctl is-enabled ssh.service ssh.socket || true');
  assert.equal(states.split('\n'), ['masked', 'masked']);
  // Listening TCP sockets (state 0A) from the kernel's table: local address as HEXIP:HEXPORT.
  const listening = (await root(context, 'awk \'NR > 1 && $4 == "0A" { print $2 }\' /proc/net/tcp')).split('\n');
  const ports = listening.map((address) => Number.parseInt(address.split(':')[1] ?? '', 16));
  assert.ok(ports.includes(CHECK_SSH_PORT), `the check's own sshd listens: ${ports.join(', ')}`);
  assert.not.ok(ports.includes(22), `something listens on port 22: ${ports.join(', ')}`);
});

Vm('the unit is active and its systemd-analyze security exposure is at most 2.0', async (context) => {
  assert.is(await root(context, `systemctl is-active ${unit}`), 'active');
  const report = await root(context, `systemd-analyze security --no-pager ${unit} 2>&1 | tail -n 1`);
  const exposure = Number(/Overall exposure level for \S+: ([\d.]+)/.exec(report)?.[1] ?? Number.NaN);
  console.log(`vm: ${report}`);
  assert.ok(exposure <= 2.0, `exposure ${exposure}: ${report}`);
});

Vm('/health answers 200 on the service port', async () => {
  const response = await fetch(`http://127.0.0.1:${HTTP_PORT}/health`, { signal: AbortSignal.timeout(10_000) });
  assert.is(response.status, 200);
});

Vm('a second playbook run on the booted image reports changed=0', async (context) => {
  const started = performance.now();
  const second = await runPlaybookOverSsh(SSH_PORT, (context.base as VmBase).key, playbookVariablesOf(variables));
  console.log(`vm: second playbook run in ${((performance.now() - started) / 1000).toFixed(0)} s`);
  assert.is(second.code, 0, `second run failed:\n${tailOf(second, 60)}`);
  const recap = recapOf(second.stdout, VM_INVENTORY_HOST);
  assert.is(recap.failed, 0);
  assert.is(recap.changed, 0, `tasks that changed on the second run: ${changedTasks(second.stdout).join('; ')}`);
});

Vm.run();
