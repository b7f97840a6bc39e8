import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { PreflightError } from '../../pipeline/errors.ts';
import { compareVersions, TOOLS, type ToolName } from '../../pipeline/process/tool-versions.ts';
import { containerMode, decidePlacement, isInToolingContainer } from '../../pipeline/reexec/placement.ts';
import {
  checkTool,
  hostToolProblems,
  requiredTools,
  versionProbe,
  type VersionProbe,
} from '../../pipeline/reexec/tools.ts';
import { checkTools } from '../../pipeline/targets/aws/preflight.ts';
import { recordingIO } from '../helpers/aws-io.ts';
import { REPO_ROOT, makeTempDir, removeDir } from '../support/files.ts';
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
  terraformJson:
    '{"terraform_version":"1.11.4","platform":"linux_amd64","provider_selections":{},"terraform_outdated":false}',
  terraformOld: 'Terraform v1.3.9\non linux_amd64',
  ansible: 'ansible-playbook [core 2.14.18]\n  config file = None',
  ansibleOld: 'ansible-playbook 2.10.8\n  config file = None',
} as const;

const parse = suite('tool version probes read what the tools print');

parse('reads docker, packer, terraform and ansible-playbook versions', () => {
  assert.is(TOOLS.terraform.parse(OUTPUT.terraformJson), '1.11.4');
  assert.is(TOOLS.docker.parse(OUTPUT.docker), '28.2.2');
  assert.is(TOOLS.docker.parse(OUTPUT.dockerDebian), '20.10.24');
  assert.is(TOOLS.packer.parse(OUTPUT.packerNew), '1.12.0');
  assert.is(TOOLS.terraform.parse(OUTPUT.terraform), '1.11.4');
  assert.is(TOOLS['ansible-playbook'].parse(OUTPUT.ansible), '2.14.18');
  assert.is(TOOLS['ansible-playbook'].parse(OUTPUT.ansibleOld), '2.10.8');
});

parse('compares versions numerically, not as text', () => {
  assert.ok(compareVersions('1.10.0', '1.9.9') > 0);
  assert.ok(compareVersions('1.10.5', '1.11.0') < 0);
  assert.ok(compareVersions('2.9', '2.14.0') < 0);
  assert.is(compareVersions('20.10', '20.10.0'), 0);
  assert.is(compareVersions('1.6.6', '1.6.6'), 0);
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
  assert.is(
    (await checkTool('ansible-playbook', fakeProbe({ 'ansible-playbook': OUTPUT.ansibleOld }))).state,
    'too-old',
  );
  assert.is((await checkTool('packer', fakeProbe({ packer: 'segmentation fault' }))).state, 'unknown-version');
});

parse.run();

// ---------------------------------------------------------------------------------------

const floors = suite('each minimum is the floor the project itself declares');

const read = (path: string): string => readFileSync(join(REPO_ROOT, path), 'utf8');
const declared = (text: string, pattern: RegExp, where: string): string => {
  const found = pattern.exec(text)?.[1];
  if (!found) throw new Error(`no version floor found in ${where}`);
  return found;
};

floors('terraform: terraform/versions.tf required_version', () => {
  assert.is(
    declared(read('terraform/versions.tf'), /required_version\s*=\s*">=\s*([\d.]+)"/, 'terraform/versions.tf'),
    TOOLS.terraform.minimum,
  );
});

floors('packer: packer/app.pkr.hcl required_version', () => {
  assert.is(
    declared(read('packer/app.pkr.hcl'), /required_version\s*=\s*">=\s*([\d.]+)"/, 'packer/app.pkr.hcl'),
    TOOLS.packer.minimum,
  );
});

floors("ansible-playbook: every role's min_ansible_version", () => {
  for (const role of ['base', 'hardening', 'app']) {
    const floor = declared(read(`ansible/roles/${role}/meta/main.yml`), /min_ansible_version:\s*"?([\d.]+)"?/, role);
    assert.is(compareVersions(floor, TOOLS['ansible-playbook'].minimum), 0, `role ${role} says ${floor}`);
  }
});

floors('the tooling image pins versions the table accepts', () => {
  const dockerfile = read('docker/tooling/Dockerfile');
  const pins: Array<[ToolName, string]> = [
    ['terraform', 'TERRAFORM_VERSION'],
    ['packer', 'PACKER_VERSION'],
    ['docker', 'DOCKER_CLI_VERSION'],
    ['ansible-playbook', 'ANSIBLE_CORE_VERSION'],
  ];
  for (const [tool, argument] of pins) {
    // ANSIBLE_CORE_VERSION is a pip pattern such as 2.14.*: its fixed part is the floor.
    const pinned = declared(dockerfile, new RegExp(`ARG ${argument}=([\\d.]+\\d)`), argument);
    assert.ok(
      compareVersions(pinned, TOOLS[tool].minimum) >= 0,
      `${argument}=${pinned} is below ${tool}'s minimum ${TOOLS[tool].minimum}`,
    );
  }
});

floors.run();

// ---------------------------------------------------------------------------------------

const agree = suite<{ bin: string }>('--container auto and the aws preflight judge a host terraform alike');
agree.before.each((context) => {
  context.bin = makeTempDir('bakery-tool-versions-');
});
agree.after.each((context) => removeDir(context.bin));

/** A real `terraform` on a PATH of its own that prints `version` as Terraform does with -json. */
function installTerraform(bin: string, version: string): NodeJS.ProcessEnv {
  writeFileSync(
    join(bin, 'terraform'),
    `#!/bin/sh\necho '{"terraform_version":"${version}","platform":"linux_amd64"}'\n`,
    { mode: 0o755 },
  );
  return { PATH: bin };
}

/** Stage IO whose runs really execute the tool (the aws preflight's io.run, minus the logs). */
function executingIO(env: NodeJS.ProcessEnv): ReturnType<typeof recordingIO> {
  return recordingIO((spec) => ({
    stdout: execFileSync(spec.tool, spec.args, { env: { ...env, ...spec.env }, encoding: 'utf8' }),
  }));
}

for (const version of ['1.6.0', '1.10.9', '1.11.0', '1.11.4']) {
  agree(`terraform ${version}: both accept it or both refuse it`, async ({ bin }) => {
    const env = installTerraform(bin, version);
    const hostProblems = await hostToolProblems('destroy', 'aws', versionProbe(env));
    const preflight = await checkTools(executingIO(env), ['terraform'], env).then(
      () => 'accepted',
      (error: unknown) => {
        assert.instance(error, PreflightError);
        return 'refused';
      },
    );
    const probe = hostProblems.length === 0 ? 'accepted' : 'refused';
    assert.is(probe, preflight, `container mode ${probe} terraform ${version}, preflight ${preflight} it`);
    assert.is(probe, compareVersions(version, '1.11.0') >= 0 ? 'accepted' : 'refused');
  });
}

agree('a host terraform 1.6 sends --container auto to the container, naming the version', async ({ bin }) => {
  const env = installTerraform(bin, '1.6.0');
  const problems = await hostToolProblems('destroy', 'aws', versionProbe(env));
  const placement = decidePlacement('auto', false, problems);
  assert.is(placement.where, 'container');
  assert.is(placement.reason, `terraform 1.6.0 is older than the supported ${TOOLS.terraform.minimum}`);
});

agree.run();

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
    assert.equal(decidePlacement(mode, true, [{ tool: 'packer', state: 'missing' }]), {
      where: 'host',
      reason: 'already inside the tooling container',
    });
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
