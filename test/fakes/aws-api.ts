// A fake AWS API on 127.0.0.1 for end-to-end tests of the aws target: the runner's real
// SDK clients reach it through AWS_ENDPOINT_URL. It speaks the two wire protocols the
// clients use (EC2 query; the query protocol of STS, Auto Scaling and ELBv2: form-encoded
// requests, XML answers) and routes by the service in the SigV4 credential scope.
// Only the calls bakery makes are implemented; everything else answers an error.

import { existsSync, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeImage {
  id: string;
  name: string;
  owner: string;
  created: string;
  state?: string;
  rootDevice?: string;
  tags: Record<string, string>;
  snapshots: string[];
}

export interface FakeBake {
  id: string;
  name: string;
  snapshots: string[];
  marker: string;
}

export interface FakeRefresh {
  status: string;
  percent?: number;
  toUpdate?: number;
  reason?: string;
  rollback?: { reason: string; percent: number; toUpdate: number };
}

export interface FakeTarget {
  id: string;
  state: string;
  reason?: string;
  description?: string;
}

export interface FakeCall {
  service: string;
  action: string;
  params: Record<string, string>;
  /** When it was answered (epoch ms), to order calls against the fake tools' records. */
  at: number;
}

export interface FakeAwsOptions {
  account?: string;
  region?: string;
  vpcs?: Array<{ id: string; isDefault: boolean }>;
  subnets?: Array<{ id: string; vpcId: string; az: string; defaultForAz: boolean }>;
  /** Instance type → zones that offer it. */
  offerings?: Record<string, string[]>;
  images?: FakeImage[];
  /** Snapshots tagged for the app that no image references any more. */
  orphanSnapshots?: Array<{ id: string; tags: Record<string, string> }>;
  /**
   * The AMI the fake packer "bakes": it appears once `marker` exists, tagged from it (and
   * with the id it names, when it names one).
   */
  bake?: FakeBake;
  /** The same for the base layer of a layered bake (the fake packer's baked-base). */
  baseBake?: FakeBake;
  /** Refresh states after apply, one per DescribeInstanceRefreshes of that refresh (the last repeats). */
  refresh?: { id: string; after: string; states: FakeRefresh[] };
  /** Refreshes that existed before the deploy. */
  oldRefreshes?: Array<{ id: string; status: string; startedDaysAgo: number }>;
  /** Target health answers, one per call (the last repeats). */
  targets?: FakeTarget[][];
  /** Action → how many throttling errors to answer before serving it. */
  throttle?: Record<string, number>;
  /**
   * The Auto Scaling group's instances (DescribeAutoScalingGroups, DescribeInstances). By
   * default every target of the last target-health answer is InService at launch template
   * version 1 and runs the image of `imageFile` (the runner's terraform.tfvars.json).
   */
  fleet?: {
    imageFile?: string;
    launchTemplateVersion?: string;
    instances?: Array<{ id: string; version: string; imageId: string; lifecycle?: string }>;
  };
  /** Action → how many times to answer it with an HTML 500 page, as a proxy or load balancer in the way would (Infinity: always). */
  htmlErrors?: Record<string, number>;
  /**
   * One-off instances (release, run.ts): what the command prints and its exit code, shown
   * on the console framed by the marker the instance's user data names; one console poll
   * shows only BEGIN (booting), the next everything. Without it RunInstances is refused.
   */
  oneOff?: { lines: string[]; exitCode: number };
}

/** The fleet the fake answers for (the stack terraform "made"): its launch template and group. */
export const FAKE_FLEET = {
  asgName: 'demo-staging',
  launchTemplateId: 'lt-0fake00000000001',
  launchTemplateVersion: '1',
  securityGroupId: 'sg-0instances000001',
  userData:
    '#cloud-config\nwrite_files:\n  - path: /etc/bakery/app.env\n    content: |\n      APP_PUBLIC_HOST="demo-staging.elb.example"\n',
};

export interface FakeOneOff {
  instanceId: string;
  imageId: string;
  userData: string;
  marker: string;
  consolePolls: number;
}

const EC2_NS = 'http://ec2.amazonaws.com/doc/2016-11-15/';
const NAMESPACES: Record<string, string> = {
  sts: 'https://sts.amazonaws.com/doc/2011-06-15/',
  autoscaling: 'http://autoscaling.amazonaws.com/doc/2011-01-01/',
  elasticloadbalancing: 'http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/',
};

type XmlValue = string | number | boolean | Date | undefined | XmlValue[] | { [key: string]: XmlValue };

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** Objects become elements; arrays become <item> (EC2) or <member> (query) lists. */
function toXml(value: XmlValue, listItem: string): string {
  if (value === undefined) return '';
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map((item) => `<${listItem}>${toXml(item, listItem)}</${listItem}>`).join('');
  if (typeof value === 'object') {
    return Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .map(([key, v]) => `<${key}>${toXml(v, listItem)}</${key}>`)
      .join('');
  }
  return escapeXml(String(value));
}

class AwsFault extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

/** Values of a numbered list parameter: Owner.1, Owner.2 … or Filter.1.Value.1 … */
function listParam(params: Record<string, string>, prefix: string): string[] {
  const values: Array<[number, string]> = [];
  for (const [key, value] of Object.entries(params)) {
    const match = new RegExp(`^${prefix.replace(/\./g, '\\.')}\\.(\\d+)$`).exec(key);
    if (match) values.push([Number(match[1]), value]);
  }
  return values.sort((a, b) => a[0] - b[0]).map(([, v]) => v);
}

function filters(params: Record<string, string>): Map<string, string[]> {
  const result = new Map<string, string[]>();
  for (let i = 1; params[`Filter.${i}.Name`] !== undefined; i++)
    result.set(params[`Filter.${i}.Name`] as string, listParam(params, `Filter.${i}.Value`));
  return result;
}

function tagSet(tags: Record<string, string>): XmlValue {
  return Object.entries(tags).map(([key, value]) => ({ key, value }));
}

export class FakeAws {
  readonly calls: FakeCall[] = [];
  readonly deregistered: string[] = [];
  readonly deletedSnapshots: string[] = [];
  readonly oneOffs: FakeOneOff[] = [];
  readonly terminated: string[] = [];
  readonly options: Required<Pick<FakeAwsOptions, 'account' | 'region'>> & FakeAwsOptions;
  private server: Server | undefined;
  private readonly throttleLeft: Map<string, number>;
  private readonly htmlLeft: Map<string, number>;
  private refreshPolls = 0;
  private targetPolls = 0;
  private requestCounter = 0;

  constructor(options: FakeAwsOptions = {}) {
    this.options = { account: '123456789012', region: 'eu-west-1', ...options };
    this.throttleLeft = new Map(Object.entries(options.throttle ?? {}));
    this.htmlLeft = new Map(Object.entries(options.htmlErrors ?? {}));
  }

  async start(): Promise<string> {
    this.server = createServer((request, response) => void this.handle(request, response));
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server?.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  actions(service?: string): string[] {
    return this.calls.filter((c) => !service || c.service === service).map((c) => c.action);
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const params = Object.fromEntries(new URLSearchParams(Buffer.concat(chunks).toString('utf8')));
    const scope = /Credential=[^/]+\/\d+\/([^/]+)\/([^/]+)\/aws4_request/.exec(request.headers.authorization ?? '');
    const service = scope?.[2] ?? 'unknown';
    const action = params.Action ?? 'unknown';
    this.calls.push({ service, action, params, at: Date.now() });
    const requestId = `req-${++this.requestCounter}`;
    const ec2 = service === 'ec2';
    const pages = this.htmlLeft.get(action) ?? 0;
    if (pages > 0) {
      this.htmlLeft.set(action, pages - 1);
      response
        .writeHead(500, { 'content-type': 'text/html' })
        .end(
          '<html><head><title>500 Internal Server Error</title></head><body><center><h1>500 Internal Server Error</h1></center><hr><center>nginx</center></body></html>',
        );
      return;
    }
    try {
      const left = this.throttleLeft.get(action) ?? 0;
      if (left > 0) {
        this.throttleLeft.set(action, left - 1);
        throw new AwsFault(ec2 ? 'RequestLimitExceeded' : 'Throttling', 'Rate exceeded');
      }
      const body = this.dispatch(service, action, params);
      const xml = ec2
        ? `<${action}Response xmlns="${EC2_NS}"><requestId>${requestId}</requestId>${toXml(body, 'item')}</${action}Response>`
        : `<${action}Response xmlns="${NAMESPACES[service] ?? ''}"><${action}Result>${toXml(body, 'member')}</${action}Result><ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata></${action}Response>`;
      response.writeHead(200, { 'content-type': 'text/xml' }).end(xml);
    } catch (error) {
      const fault = error instanceof AwsFault ? error : new AwsFault('InternalError', String(error), 500);
      const xml = ec2
        ? `<Response><Errors><Error><Code>${fault.code}</Code><Message>${escapeXml(fault.message)}</Message></Error></Errors><RequestID>${requestId}</RequestID></Response>`
        : `<ErrorResponse xmlns="${NAMESPACES[service] ?? ''}"><Error><Type>Sender</Type><Code>${fault.code}</Code><Message>${escapeXml(fault.message)}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`;
      response.writeHead(fault.status, { 'content-type': 'text/xml' }).end(xml);
    }
  }

  private dispatch(service: string, action: string, params: Record<string, string>): XmlValue {
    const key = `${service}:${action}`;
    switch (key) {
      case 'sts:GetCallerIdentity':
        return {
          Arn: `arn:aws:iam::${this.options.account}:user/ci`,
          UserId: 'AIDAFAKEUSERID',
          Account: this.options.account,
        };
      case 'ec2:DescribeRegions':
        return {
          // Packer asks for every region (no names), the runner for its own.
          regionInfo: (listParam(params, 'RegionName').length > 0
            ? listParam(params, 'RegionName')
            : [this.options.region]
          )
            .filter((r) => r === this.options.region)
            .map((regionName) => ({
              regionName,
              regionEndpoint: `ec2.${regionName}.amazonaws.com`,
              optInStatus: 'opt-in-not-required',
            })),
        };
      case 'ec2:DescribeVpcs':
        return { vpcSet: this.describeVpcs(params) };
      case 'ec2:DescribeSubnets':
        return { subnetSet: this.describeSubnets(params) };
      case 'ec2:DescribeInstanceTypeOfferings': {
        const wanted = filters(params);
        const types = wanted.get('instance-type') ?? [];
        const zones = wanted.get('location') ?? [];
        const offerings = Object.entries(this.options.offerings ?? {}).flatMap(([type, azs]) =>
          azs.map((location) => ({ instanceType: type, locationType: 'availability-zone', location })),
        );
        return {
          instanceTypeOfferingSet: offerings.filter(
            (o) => types.includes(o.instanceType) && zones.includes(o.location),
          ),
        };
      }
      case 'ec2:DescribeImages':
        return { imagesSet: this.describeImages(params) };
      case 'ec2:CreateTags':
        return { return: true };
      case 'ec2:DeregisterImage': {
        const image = this.allImages().find((i) => i.id === params.ImageId && i.state !== 'deregistered');
        if (!image)
          throw new AwsFault('InvalidAMIID.Unavailable', `The image id '[${params.ImageId}]' is no longer available`);
        image.state = 'deregistered';
        this.deregistered.push(image.id);
        return { return: true };
      }
      case 'ec2:DeleteSnapshot': {
        const id = params.SnapshotId as string;
        if (this.deletedSnapshots.includes(id))
          throw new AwsFault('InvalidSnapshot.NotFound', `The snapshot '${id}' does not exist.`);
        const inUse = this.allImages().some((i) => i.state !== 'deregistered' && i.snapshots.includes(id));
        if (inUse) throw new AwsFault('InvalidSnapshot.InUse', `The snapshot ${id} is currently in use by an AMI`);
        this.deletedSnapshots.push(id);
        return { return: true };
      }
      case 'ec2:DescribeSnapshots': {
        const wanted = filters(params);
        const snapshots = [
          ...this.allImages().flatMap((i) => i.snapshots.map((id) => ({ id, tags: i.tags }))),
          ...(this.options.orphanSnapshots ?? []),
        ].filter((s) => !this.deletedSnapshots.includes(s.id) && matchesTags(s.tags, wanted));
        return {
          snapshotSet: snapshots.map((s) => ({
            snapshotId: s.id,
            ownerId: this.options.account,
            tagSet: tagSet(s.tags),
          })),
        };
      }
      case 'autoscaling:DescribeAutoScalingGroups': {
        const version = this.options.fleet?.launchTemplateVersion ?? FAKE_FLEET.launchTemplateVersion;
        return {
          AutoScalingGroups: listParam(params, 'AutoScalingGroupNames.member').map((name) => ({
            AutoScalingGroupName: name,
            LaunchTemplate: {
              LaunchTemplateId: FAKE_FLEET.launchTemplateId,
              LaunchTemplateName: name,
              Version: version,
            },
            VPCZoneIdentifier: (this.options.subnets ?? []).map((subnet) => subnet.id).join(','),
            MinSize: 1,
            MaxSize: 4,
            DesiredCapacity: this.fleetInstances().length,
            DefaultCooldown: 300,
            HealthCheckType: 'ELB',
            CreatedTime: new Date(),
            Instances: this.fleetInstances().map((instance) => ({
              InstanceId: instance.id,
              LifecycleState: instance.lifecycle ?? 'InService',
              LaunchTemplate: { LaunchTemplateId: FAKE_FLEET.launchTemplateId, Version: instance.version },
            })),
          })),
        };
      }
      case 'ec2:DescribeLaunchTemplateVersions':
        if (params.LaunchTemplateId !== FAKE_FLEET.launchTemplateId)
          throw new AwsFault('InvalidLaunchTemplateId.NotFound', `no launch template ${params.LaunchTemplateId}`);
        return {
          launchTemplateVersionSet: [
            {
              launchTemplateId: FAKE_FLEET.launchTemplateId,
              versionNumber: Number(FAKE_FLEET.launchTemplateVersion),
              launchTemplateData: {
                userData: Buffer.from(FAKE_FLEET.userData).toString('base64'),
                networkInterfaceSet: [{ deviceIndex: 0, groupSet: { groupId: FAKE_FLEET.securityGroupId } }],
              },
            },
          ],
        };
      // What Packer's amazon-ebs builder creates before it starts its instance (a
      // temporary key pair and security group), and removes after it.
      case 'ec2:CreateKeyPair':
        return { keyName: params.KeyName, keyFingerprint: 'fa:ke', keyMaterial: 'not a key', keyPairId: 'key-0fake' };
      case 'ec2:CreateSecurityGroup':
        return { return: true, groupId: 'sg-0packer000000001' };
      case 'ec2:AuthorizeSecurityGroupIngress':
      case 'ec2:DeleteKeyPair':
      case 'ec2:DeleteSecurityGroup':
        return { return: true };
      case 'ec2:DescribeSecurityGroups':
        return {
          securityGroupInfo: listParam(params, 'GroupId').map((groupId) => ({
            groupId,
            groupName: groupId,
            ownerId: this.options.account,
          })),
        };
      case 'ec2:RunInstances': {
        if (!this.options.oneOff) throw new AwsFault('UnauthorizedOperation', 'the test allows no instances');
        const userData = Buffer.from(params.UserData ?? '', 'base64').toString('utf8');
        const marker = /M=(BAKERY-ONE-OFF-[a-z0-9]+)/.exec(userData)?.[1] ?? '';
        const instanceId = `i-0oneoff${String(this.oneOffs.length + 1).padStart(9, '0')}`;
        this.oneOffs.push({ instanceId, imageId: params.ImageId ?? '', userData, marker, consolePolls: 0 });
        return { reservationId: 'r-0fake', ownerId: this.options.account, instancesSet: [{ instanceId }] };
      }
      case 'ec2:GetConsoleOutput': {
        const run = this.oneOffs.find((o) => o.instanceId === params.InstanceId);
        if (!run || !this.options.oneOff) throw new AwsFault('InvalidInstanceID.NotFound', `no ${params.InstanceId}`);
        const { lines, exitCode } = this.options.oneOff;
        const text = [
          '[    1.0] Linux version 6.1.0 (debian)',
          `${run.marker} BEGIN`,
          ...(run.consolePolls++ === 0
            ? []
            : [...lines.map((line, i) => `${run.marker} ${i + 1} ${line}`), `${run.marker} EXIT ${exitCode}`]),
        ].join('\r\n');
        return { instanceId: run.instanceId, timestamp: new Date(), output: Buffer.from(text).toString('base64') };
      }
      case 'ec2:DescribeInstances': {
        const ids = listParam(params, 'InstanceId');
        return {
          reservationSet: [
            {
              reservationId: 'r-0fake',
              // One-off instances (release, run.ts) and the group's own.
              instancesSet: [
                ...this.oneOffs
                  .filter((o) => ids.includes(o.instanceId))
                  .map((o) => ({
                    instanceId: o.instanceId,
                    imageId: o.imageId,
                    instanceState: this.terminated.includes(o.instanceId)
                      ? { code: 48, name: 'terminated' }
                      : { code: 16, name: 'running' },
                  })),
                ...this.fleetInstances()
                  .filter((instance) => ids.includes(instance.id))
                  .map((instance) => ({
                    instanceId: instance.id,
                    imageId: instance.imageId,
                    instanceState: { code: 16, name: 'running' },
                  })),
              ],
            },
          ],
        };
      }
      case 'ec2:TerminateInstances': {
        const ids = listParam(params, 'InstanceId');
        this.terminated.push(...ids);
        return {
          instancesSet: ids.map((instanceId) => ({ instanceId, currentState: { code: 32, name: 'shutting-down' } })),
        };
      }
      case 'autoscaling:DescribeInstanceRefreshes':
        return { InstanceRefreshes: this.describeRefreshes(params) };
      // The stack is made by the fake terraform: no load balancer exists here (destroy's
      // deletion-protection step finds none to change).
      case 'elasticloadbalancing:DescribeLoadBalancers':
        throw new AwsFault('LoadBalancerNotFound', 'One or more load balancers not found');
      case 'elasticloadbalancing:DescribeTargetHealth': {
        const answers = this.options.targets ?? [[]];
        const targets = answers[Math.min(this.targetPolls++, answers.length - 1)] ?? [];
        return {
          TargetHealthDescriptions: targets.map((t) => ({
            Target: { Id: t.id, Port: 8080 },
            HealthCheckPort: '8080',
            TargetHealth: { State: t.state, Reason: t.reason, Description: t.description },
          })),
        };
      }
      default:
        throw new AwsFault('InvalidAction', `the fake AWS API does not implement ${key}`);
    }
  }

  /** The fleet as configured, or the targets of the last health answer on the applied image. */
  private fleetInstances(): Array<{ id: string; version: string; imageId: string; lifecycle?: string }> {
    const fleet = this.options.fleet;
    if (fleet?.instances) return fleet.instances;
    let imageId = 'ami-unknown';
    try {
      const inputs = JSON.parse(readFileSync(fleet?.imageFile ?? '', 'utf8')) as { image?: { id?: string } };
      imageId = inputs.image?.id ?? imageId;
    } catch {
      // No apply yet: the instances run an image nobody deployed.
    }
    const answers = this.options.targets ?? [[]];
    const last = answers[answers.length - 1] ?? [];
    return last.map((target) => ({
      id: target.id,
      version: fleet?.launchTemplateVersion ?? FAKE_FLEET.launchTemplateVersion,
      imageId,
    }));
  }

  private describeVpcs(params: Record<string, string>): XmlValue {
    const ids = listParam(params, 'VpcId');
    const wanted = filters(params);
    const vpcs = (this.options.vpcs ?? []).filter(
      (v) =>
        (ids.length === 0 || ids.includes(v.id)) &&
        (!wanted.has('is-default') || String(v.isDefault) === wanted.get('is-default')?.[0]),
    );
    if (ids.length > 0 && vpcs.length < ids.length)
      throw new AwsFault('InvalidVpcID.NotFound', `The vpc ID '${ids.join(',')}' does not exist`);
    return vpcs.map((v) => ({ vpcId: v.id, isDefault: v.isDefault, state: 'available', cidrBlock: '172.31.0.0/16' }));
  }

  private describeSubnets(params: Record<string, string>): XmlValue {
    const ids = listParam(params, 'SubnetId');
    const wanted = filters(params);
    const subnets = (this.options.subnets ?? []).filter(
      (s) =>
        (ids.length === 0 || ids.includes(s.id)) &&
        (!wanted.has('vpc-id') || wanted.get('vpc-id')?.includes(s.vpcId)) &&
        (!wanted.has('default-for-az') || String(s.defaultForAz) === wanted.get('default-for-az')?.[0]),
    );
    const missing = ids.filter((id) => !subnets.some((s) => s.id === id));
    if (missing.length > 0)
      throw new AwsFault('InvalidSubnetID.NotFound', `The subnet ID '${missing.join(',')}' does not exist`);
    return subnets.map((s) => ({
      subnetId: s.id,
      vpcId: s.vpcId,
      availabilityZone: s.az,
      defaultForAz: s.defaultForAz,
      state: 'available',
    }));
  }

  /** Makes an image `days` older than it is: a base layer past image.base_max_age_days. */
  backdate(id: string, days: number): void {
    const image = this.allImages().find((i) => i.id === id);
    if (!image) throw new Error(`fake AWS: no image ${id} to backdate`);
    image.created = new Date(Date.parse(image.created) - days * 86_400_000).toISOString();
  }

  /** The configured images, plus those the fake packer baked since. */
  private allImages(): FakeImage[] {
    const images = this.options.images ?? (this.options.images = []);
    for (const bake of [this.options.baseBake, this.options.bake]) {
      if (!bake || !existsSync(bake.marker)) continue;
      // The fake packer writes id=AMI and KEY=VALUE lines of the tags the template would set.
      const lines = Object.fromEntries(
        readFileSync(bake.marker, 'utf8')
          .split('\n')
          .filter((line) => line.includes('='))
          .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)] as [string, string]),
      );
      const { id = bake.id, ...tags } = lines;
      if (images.some((i) => i.id === id)) continue;
      images.push({
        id,
        name: id === bake.id ? bake.name : `${bake.name}-${id.slice(-4)}`,
        owner: this.options.account,
        created: new Date().toISOString(),
        tags,
        snapshots: id === bake.id ? bake.snapshots : bake.snapshots.map((snapshot) => `${snapshot}-${id.slice(-4)}`),
        rootDevice: '/dev/xvda',
      });
    }
    return images;
  }

  private describeImages(params: Record<string, string>): XmlValue {
    const ids = listParam(params, 'ImageId');
    const owners = listParam(params, 'Owner').map((o) => (o === 'self' ? this.options.account : o));
    const wanted = filters(params);
    const images = this.allImages().filter(
      (i) =>
        i.state !== 'deregistered' &&
        (ids.length === 0 || ids.includes(i.id)) &&
        (owners.length === 0 || owners.includes(i.owner)) &&
        (!wanted.has('image-id') || wanted.get('image-id')?.includes(i.id)) &&
        (!wanted.has('name') ||
          (wanted.get('name') ?? []).some((pattern) =>
            new RegExp(
              `^${pattern
                .replace(/[.+^${}()|[\]\\]/g, '\\$&')
                .replace(/\*/g, '.*')
                .replace(/\?/g, '.')}$`,
            ).test(i.name),
          )) &&
        (!wanted.has('state') || wanted.get('state')?.includes(i.state ?? 'available')) &&
        matchesTags(i.tags, wanted),
    );
    if (ids.length > 0 && images.length === 0)
      throw new AwsFault('InvalidAMIID.NotFound', `The image id '[${ids.join(',')}]' does not exist`);
    return images.map((i) => ({
      imageId: i.id,
      name: i.name,
      ownerId: i.owner,
      creationDate: i.created,
      imageState: i.state ?? 'available',
      architecture: 'x86_64',
      rootDeviceName: i.rootDevice ?? '/dev/xvda',
      rootDeviceType: 'ebs',
      blockDeviceMapping: i.snapshots.map((snapshotId, n) => ({
        deviceName: n === 0 ? (i.rootDevice ?? '/dev/xvda') : `/dev/xvd${String.fromCharCode(98 + n)}`,
        ebs: { snapshotId, encrypted: true, volumeType: 'gp3' },
      })),
      tagSet: tagSet(i.tags),
    }));
  }

  private describeRefreshes(params: Record<string, string>): XmlValue {
    const group = params.AutoScalingGroupName;
    const old = (this.options.oldRefreshes ?? []).map((r) => ({
      InstanceRefreshId: r.id,
      AutoScalingGroupName: group,
      Status: r.status,
      StartTime: new Date(Date.now() - r.startedDaysAgo * 86_400_000),
      PercentageComplete: 100,
    }));
    const refresh = this.options.refresh;
    if (!refresh || !existsSync(refresh.after)) return old;
    const asked = listParam(params, 'InstanceRefreshIds.member');
    if (asked.length > 0 && !asked.includes(refresh.id)) return old.filter((r) => asked.includes(r.InstanceRefreshId));
    // Each look at this refresh moves it on by one state.
    const state = refresh.states[Math.min(this.refreshPolls++, refresh.states.length - 1)] as FakeRefresh;
    const current = {
      InstanceRefreshId: refresh.id,
      AutoScalingGroupName: group,
      Status: state.status,
      StatusReason: state.reason,
      StartTime: new Date(Date.now() - 60_000),
      PercentageComplete: state.percent ?? 0,
      InstancesToUpdate: state.toUpdate,
      RollbackDetails: state.rollback
        ? {
            RollbackReason: state.rollback.reason,
            RollbackStartTime: new Date(Date.now() - 30_000),
            PercentageCompleteOnRollback: state.rollback.percent,
            InstancesToUpdateOnRollback: state.rollback.toUpdate,
          }
        : undefined,
    };
    return [current, ...old];
  }
}

function matchesTags(tags: Record<string, string>, wanted: Map<string, string[]>): boolean {
  for (const [name, values] of wanted) {
    if (!name.startsWith('tag:')) continue;
    if (!values.includes(tags[name.slice(4)] ?? '\u0000')) return false;
  }
  return true;
}
