// The AWS actions each caller outside the runner's own code makes, for the policy coverage
// test (test/unit/aws-iam-coverage.test.ts). A Terraform resource or data source that the
// stack uses and this table lacks fails the test: adding a resource means writing down
// what the provider calls to create, read, update and delete it.

/**
 * The AWS provider's calls per resource type (create, read/refresh, update, delete),
 * as the provider's source makes them for the arguments terraform/ sets.
 */
export const TERRAFORM_ACTIONS: Record<string, readonly string[]> = {
  'data.aws_caller_identity': ['sts:GetCallerIdentity'],
  'data.aws_partition': [],
  'data.aws_vpc': ['ec2:DescribeVpcs', 'ec2:DescribeVpcAttribute'],
  'data.aws_subnets': ['ec2:DescribeSubnets'],
  'data.aws_subnet': ['ec2:DescribeSubnets'],
  aws_db_subnet_group: [
    'rds:CreateDBSubnetGroup',
    'rds:DescribeDBSubnetGroups',
    'rds:ModifyDBSubnetGroup',
    'rds:DeleteDBSubnetGroup',
    'rds:AddTagsToResource',
    'rds:RemoveTagsFromResource',
    'rds:ListTagsForResource',
  ],
  // manage_master_user_password: RDS creates and deletes the secret with the caller's rights;
  // a destroy with a final snapshot takes it in the caller's name.
  aws_db_instance: [
    'rds:CreateDBInstance',
    'rds:DescribeDBInstances',
    'rds:ModifyDBInstance',
    'rds:DeleteDBInstance',
    'rds:AddTagsToResource',
    'rds:RemoveTagsFromResource',
    'rds:ListTagsForResource',
    'rds:CreateDBSnapshot',
    'secretsmanager:CreateSecret',
    'secretsmanager:TagResource',
    'secretsmanager:DeleteSecret',
  ],
  aws_security_group: [
    'ec2:CreateSecurityGroup',
    'ec2:CreateTags',
    'ec2:DescribeSecurityGroups',
    'ec2:RevokeSecurityGroupEgress',
    'ec2:RevokeSecurityGroupIngress',
    'ec2:DeleteSecurityGroup',
    'ec2:DescribeNetworkInterfaces',
  ],
  aws_vpc_security_group_ingress_rule: [
    'ec2:AuthorizeSecurityGroupIngress',
    'ec2:DescribeSecurityGroupRules',
    'ec2:ModifySecurityGroupRules',
    'ec2:RevokeSecurityGroupIngress',
    'ec2:CreateTags',
  ],
  aws_vpc_security_group_egress_rule: [
    'ec2:AuthorizeSecurityGroupEgress',
    'ec2:DescribeSecurityGroupRules',
    'ec2:ModifySecurityGroupRules',
    'ec2:RevokeSecurityGroupEgress',
    'ec2:CreateTags',
  ],
  aws_vpc_endpoint: [
    'ec2:CreateVpcEndpoint',
    'ec2:DescribeVpcEndpoints',
    'ec2:DescribePrefixLists',
    'ec2:DescribeVpcEndpointServices',
    'ec2:ModifyVpcEndpoint',
    'ec2:DeleteVpcEndpoints',
  ],
  aws_iam_role: [
    'iam:CreateRole',
    'iam:GetRole',
    'iam:TagRole',
    'iam:UpdateRoleDescription',
    'iam:PutRolePermissionsBoundary',
    'iam:ListRolePolicies',
    'iam:ListAttachedRolePolicies',
    'iam:ListInstanceProfilesForRole',
    'iam:DeleteRole',
  ],
  aws_iam_instance_profile: [
    'iam:CreateInstanceProfile',
    'iam:AddRoleToInstanceProfile',
    'iam:GetInstanceProfile',
    'iam:TagInstanceProfile',
    'iam:RemoveRoleFromInstanceProfile',
    'iam:DeleteInstanceProfile',
    'iam:PassRole',
  ],
  aws_iam_role_policy: ['iam:PutRolePolicy', 'iam:GetRolePolicy', 'iam:DeleteRolePolicy'],
  aws_launch_template: [
    'ec2:CreateLaunchTemplate',
    'ec2:CreateLaunchTemplateVersion',
    'ec2:ModifyLaunchTemplate',
    'ec2:DescribeLaunchTemplates',
    'ec2:DescribeLaunchTemplateVersions',
    'ec2:DeleteLaunchTemplate',
    'ec2:CreateTags',
    'iam:PassRole',
  ],
  aws_autoscaling_group: [
    'autoscaling:CreateAutoScalingGroup',
    'autoscaling:UpdateAutoScalingGroup',
    'autoscaling:DeleteAutoScalingGroup',
    'autoscaling:DescribeAutoScalingGroups',
    'autoscaling:DescribeScalingActivities',
    'autoscaling:DescribeInstanceRefreshes',
    'autoscaling:StartInstanceRefresh',
    'autoscaling:CancelInstanceRefresh',
    'autoscaling:DescribeLoadBalancerTargetGroups',
    'autoscaling:DescribeLoadBalancers',
    'autoscaling:DescribeTrafficSources',
    'autoscaling:DescribeLifecycleHooks',
    'autoscaling:DescribeWarmPool',
    'autoscaling:AttachLoadBalancerTargetGroups',
    'autoscaling:DetachLoadBalancerTargetGroups',
    'autoscaling:EnableMetricsCollection',
    'autoscaling:DisableMetricsCollection',
    'autoscaling:SetInstanceProtection',
    'autoscaling:CreateOrUpdateTags',
    'autoscaling:DeleteTags',
    // Auto Scaling checks that the caller may launch from the launch template and pass its role.
    'ec2:RunInstances',
    'iam:PassRole',
    'iam:CreateServiceLinkedRole',
  ],
  aws_lb: [
    'elasticloadbalancing:CreateLoadBalancer',
    'elasticloadbalancing:AddTags',
    'elasticloadbalancing:DescribeLoadBalancers',
    'elasticloadbalancing:DescribeLoadBalancerAttributes',
    'elasticloadbalancing:ModifyLoadBalancerAttributes',
    'elasticloadbalancing:DescribeCapacityReservation',
    'elasticloadbalancing:DescribeTags',
    'elasticloadbalancing:SetSecurityGroups',
    'elasticloadbalancing:SetSubnets',
    'elasticloadbalancing:DeleteLoadBalancer',
    'ec2:DescribeNetworkInterfaces',
    'iam:CreateServiceLinkedRole',
  ],
  aws_lb_target_group: [
    'elasticloadbalancing:CreateTargetGroup',
    'elasticloadbalancing:AddTags',
    'elasticloadbalancing:DescribeTargetGroups',
    'elasticloadbalancing:DescribeTargetGroupAttributes',
    'elasticloadbalancing:ModifyTargetGroup',
    'elasticloadbalancing:ModifyTargetGroupAttributes',
    'elasticloadbalancing:DescribeTags',
    'elasticloadbalancing:DeleteTargetGroup',
  ],
  aws_lb_listener: [
    'elasticloadbalancing:CreateListener',
    'elasticloadbalancing:AddTags',
    'elasticloadbalancing:DescribeListeners',
    'elasticloadbalancing:DescribeListenerAttributes',
    'elasticloadbalancing:ModifyListener',
    'elasticloadbalancing:ModifyListenerAttributes',
    'elasticloadbalancing:DescribeTags',
    'elasticloadbalancing:DeleteListener',
  ],
  aws_lb_listener_rule: [
    'elasticloadbalancing:CreateRule',
    'elasticloadbalancing:AddTags',
    'elasticloadbalancing:DescribeRules',
    'elasticloadbalancing:ModifyRule',
    'elasticloadbalancing:DescribeTags',
    'elasticloadbalancing:DeleteRule',
  ],
  aws_cloudwatch_metric_alarm: [
    'cloudwatch:PutMetricAlarm',
    'cloudwatch:DescribeAlarms',
    'cloudwatch:ListTagsForResource',
    'cloudwatch:TagResource',
    'cloudwatch:DeleteAlarms',
  ],
  aws_sns_topic: [
    'sns:CreateTopic',
    'sns:GetTopicAttributes',
    'sns:SetTopicAttributes',
    'sns:ListTagsForResource',
    'sns:TagResource',
    'sns:DeleteTopic',
  ],
  aws_sns_topic_subscription: [
    'sns:Subscribe',
    'sns:GetSubscriptionAttributes',
    'sns:ListSubscriptionsByTopic',
    'sns:Unsubscribe',
  ],
};

