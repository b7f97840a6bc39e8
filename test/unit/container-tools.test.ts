import * as assert from 'uvu/assert';
import { containerMode, decidePlacement, isInToolingContainer } from '../../pipeline/reexec/placement.ts';
import { checkTool, compareVersions, hostToolProblems, requiredTools, TOOLS, type ToolName, type VersionProbe } from '../../pipeline/reexec/tools.ts';
import { suite } from '../support/suite.ts';

/** A probe answering from a table; a missing entry is a tool that is not installed. */
function fakeProbe(outputs: Partial<Record<ToolName, string>>): VersionProbe & { calls: ToolName[] } {
  const calls: ToolName[] = [];
  const probe = async (tool: ToolName): Promise<string | undefined> => {
    calls.push(tool);
    return outputs[tool];
  };
  return Object.assign(probe, { calls });
}

// What the real tools print (first lines), including the versions Debian 12 ships.
const OUTPUT = {
  docker: 'Docker version 28.2.2, build e6534b4',
  dockerDebian: 'Docker version 20.10.24+dfsg1, build 297e128',
  packerDebian: 'Packer v1.6.6',
  packerNew: 'Packer v1.12.0\n\nYour version of Packer is out of date!',
  terraform: 'Terraform v1.11.4\non linux_amd64',
  terraformOld: 'Terraform v1.3.9\non linux_amd64',
  ansible: 'ansible-playbook [core 2.14.18]\n  config file = None',
  ansibleOld: 'ansible-playbook 2.10.8\n  config file = None',
} as const;

const parse = suite('tool version probes read what the tools print');

parse('reads docker, packer, terraform and ansible-playbook versions', () => {
  assert.is(TOOLS.docker.parse(OUTPUT.docker), '28.2.2');
  assert.is(TOOLS.docker.parse(OUTPUT.dockerDebian), '20.10.24');
  assert.is(TOOLS.packer.parse(OUTPUT.packerNew), '1.12.0');
  assert.is(TOOLS.terraform.parse(OUTPUT.terraform), '1.11.4');
  assert.is(TOOLS['ansible-playbook'].parse(OUTPUT.ansible), '2.14.18');
  assert.is(TOOLS['ansible-playbook'].parse(OUTPUT.ansibleOld), '2.10.8');
});

parse('compares versions numerically, not as text', () => {
  assert.ok(compareVersions('1.10.0', '1.9.9') > 0);
  assert.ok(compareVersions('2.9', '2.14.0') < 0);
  assert.is(compareVersions('20.10', '20.10.0'), 0);
});

parse('accepts the versions Debian 12 ships, which CI installs', async () => {
  assert.is((await checkTool('packer', fakeProbe({ packer: OUTPUT.packerDebian }))).state, 'ok');
  assert.is((await checkTool('docker', fakeProbe({ docker: OUTPUT.dockerDebian }))).state, 'ok');
  assert.is((await checkTool('ansible-playbook', fakeProbe({ 'ansible-playbook': OUTPUT.ansible }))).state, 'ok');
});

parse('reports a tool that is missing, too old or unreadable', async () => {
  assert.equal(await checkTool('terraform', fakeProbe({})), { tool: 'terraform', state: 'missing' });
  assert.equal(await checkTool('terraform', fakeProbe({ terraform: OUTPUT.terraformOld })), {
    tool: 'terraform',
    state: 'too-old',
    version: '1.3.9',
    minimum: TOOLS.terraform.minimum,
  });
  assert.is((await checkTool('ansible-playbook', fakeProbe({ 'ansible-playbook': OUTPUT.ansibleOld }))).state, 'too-old');
  assert.is((await checkTool('packer', fakeProbe({ packer: 'segmentation fault' }))).state, 'unknown-version');
});

parse.run();

const required = suite('each run needs the tools of its command and target');

required('local deploy needs docker, packer and ansible-playbook', () => {
  assert.equal(requiredTools('deploy', 'local'), ['docker', 'packer', 'ansible-playbook']);
});

required('aws deploy needs packer, terraform and ansible-playbook', () => {
  assert.equal(requiredTools('deploy', 'aws'), ['packer', 'terraform', 'ansible-playbook']);
});

required('destroy needs only what tears down', () => {
  assert.equal(requiredTools('destroy', 'local'), ['docker']);
  assert.equal(requiredTools('destroy', 'aws'), ['terraform']);
});

required('probes only the tools the run needs and returns their problems', async () => {
  const probe = fakeProbe({ docker: OUTPUT.docker, packer: OUTPUT.packerNew });
  const problems = await hostToolProblems('deploy', 'local', probe);
  assert.equal(probe.calls.sort(), ['ansible-playbook', 'docker', 'packer']);
  assert.equal(problems, [{ tool: 'ansible-playbook', state: 'missing' }]);
});

required.run();

const placement = suite('decidePlacement chooses between host and container');

placement('auto runs on the host when every tool is there', () => {
  assert.is(decidePlacement('auto', false, []).where, 'host');
});

placement('auto runs in the container when a tool is missing, and says which', () => {
  const decision = decidePlacement('auto', false, [{ tool: 'packer', state: 'missing' }]);
  assert.is(decision.where, 'container');
  assert.is(decision.reason, 'packer is not on PATH');
});

placement('always runs in the container even when the host has the tools', () => {
  assert.is(decidePlacement('always', false, []).where, 'container');
});

placement('never runs on the host even when tools are missing', () => {
  assert.is(decidePlacement('never', false, [{ tool: 'packer', state: 'missing' }]).where, 'host');
});

placement('inside the tooling container every mode runs right there', () => {
  for (const mode of ['auto', 'always', 'never'] as const) {
    assert.equal(decidePlacement(mode, true, [{ tool: 'packer', state: 'missing' }]), { where: 'host', reason: 'already inside the tooling container' });
  }
});

placement('reads the mode from the flags and BAKERY_NO_CONTAINER', () => {
  assert.is(containerMode(undefined, false, {}), 'auto');
  assert.is(containerMode('always', false, {}), 'always');
  assert.is(containerMode('always', true, {}), 'never');
  assert.is(containerMode('always', false, { BAKERY_NO_CONTAINER: '1' }), 'never');
  assert.ok(isInToolingContainer({ BAKERY_IN_CONTAINER: '1' }));
  assert.not.ok(isInToolingContainer({ BAKERY_IN_CONTAINER: '' }));
});

placement.run();
