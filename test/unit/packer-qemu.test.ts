// packer/: the qemu.app source, the AMI's stand-in on a machine with no cloud.
// Read from the HCL: it boots the cached base disk, connects as the AMI's user,
// forwards SSH on loopback only and gets the very provisioner the AMI gets.

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from '@cdktf/hcl2json';
import * as assert from 'uvu/assert';
import { PACKER_DIR, packerEnv, runTool, tailOf, testBakeVariables } from '../helpers/bake.ts';
import { suite } from '../support/suite.ts';

type Block = Record<string, unknown>;

const Qemu = suite<{ hcl: Block }>('the qemu.app source bakes like the AMI, on loopback', { hcl: {} });

Qemu.before(async (context) => {
  const text = await readFile(join(PACKER_DIR, 'app.pkr.hcl'), 'utf8');
  context.hcl = (await parse('app.pkr.hcl', text)) as Block;
});

function qemu(hcl: Block): Block {
  const block = ((hcl.source as Record<string, Record<string, Block[]>>).qemu?.app ?? [])[0];
  if (!block) throw new Error('source "qemu" "app" is missing');
  return block;
}

Qemu('it boots the base disk (not an installer) and connects as the AMI user', ({ hcl }) => {
  const source = qemu(hcl);
  assert.is(source.disk_image, true);
  assert.is(source.iso_url, '${var.qemu_base_disk}');
  assert.is(source.accelerator, '${var.qemu_accelerator}');
  assert.is(source.ssh_username, '${var.ssh_username}');
  assert.is(source.format, 'qcow2');
});

Qemu("SSH is forwarded from 127.0.0.1 only, within bakery's ports, and no VNC server runs", ({ hcl }) => {
  const source = qemu(hcl);
  const args = source.qemuargs as string[][];
  const netdev = args.find((pair) => pair[0] === '-netdev')?.[1] ?? '';
  assert.match(netdev, /hostfwd=tcp:127\.0\.0\.1:\{\{ \.SSHHostPort \}\}-:22/);
  assert.equal(
    args.find((pair) => pair[0] === '-vnc'),
    ['-vnc', 'none'],
  );
  assert.ok((source.host_port_min as number) >= 18380 && (source.host_port_max as number) <= 18399);
});

Qemu('the Ansible provisioner is shared with the other sources (no only/except)', ({ hcl }) => {
  const build = (hcl.build as Block[])[0] as Block;
  const ansible = ((build.provisioner as Record<string, Block[]>).ansible ?? [])[0] as Block;
  assert.is(ansible.only, undefined);
  assert.is(ansible.except, undefined);
  assert.ok((build.sources as string[]).includes('source.qemu.app'));
});

Qemu('packer validate rejects an accelerator other than kvm or tcg', async () => {
  const result = await runTool('packer', ['validate', '-only=qemu.app', `${PACKER_DIR}/`], {
    env: { ...packerEnv(testBakeVariables()), PKR_VAR_qemu_accelerator: 'hvf', CHECKPOINT_DISABLE: '1' },
  });
  assert.is.not(result.code, 0, tailOf(result));
  assert.match(`${result.stdout}${result.stderr}`, /qemu_accelerator must be kvm or tcg/);
});

Qemu.run();
