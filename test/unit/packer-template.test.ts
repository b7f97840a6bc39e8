// packer/: `packer validate` with realistic variables (both sources; validate
// works offline), `packer fmt -check`, the variables' validation rules, and
// the parts of the template that other stages rely on, read from the HCL.

import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { parse } from '@cdktf/hcl2json';
import { suite } from '../support/suite.ts';
import * as assert from 'uvu/assert';
import {
  PACKER_DIR,
  packerEnv,
  runTool,
  tailOf,
  testBakeVariables,
  type BakeVariables,
  type ToolResult,
} from '../helpers/bake.ts';

type Block = Record<string, unknown>;

const realistic: BakeVariables = testBakeVariables({
  app_name: 'shop',
  environment: 'staging',
  version: '2.4.1',
  fingerprint: '3f9c2b1d0e8a7c6b5a49382716f5e4d3c2b1a09f8e7d6c5b4a3928170f6e5d4c',
  git_revision: '5d41402abc4b2a76b9719d911017c592ae1c7c2f',
  service_port: 8080,
  baked_at: '2026-05-01T12:00:00Z',
  base_docker_image: 'debian:bookworm',
  aws_region: 'eu-west-1',
  instance_type: 't3.micro',
  ssh_source_cidrs: ['203.0.113.7/32'],
  // Not empty, so that validation runs the pattern (Go's RE2) on each item.
  app_build_commands: ['python manage.py collectstatic --no-input && echo done'],
});

// CHECKPOINT_DISABLE: no version check against HashiCorp's servers.
function packer(args: string[], variables: BakeVariables = realistic): Promise<ToolResult> {
  return runTool('packer', args, { env: { ...packerEnv(variables), CHECKPOINT_DISABLE: '1' } });
}

const Packer = suite('packer/ is valid and formatted for Packer 1.6.6');

Packer('packer validate accepts the template with realistic variables for both sources', async () => {
  const result = await packer(['validate', `${PACKER_DIR}/`]);
  assert.is(result.code, 0, `packer validate failed:\n${tailOf(result)}`);
});

Packer('packer validate accepts -only=docker.app and -only=amazon-ebs.app', async () => {
  for (const build of ['docker.app', 'amazon-ebs.app', 'qemu.app']) {
    const result = await packer(['validate', `-only=${build}`, `${PACKER_DIR}/`]);
    assert.is(result.code, 0, `packer validate -only=${build} failed:\n${tailOf(result)}`);
  }
});

Packer('packer fmt -check finds nothing to reformat', async () => {
  for (const directory of [PACKER_DIR, join(PACKER_DIR, 'plugins')]) {
    const result = await runTool('packer', ['fmt', '-check', '-diff', `${directory}/`]);
    assert.is(result.code, 0, `packer fmt -check ${directory} wants changes:\n${tailOf(result)}`);
  }
});

Packer('the amazon-ebs source sends its EC2 calls to aws_endpoint_ec2, not to AWS', async () => {
  // A loopback EC2 API that refuses everything: the first call Packer makes proves where it goes.
  const actions: string[] = [];
  const server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      actions.push(new URLSearchParams(body).get('Action') ?? '?');
      const xml =
        '<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error><Code>AuthFailure</Code><Message>loopback EC2 says no</Message></Error></Errors><RequestID>1</RequestID></Response>';
      response.writeHead(401, { 'content-type': 'text/xml' }).end(xml);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const result = await runTool('packer', ['build', '-only=amazon-ebs.app', '-machine-readable', `${PACKER_DIR}/`], {
      env: {
        ...packerEnv(realistic),
        PKR_VAR_aws_endpoint_ec2: endpoint,
        CHECKPOINT_DISABLE: '1',
        AWS_ACCESS_KEY_ID: 'AKIAIOSFODNN7EXAMPLE',
        AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
        AWS_EC2_METADATA_DISABLED: 'true',
      },
    });
    assert.is.not(result.code, 0);
    assert.match(result.stdout, /loopback EC2 says no/);
    assert.ok(actions.length > 0 && actions.every((action) => action === 'DescribeRegions'), actions.join(','));
  } finally {
    server.close();
  }
});

Packer('packer validate rejects an aws_endpoint_ec2 that is not an http(s) URL', async () => {
  const result = await runTool('packer', ['validate', `${PACKER_DIR}/`], {
    env: { ...packerEnv(realistic), PKR_VAR_aws_endpoint_ec2: 'ec2.local', CHECKPOINT_DISABLE: '1' },
  });
  assert.is.not(result.code, 0);
  assert.match(`${result.stdout}${result.stderr}`, /aws_endpoint_ec2 must be empty or an http\(s\) URL/);
});

Packer.run();

const Rules = suite('the variables reject values the bake must not run with');

