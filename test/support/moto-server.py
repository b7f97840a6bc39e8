"""moto's server with the instance refresh it lacks, for bakery's end-to-end tests.

moto 5.2.2 answers StartInstanceRefresh, DescribeInstanceRefreshes and
CancelInstanceRefresh with a 500. This module adds the three actions to moto's own Auto
Scaling responder and then runs moto's server (same arguments as `python -m moto.server`).
Because they live inside moto, the calls go through moto's IAM check like every other
action (INITIAL_NO_AUTH_ACTION_COUNT), and a refresh replaces instances through moto's
own models: the group launches a new instance from its current launch template version,
then the old one is terminated and leaves the target group (launch before terminate).

What the shim emulates, and what it does not:
- a refresh advances one instance per DescribeInstanceRefreshes call (moto has no clock
  of its own): Pending, then InProgress with one outdated instance replaced per look,
  then Successful when every instance runs the group's launch template version;
- SkipMatching is always on (instances already on that version stay), as the stack
  configures it; checkpoints, warmup, alarms and auto rollback are not emulated (moto's
  targets are always healthy, so nothing would roll back);
- a refresh of a group that another refresh is running for fails with
  InstanceRefreshInProgress; CancelInstanceRefresh ends the active one Cancelled at once
  and leaves the instances as they are (old and new side by side, as on AWS);
- while the file named by BAKERY_MOTO_REFRESH_HOLD exists, a refresh stops after its
  first replaced instance (InProgress), so a test can cancel it mid-rollout.

It also fixes two gaps on the way: moto reports the template's default version for every
group member, where AWS reports the version each instance was launched from (what the
runner's fleet check reads); and moto keeps a new launch template version's user data
unparsed, so launching from it fails.
"""

import os
import sys
import uuid
from datetime import datetime, timezone

from moto.autoscaling import models as asg_models
from moto.autoscaling.exceptions import AutoscalingClientError
from moto.autoscaling.models import autoscaling_backends
from moto.autoscaling.responses import AutoScalingResponse
from moto.core.responses import ActionResult
from moto.ec2.models.launch_templates import LaunchTemplate
from moto.ec2.utils import parse_user_data
from moto.elbv2.models import elbv2_backends
from moto.server import main

ACTIVE = ("Pending", "InProgress", "Cancelling")


class InstanceRefreshInProgress(AutoscalingClientError):
    code = "InstanceRefreshInProgress"


class ActiveInstanceRefreshNotFound(AutoscalingClientError):
    code = "ActiveInstanceRefreshNotFound"


# --- each instance keeps the launch template version it was launched from ---------------

_original_state_init = asg_models.InstanceState.__init__


def _state_init(self, instance, *args, **kwargs):
    _original_state_init(self, instance, *args, **kwargs)
    group = self.auto_scaling_group
    template = getattr(group, "ec2_launch_template", None)
    self.launched_version = None
    if template is not None:
        self.launched_version = str(template.get_version(group.launch_template_version).number)


def _state_launch_template(self):
    group = self.auto_scaling_group
    template = getattr(group, "ec2_launch_template", None)
    if template is None:
        return None
    return {
        "LaunchTemplateId": template.id,
        "LaunchTemplateName": template.name,
        "Version": self.launched_version or str(template.default_version_number),
    }


asg_models.InstanceState.__init__ = _state_init
asg_models.InstanceState.launch_template = property(_state_launch_template)


# --- a new launch template version keeps its user data as CreateLaunchTemplate does ----
# (moto stores CreateLaunchTemplateVersion's UserData unparsed, and launching from that
# version then fails an assertion: every instance a refresh starts comes from one).

_original_create_version = LaunchTemplate.create_version


def _create_version(self, data, description):
    if isinstance(data.get("UserData"), (str, bytes)):
        data = {**data, "UserData": parse_user_data(data["UserData"])}
    return _original_create_version(self, data, description)


LaunchTemplate.create_version = _create_version


# --- instance refresh -------------------------------------------------------------------

# (account, region, group name) -> that group's refreshes, oldest first.
REFRESHES = {}


def _now():
    return datetime.now(timezone.utc)


def _wanted_version(group):
    return str(group.ec2_launch_template.get_version(group.launch_template_version).number)


def _outdated(group):
    wanted = _wanted_version(group)
    return [
        state
        for state in group.instance_states
        if state.launched_version != wanted or state.instance.image_id != group.image_id
    ]


