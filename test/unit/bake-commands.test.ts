// The bake's tool calls as data: packer's build (pipeline/bake/packer.ts) and the qemu
// probe boot (pipeline/bake/accelerator.ts), built without running either.

import * as assert from 'uvu/assert';
import { probeCommand } from '../../pipeline/bake/accelerator.ts';
import { packerBuild } from '../../pipeline/bake/packer.ts';
import { suite } from '../support/suite.ts';

const Packer = suite('packer build argv');

Packer('builds one source, machine-readable and without colour', () => {
  assert.equal(packerBuild({ source: 'docker.app', templateDir: 'packer/' }), {
    tool: 'packer',
    args: ['build', '-only=docker.app', '-machine-readable', '-color=false', 'packer/'],
  });
});

Packer('inputs are never on the command line (they travel as PKR_VAR_* variables)', () => {
  const args = packerBuild({ source: 'amazon-ebs.app', templateDir: 'packer/' }).args;
  assert.not.ok(args.some((arg) => arg === '-var' || arg.startsWith('-var=') || arg.startsWith('-var-file')));
});

Packer.run();

const Qemu = suite('qemu probe boot argv');

Qemu('qemu runs at the lowest CPU priority, the disk untouched, no network', () => {
  assert.equal(probeCommand('/cache/base.qcow2', 'kvm'), {
    tool: 'nice',
    args: [
      '-n',
      '19',
      'qemu-system-x86_64',
      '-accel',
      'kvm',
      '-m',
      '512',
      '-smp',
      '1',
      '-snapshot',
      '-drive',
      'file=/cache/base.qcow2,if=virtio,format=qcow2',
      '-nic',
      'none',
      '-display',
      'none',
      '-serial',
      'stdio',
      '-monitor',
      'none',
      '-no-reboot',
    ],
  });
});

Qemu.run();