// The limits come from deploy.yaml's schema (packer/variables.gen.pkr.hcl is generated); the
// first two are where the hand-written copies once said 32 characters and port 1.
const rejections: Array<[string, Partial<BakeVariables>, RegExp]> = [
  [
    'an app name longer than the schema allows',
    { app_name: 'a'.repeat(21) },
    /app_name must be .*at most 20 characters \(deploy\.yaml app\)/,
  ],
  [
    'a privileged port',
    { service_port: 80 },
    /service_port must be a whole number from 1024 to 65535 \(deploy\.yaml environments\.<name>\.service\.port\)/,
  ],
  ['an empty app name', { app_name: '' }, /app_name must be a string matching/],
  [
    'a fingerprint that is not a sha256',
    { fingerprint: 'abc123' },
    /fingerprint must be a string matching \^\[0-9a-f\]\{64\}\$/,
  ],
  ['an upper-case app name', { app_name: 'Shop' }, /app_name must be a string matching/],
  ['a port out of range', { service_port: 70000 }, /service_port must be a whole number from 1024 to 65535/],
  ['SSH open to the world', { ssh_source_cidrs: ['0.0.0.0/0'] }, /ssh_source_cidrs must be IPv4 CIDRs/],
  ['a bake time that is not RFC 3339 UTC', { baked_at: 'yesterday' }, /baked_at must be empty or an RFC 3339/],
  ['a region name that is not one', { aws_region: 'Ireland' }, /aws_region must be a string matching/],
  [
    'a blank build command',
    { app_build_commands: ['python manage.py check', '   '] },
    /app_build_commands must be a list of 0 to 20 items.*\(deploy\.yaml environments\.<name>\.service\.build\)/,
  ],
];

for (const [what, change, message] of rejections) {
  Rules(`packer validate rejects ${what}`, async () => {
    const result = await packer(['validate', `${PACKER_DIR}/`], { ...realistic, ...change });
    assert.is.not(result.code, 0, `packer validate accepted ${JSON.stringify(change)}`);
    assert.match(`${result.stdout}${result.stderr}`.replace(/\s+/g, ' '), message);
  });
}

Rules.run();

const Template = suite<{ hcl: Block }>('the template keeps the contract with the runner', { hcl: {} });

Template.before(async (context) => {
  const text = await readFile(join(PACKER_DIR, 'app.pkr.hcl'), 'utf8');
  context.hcl = (await parse('app.pkr.hcl', text)) as Block;
});

function source(hcl: Block, type: string): Block {
  const block = ((hcl.source as Record<string, Record<string, Block[]>>)[type]?.app ?? [])[0];
  if (!block) throw new Error(`source "${type}" "app" is missing`);
  return block;
}

function locals(hcl: Block): Block {
  return Object.assign({}, ...((hcl.locals as Block[] | undefined) ?? [])) as Block;
}

Template(
  'AMI tags, snapshot tags and Docker labels carry app, env, fingerprint, version and git revision',
  ({ hcl }) => {
    const { image_tags: tags, docker_labels: labels } = locals(hcl) as { image_tags: Block; docker_labels: Block };
    for (const key of ['app', 'env', 'fingerprint', 'version', 'git_revision']) {
      assert.ok(`bakery:${key}` in tags, `tag bakery:${key}`);
      assert.ok(`bakery.${key}` in labels, `label bakery.${key}`);
    }
    const ebs = source(hcl, 'amazon-ebs');
    assert.is(ebs.tags, '${local.image_tags}');
    assert.is(ebs.snapshot_tags, '${local.image_tags}');
    assert.match(String(locals(hcl).ami_name), /var\.app_name.*var\.environment.*substr\(var\.fingerprint, 0, 12\)/);
  },
);

Template('the AMI builder uses an encrypted gp3 root volume and SSH only from the runner', ({ hcl }) => {
  const ebs = source(hcl, 'amazon-ebs');
  // encrypt_boot would deregister an untagged intermediate AMI (iam/deploy-policy.json forbids it).
  assert.is(ebs.encrypt_boot, undefined);
  const [root] = ebs.launch_block_device_mappings as Block[];
  assert.is(root?.encrypted, true);
  assert.is(root?.volume_type, 'gp3');
  assert.is(ebs.temporary_security_group_source_cidrs, '${var.ssh_source_cidrs}');
  assert.is(ebs.ssh_keypair_name, undefined, 'a temporary key pair, not a shared one');
});

Template('the ansible provisioner carries the SSH-proxy workaround', ({ hcl }) => {
  const provisioners = ((hcl.build as Block[])[0] as Block).provisioner as Record<string, Block[]>;
  const ansible = provisioners.ansible?.[0] as Block;
  assert.ok((ansible.ansible_env_vars as string[]).some((entry) => /^ANSIBLE_SSH_ARGS=.*\+ssh-rsa/.test(entry)));
  const extraArguments = String(ansible.extra_arguments);
  assert.match(extraArguments, /\["--scp-extra-args", "'-O'"/);
  // The Docker build container is reached by name through docker exec, not through the proxy.
  assert.match(
    extraArguments,
    /"--connection", "community\.docker\.docker", "--extra-vars", "ansible_docker_host=\$\{local\.docker_build_container\}"/,
  );
  const image = source(hcl, 'docker');
  assert.ok((image.run_command as string[]).includes('${local.docker_build_container}'));
  // The VM's own sshd is reached directly; the AMI keeps Packer's proxy.
  assert.match(String(ansible.use_proxy), /source\.type != "qemu"/);
  const imds = provisioners['shell-local']?.[0] as Block;
  assert.equal(imds.only, ['amazon-ebs.app'], 'IMDSv2 is required on the AWS builder only');
});

Template.run();