def _replace_one(backend, group, state):
    """Launch before terminate: a new instance from the current version, then the old one goes."""
    group.replace_autoscaling_group_instances(1, group.get_propagated_tags())
    backend.update_attached_target_groups(group.name)
    group.instance_states = [s for s in group.instance_states if s is not state]
    backend.ec2_backend.terminate_instances([state.instance.id])
    elbv2_backends[backend.account_id][backend.region_name].notify_terminate_instances([state.instance.id])


def _advance(backend, group, refresh):
    if refresh["Status"] not in ("Pending", "InProgress"):
        return
    hold = os.environ.get("BAKERY_MOTO_REFRESH_HOLD")
    if refresh["Status"] == "Pending":
        refresh["Status"] = "InProgress"
        refresh["StatusReason"] = "Waiting for instances to warm up."
    elif not (hold and os.path.exists(hold) and refresh["_replaced"] > 0):
        outdated = _outdated(group)
        if outdated:
            _replace_one(backend, group, outdated[0])
            refresh["_replaced"] += 1
    remaining = len(_outdated(group))
    total = max(refresh["_total"], 1)
    refresh["InstancesToUpdate"] = remaining
    refresh["PercentageComplete"] = min(100, int(100 * (total - remaining) / total))
    if refresh["Status"] == "InProgress" and remaining == 0:
        refresh["Status"] = "Successful"
        refresh["StatusReason"] = None
        refresh["EndTime"] = _now()


def _public(refresh):
    return {key: value for key, value in refresh.items() if not key.startswith("_") and value is not None}


def _group(self, name):
    group = self.autoscaling_backend.autoscaling_groups.get(name)
    if group is None:
        raise asg_models.ValidationError(f"AutoScalingGroup name not found - AutoScalingGroup '{name}' not found")
    return group


def _refreshes(self, name):
    return REFRESHES.setdefault((self.current_account, self.region, name), [])


def start_instance_refresh(self):
    name = self._get_param("AutoScalingGroupName")
    group = _group(self, name)
    refreshes = _refreshes(self, name)
    if any(r["Status"] in ACTIVE for r in refreshes):
        raise InstanceRefreshInProgress(f"An Instance Refresh is already in progress and blocks the execution of this Instance Refresh.")
    refresh = {
        "InstanceRefreshId": str(uuid.uuid4()),
        "AutoScalingGroupName": name,
        "Status": "Pending",
        "StartTime": _now(),
        "PercentageComplete": 0,
        "InstancesToUpdate": len(_outdated(group)),
        "Preferences": self._get_param("Preferences") or {},
        "Strategy": self._get_param("Strategy") or "Rolling",
        "_total": len(_outdated(group)),
        "_replaced": 0,
    }
    refreshes.append(refresh)
    return ActionResult({"InstanceRefreshId": refresh["InstanceRefreshId"]})


def describe_instance_refreshes(self):
    name = self._get_param("AutoScalingGroupName")
    group = _group(self, name)
    ids = self._get_param("InstanceRefreshIds") or []
    refreshes = _refreshes(self, name)
    for refresh in refreshes:
        _advance(self.autoscaling_backend, group, refresh)
    wanted = [r for r in reversed(refreshes) if not ids or r["InstanceRefreshId"] in ids]
    return ActionResult({"InstanceRefreshes": [_public(r) for r in wanted]})


def cancel_instance_refresh(self):
    name = self._get_param("AutoScalingGroupName")
    _group(self, name)
    active = [r for r in _refreshes(self, name) if r["Status"] in ACTIVE]
    if not active:
        raise ActiveInstanceRefreshNotFound("No in progress or pending Instance Refresh found for Auto Scaling group " + name)
    refresh = active[-1]
    refresh["Status"] = "Cancelled"
    refresh["StatusReason"] = "The instance refresh was cancelled by a user request."
    refresh["EndTime"] = _now()
    return ActionResult({"InstanceRefreshId": refresh["InstanceRefreshId"]})


AutoScalingResponse.start_instance_refresh = start_instance_refresh
AutoScalingResponse.describe_instance_refreshes = describe_instance_refreshes
AutoScalingResponse.cancel_instance_refresh = cancel_instance_refresh

# A group's refreshes go with it (a later group of the same name starts with none).
_original_delete = asg_models.AutoScalingBackend.delete_auto_scaling_group


def _delete_group(self, group_name):
    _original_delete(self, group_name)
    REFRESHES.pop((self.account_id, self.region_name, group_name), None)


asg_models.AutoScalingBackend.delete_auto_scaling_group = _delete_group

if __name__ == "__main__":
    main(sys.argv[1:])
