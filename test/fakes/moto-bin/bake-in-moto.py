"""The amazon-ebs bake against moto, as `packer build -machine-readable` reports it (see ./packer)."""

import os
import sys
import time
import uuid
from datetime import datetime, timezone

import boto3

region = os.environ["PKR_VAR_aws_region"]
endpoint = os.environ["PKR_VAR_aws_endpoint_ec2"]  # the runner hands Packer its EC2 endpoint
app, env = os.environ["PKR_VAR_app_name"], os.environ["PKR_VAR_environment"]
fingerprint = os.environ["PKR_VAR_fingerprint"]
baked_at = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
tags = {
    "bakery:app": app,
    "bakery:env": env,
    "bakery:fingerprint": fingerprint,
    "bakery:version": os.environ.get("PKR_VAR_version", ""),
    "bakery:git_revision": os.environ.get("PKR_VAR_git_revision", ""),
    "bakery:baked_at": baked_at,
}
tag_list = [{"Key": k, "Value": v} for k, v in tags.items()]
ec2 = boto3.client("ec2", region_name=region, endpoint_url=endpoint)
t = int(time.time())


def say(text):
    print(f"{t},,ui,say,==> amazon-ebs.app: {text}", flush=True)


source = sorted(
    ec2.describe_images(
        Owners=[os.environ["PKR_VAR_base_ami_owner"]],
        Filters=[{"Name": "name", "Values": [os.environ["PKR_VAR_base_ami_name"]]}],
    )["Images"],
    key=lambda image: image.get("CreationDate", ""),
)[-1]
say(f"Found Image ID: {source['ImageId']}")
suffix = uuid.uuid4().hex[:8]
key = f"packer_{suffix}"
ec2.create_key_pair(KeyName=key, KeyType="ed25519")
vpc = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
group = ec2.create_security_group(
    GroupName=f"packer_{suffix}", Description="Temporary group for Packer", VpcId=vpc
)["GroupId"]
ec2.authorize_security_group_ingress(
    GroupId=group,
    IpPermissions=[{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22,
                    "IpRanges": [{"CidrIp": c} for c in ["127.0.0.1/32"]]}],
)
say("Launching a source AWS instance...")
builder = ec2.run_instances(
    ImageId=source["ImageId"], InstanceType=os.environ.get("PKR_VAR_instance_type", "t3.micro"),
    MinCount=1, MaxCount=1, KeyName=key, SecurityGroupIds=[group],
    MetadataOptions={"HttpTokens": "required", "HttpEndpoint": "enabled"},
    TagSpecifications=[
        {"ResourceType": "instance", "Tags": tag_list + [{"Key": "Name", "Value": f"packer-builder-{app}-{env}"}]},
        {"ResourceType": "volume", "Tags": tag_list},
    ],
)["Instances"][0]["InstanceId"]
say(f"Instance ID: {builder}")
ec2.stop_instances(InstanceIds=[builder])
name = f"{app}-{env}-{fingerprint[:12]}-{baked_at.replace('-', '').replace(':', '').replace('T', '').rstrip('Z')}-{suffix}"
say(f"Creating AMI {name} from instance {builder}")
ami = ec2.create_image(InstanceId=builder, Name=name, Description=f"{app} ({env}), fingerprint {fingerprint}")["ImageId"]
snapshots = [
    m["Ebs"]["SnapshotId"]
    for m in ec2.describe_images(ImageIds=[ami])["Images"][0].get("BlockDeviceMappings", [])
    if "Ebs" in m and m["Ebs"].get("SnapshotId")
]
ec2.create_tags(Resources=[ami, *snapshots], Tags=tag_list)
say("Terminating the source AWS instance...")
ec2.terminate_instances(InstanceIds=[builder])
ec2.delete_security_group(GroupId=group)
ec2.delete_key_pair(KeyName=key)
print(f"{t},,ui,say,Build 'amazon-ebs.app' finished.")
print(f"{t},amazon-ebs.app,artifact-count,1")
print(f"{t},amazon-ebs.app,artifact,0,builder-id,mitchellh.amazonebs")
print(f"{t},amazon-ebs.app,artifact,0,id,{region}:{ami}")
print(f"{t},amazon-ebs.app,artifact,0,string,AMIs were created:\\n{region}: {ami}\\n")
print(f"{t},amazon-ebs.app,artifact,0,files-count,0")
print(f"{t},amazon-ebs.app,artifact,0,end")
sys.stdout.flush()
