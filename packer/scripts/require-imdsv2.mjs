// Require IMDSv2 (session tokens) on the Packer builder instance.
//
// Packer 1.6.6's amazon-ebs builder has no metadata_options block, so the
// template's first provisioner (shell-local, on the machine running Packer)
// runs this with BAKERY_INSTANCE_ID=${build.ID} and AWS_REGION set. AWS
// credentials come from the same environment Packer uses.
import { DescribeInstancesCommand, EC2Client, ModifyInstanceMetadataOptionsCommand } from '@aws-sdk/client-ec2';

const instanceId = process.env.BAKERY_INSTANCE_ID ?? '';
const region = process.env.AWS_REGION ?? '';
if (!/^i-[0-9a-f]{8,17}$/.test(instanceId) || region === '') {
  console.error(`require-imdsv2: need BAKERY_INSTANCE_ID (got "${instanceId}") and AWS_REGION (got "${region}")`);
  process.exit(2);
}

const ec2 = new EC2Client({ region });
await ec2.send(
  new ModifyInstanceMetadataOptionsCommand({
    InstanceId: instanceId,
    HttpEndpoint: 'enabled',
    HttpTokens: 'required',
    HttpPutResponseHopLimit: 1,
  }),
);

// The change is asynchronous: wait until EC2 reports it applied.
const deadline = Date.now() + 60_000;
for (;;) {
  const reply = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] }));
  const options = reply.Reservations?.[0]?.Instances?.[0]?.MetadataOptions;
  if (options?.State === 'applied' && options.HttpTokens === 'required') {
    console.log(`require-imdsv2: ${instanceId} now requires IMDSv2 session tokens`);
    break;
  }
  if (Date.now() > deadline) {
    console.error(`require-imdsv2: ${instanceId} metadata options still ${options?.State ?? 'unknown'} after 60 s`);
    process.exit(1);
  }
  await new Promise((resolve) => setTimeout(resolve, 2_000));
}