/** The S3 backend: state object and Terraform's own lock file, both under the bucket's bakery/ prefix. */
export const TERRAFORM_BACKEND_ACTIONS = ['s3:ListBucket', 's3:GetObject', 's3:PutObject', 's3:DeleteObject'];

/**
 * What EC2 asks KMS for in the caller's name when the builder's root volume is encrypted
 * with a customer managed key (aws.kms_key_id; AWS's "KMS key policy for use with
 * encrypted EBS volumes"), and when an app layer's volume is made from that snapshot.
 */
export const EBS_CUSTOMER_KEY_ACTIONS = [
  'kms:CreateGrant',
  'kms:Decrypt',
  'kms:DescribeKey',
  'kms:GenerateDataKeyWithoutPlaintext',
  'kms:ReEncryptFrom',
  'kms:ReEncryptTo',
];

/**
 * Packer's documented minimal policy for its Amazon builders. The amazon-ebs builder with
 * packer/app.pkr.hcl's settings makes all of these but the ones in PACKER_NOT_CALLED.
 */
export const PACKER_DOCUMENTED_MINIMUM = [
  'ec2:AttachVolume',
  'ec2:AuthorizeSecurityGroupIngress',
  'ec2:CopyImage',
  'ec2:CreateImage',
  'ec2:CreateKeyPair',
  'ec2:CreateSecurityGroup',
  'ec2:CreateSnapshot',
  'ec2:CreateTags',
  'ec2:CreateVolume',
  'ec2:DeleteKeyPair',
  'ec2:DeleteSecurityGroup',
  'ec2:DeleteSnapshot',
  'ec2:DeleteVolume',
  'ec2:DeregisterImage',
  'ec2:DescribeImageAttribute',
  'ec2:DescribeImages',
  'ec2:DescribeInstances',
  'ec2:DescribeInstanceStatus',
  'ec2:DescribeRegions',
  'ec2:DescribeSecurityGroups',
  'ec2:DescribeSnapshots',
  'ec2:DescribeSubnets',
  'ec2:DescribeTags',
  'ec2:DescribeVolumes',
  'ec2:DetachVolume',
  'ec2:GetPasswordData',
  'ec2:ModifyImageAttribute',
  'ec2:ModifyInstanceAttribute',
  'ec2:ModifySnapshotAttribute',
  'ec2:RegisterImage',
  'ec2:RunInstances',
  'ec2:StopInstances',
  'ec2:TerminateInstances',
];

/** Documented-minimum actions amazon-ebs does not make with this template, and why. */
export const PACKER_NOT_CALLED: Record<string, string> = {
  'ec2:AttachVolume': 'only the chroot and ebssurrogate builders attach volumes',
  'ec2:DetachVolume': 'only the chroot and ebssurrogate builders attach volumes',
  'ec2:CreateVolume': 'only the chroot and ebsvolume builders create volumes',
  'ec2:DeleteVolume': 'the builder volume is deleted with the instance (delete_on_termination = true)',
  'ec2:GetPasswordData': 'Windows only; the template connects over SSH',
  'ec2:ModifyImageAttribute': 'only for ami_users, ami_groups, ami_org_arns: the template shares no AMI',
  'ec2:ModifySnapshotAttribute': 'only for snapshot_users, snapshot_groups: the template shares no snapshot',
};
