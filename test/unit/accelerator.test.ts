import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { chooseAccelerator, detectAccelerator, kernelStarted, probeArgs } from '../../pipeline/bake/accelerator.ts';
import { suite } from '../support/suite.ts';

const choice = suite('chooseAccelerator takes KVM only when the kernel started under it');

choice('KVM that booted the kernel is chosen', () => {
  const chosen = chooseAccelerator({ usable: true, booted: true, seconds: 2.04 });
  assert.is(chosen.accelerator, 'kvm');
  assert.match(chosen.reason, /started under KVM in 2\.0 s/);
});

choice('KVM that hung falls back to TCG and says so', () => {
  const chosen = chooseAccelerator({ usable: true, booted: false, seconds: 30 });
  assert.is(chosen.accelerator, 'tcg');
  assert.match(chosen.reason, /did not start under KVM within 30 s/);
});

choice('no usable /dev/kvm means TCG', () => {
  const chosen = chooseAccelerator({ usable: false, why: '/dev/kvm is missing' });
  assert.is(chosen.accelerator, 'tcg');
  assert.match(chosen.reason, /\/dev\/kvm is missing/);
});

choice.run();

const serial = suite('kernelStarted reads the serial console');

serial('the decompressor alone is not a started kernel', () => {
  assert.not.ok(kernelStarted('Decompressing Linux... Parsing ELF... done.\r\nBooting the kernel.\r\n'));
});

serial('running the initramfs init is', () => {
  assert.ok(kernelStarted('[    1.602113] Freeing unused kernel image (initmem) memory: 2800K\r\n'));
  assert.ok(kernelStarted('[    1.7] Run /init as init process\r\n'));
});

serial.run();

const args = suite('probeArgs boots the disk without writing it or reaching any network');

args('the disk is behind -snapshot, no NIC, serial on stdout, the given accelerator', () => {
  const argv = probeArgs('/cache/base.qcow2', 'kvm');
  assert.ok(argv.includes('-snapshot'));
  assert.is(argv[argv.indexOf('-accel') + 1], 'kvm');
  assert.is(argv[argv.indexOf('-nic') + 1], 'none');
  assert.is(argv[argv.indexOf('-serial') + 1], 'stdio');
  assert.is(argv[argv.indexOf('-drive') + 1], 'file=/cache/base.qcow2,if=virtio,format=qcow2');
});

args.run();

interface Context {
  dir: string;
}
const detect = suite<Context>('detectAccelerator caches its answer per base disk');
detect.before.each(async (context) => {
  context.dir = await mkdtemp(join(tmpdir(), 'bakery-accel-'));
});
detect.after.each(async (context) => {
  await rm(context.dir, { recursive: true, force: true });
});

detect('a missing KVM device gives TCG without booting, and the answer is cached', async ({ dir }) => {
  const cacheFile = join(dir, 'accelerator.json');
  const options = { disk: join(dir, 'base.qcow2'), cacheFile, kvmDevice: join(dir, 'no-kvm') };
  const first = await detectAccelerator(options);
  assert.equal([first.accelerator, first.cached], ['tcg', false]);
  assert.match(first.reason, /no-kvm is missing or not read-writable/);
  const stored = JSON.parse(await readFile(cacheFile, 'utf8')) as { accelerator: string; disk: string };
  assert.equal([stored.accelerator, stored.disk], ['tcg', options.disk]);
  const second = await detectAccelerator(options);
  assert.equal([second.accelerator, second.cached], ['tcg', true]);
});

detect('a cached answer for another disk is not reused', async ({ dir }) => {
  const cacheFile = join(dir, 'accelerator.json');
  await detectAccelerator({ disk: join(dir, 'old.qcow2'), cacheFile, kvmDevice: join(dir, 'no-kvm') });
  const other = await detectAccelerator({ disk: join(dir, 'new.qcow2'), cacheFile, kvmDevice: join(dir, 'no-kvm') });
  assert.is(other.cached, false);
});

detect.run();
