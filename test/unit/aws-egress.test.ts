// aws.egress at preflight (pipeline/targets/aws/egress.ts): a rule to the internet needs a
// way out of every subnet for instances without a public IP; the config's rules.

import { DescribeRouteTablesCommand } from '@aws-sdk/client-ec2';
import * as assert from 'uvu/assert';
import { parseConfig } from '../../pipeline/config/load.ts';
import { ConfigError } from '../../pipeline/errors.ts';
import { thrownBy } from '../support/fakes.ts';
import { PreflightError } from '../../pipeline/errors.ts';
import { checkEgressRoutes, isPrivateCidr, routeOut } from '../../pipeline/targets/aws/egress.ts';
import { awsEnvironment, mockedClients, recordingIO } from '../helpers/aws-io.ts';
import { suite } from '../support/suite.ts';

const Egress = suite<{ mocks: ReturnType<typeof mockedClients> }>('aws.egress');

Egress.before.each((context) => {
  context.mocks = mockedClients();
});

Egress.after.each((context) => {
  context.mocks.restore();
});

const NETWORK = {
  vpcId: 'vpc-0123456789abcdef0',
  isDefaultVpc: false,
  subnets: [
    { id: 'subnet-0aaaaaaaaaaaaaaaa', availabilityZone: 'eu-west-1a' },
    { id: 'subnet-0bbbbbbbbbbbbbbbb', availabilityZone: 'eu-west-1b' },
  ],
};

const MAIN_TO_IGW = {
  RouteTableId: 'rtb-main',
  Associations: [{ Main: true }],
  Routes: [
    { DestinationCidrBlock: '10.0.0.0/16', GatewayId: 'local' },
    { DestinationCidrBlock: '0.0.0.0/0', GatewayId: 'igw-0123' },
  ],
};
const PRIVATE_TO_NAT = {
  RouteTableId: 'rtb-private',
  Associations: [{ SubnetId: 'subnet-0aaaaaaaaaaaaaaaa' }, { SubnetId: 'subnet-0bbbbbbbbbbbbbbbb' }],
  Routes: [{ DestinationCidrBlock: '0.0.0.0/0', NatGatewayId: 'nat-0123' }],
};

Egress('private ranges are told from the internet', () => {
  assert.ok(isPrivateCidr('10.20.0.0/16'));
  assert.ok(isPrivateCidr('172.31.5.0/24'));
  assert.ok(isPrivateCidr('192.168.1.1/32'));
  assert.not.ok(isPrivateCidr('0.0.0.0/0'));
  assert.not.ok(isPrivateCidr('172.0.0.0/8'), 'wider than 172.16.0.0/12');
  assert.not.ok(isPrivateCidr('203.0.113.0/24'));
});

Egress('a default route through a NAT gateway is a way out; an internet gateway is not', () => {
  assert.is(routeOut(PRIVATE_TO_NAT), 'out');
  assert.is(routeOut(MAIN_TO_IGW), 'internet-gateway-only');
  assert.is(routeOut({ Routes: [{ DestinationCidrBlock: '10.0.0.0/16', GatewayId: 'local' }] }), 'none');
  assert.is(
    routeOut({ Routes: [{ DestinationCidrBlock: '0.0.0.0/0', NatGatewayId: 'nat-1', State: 'blackhole' }] }),
    'none',
  );
});

Egress(
  'HTTPS to the internet from subnets without NAT fails preflight, saying a NAT gateway is needed',
  async ({ mocks }) => {
    mocks.ec2.on(DescribeRouteTablesCommand).resolves({ RouteTables: [MAIN_TO_IGW] });
    const env = awsEnvironment({ egress: [{ cidr: '0.0.0.0/0', port: 443 }] });
    const error = await checkEgressRoutes(mocks.clients, env, NETWORK, recordingIO()).catch(
      (caught: unknown) => caught,
    );
    assert.instance(error, PreflightError);
    const text = [(error as PreflightError).message, ...(error as PreflightError).details].join('\n');
    assert.match(text, 'environments.staging.aws.egress opens 0.0.0.0/0:443, but no subnet of the stack has a route');
    assert.match(text, 'subnet-0aaaaaaaaaaaaaaaa: its default route goes to an internet gateway');
    assert.match(text, 'HTTPS to the internet needs a NAT gateway');
  },
);

Egress('with a NAT route, or only private ranges and prefix lists, preflight passes', async ({ mocks }) => {
  mocks.ec2.on(DescribeRouteTablesCommand).resolves({ RouteTables: [MAIN_TO_IGW, PRIVATE_TO_NAT] });
  await checkEgressRoutes(
    mocks.clients,
    awsEnvironment({ egress: [{ cidr: '0.0.0.0/0', port: 443 }] }),
    NETWORK,
    recordingIO(),
  );
  mocks.ec2.reset();
  await checkEgressRoutes(
    mocks.clients,
    awsEnvironment({
      egress: [
        { cidr: '10.20.0.0/16', port: 5432 },
        { prefix_list: 'pl-0123456789abcdef0', port: 443 },
      ],
    }),
    NETWORK,
    recordingIO(),
  );
  assert.equal(mocks.ec2.calls().length, 0, 'no route is needed, none is read');
});

Egress('deploy.yaml: each rule names exactly one of cidr and prefix_list; scale names exactly one metric', () => {
  const yaml = (aws: string, instances = '') =>
    `app: shop\nenvironments:\n  prod:\n    target: aws\n${instances}    aws: { region: eu-west-1, ${aws} }\n`;
  const config = parseConfig(
    yaml('egress: [{ cidr: 0.0.0.0/0, port: 443 }, { prefix_list: pl-0123456789abcdef0, port: 443 }]'),
  );
  const prod = config.environments.prod;
  assert.equal(prod?.target === 'aws' ? prod.aws.egress : undefined, [
    { cidr: '0.0.0.0/0', port: 443 },
    { prefix_list: 'pl-0123456789abcdef0', port: 443 },
  ]);
  const both = thrownBy(ConfigError, () =>
    parseConfig(yaml('egress: [{ cidr: 0.0.0.0/0, prefix_list: pl-0123456789abcdef0, port: 443 }]')),
  );
  assert.match(both.details.join('\n'), 'environments.prod.aws.egress[0]');
  assert.match(both.details.join('\n'), 'needs exactly one of cidr or prefix_list');
  const badCidr = thrownBy(ConfigError, () => parseConfig(yaml('egress: [{ cidr: 0.0.0.0/33, port: 443 }]')));
  assert.match(badCidr.details.join('\n'), 'environments.prod.aws.egress[0].cidr');
  const twoMetrics = thrownBy(ConfigError, () =>
    parseConfig(yaml('', '    instances: { scale: { cpu_percent: 60, requests_per_target: 500 } }\n')),
  );
  assert.match(twoMetrics.details.join('\n'), 'environments.prod.instances.scale');
  assert.match(twoMetrics.details.join('\n'), 'needs exactly one of cpu_percent or requests_per_target');
});

Egress.run();
