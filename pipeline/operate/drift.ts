// Drift: every way what runs differs from the last deployment record, one line each.
// Pure: status.ts observes, this compares, so the rules are tested without a target.

import type { DeploymentRecord } from '../state/record.ts';
import type { TargetStatus } from './observed.ts';

export interface UrlCheck {
  url: string;
  /** "200", "503", or an error code such as ECONNREFUSED. */
  result: string;
  ok: boolean;
}

export function findDrift(
  record: DeploymentRecord | undefined,
  status: TargetStatus,
  urlCheck: UrlCheck | undefined,
): string[] {
  if (!record) {
    return status.instances.length > 0
      ? [`${status.instances.length} instance(s) run, but there is no deployment record (.deploy/ENV/deployment.json)`]
      : [];
  }
  const drift: string[] = [];
  const lb = status.loadBalancer;
  if (!lb.up) drift.push(`load balancer ${lb.name} is ${lb.state}`);
  if (status.image && !status.image.exists) drift.push(`the deployed image ${record.image} no longer exists`);
  for (const instance of status.instances) {
    if (instance.image && instance.image !== record.image)
      drift.push(`instance ${instance.name} runs image ${instance.image}, not the deployed ${record.image}`);
    // A mixed fleet (a refresh cancelled or failed half way) runs the old configuration here.
    if (instance.outdated) drift.push(`instance ${instance.name} ${instance.outdated}`);
    if (!instance.running) drift.push(`instance ${instance.name} is ${instance.state}`);
    else if (lb.up && !instance.healthy)
      drift.push(
        `instance ${instance.name} is ${instance.health} in the load balancer${instance.reason ? `: ${instance.reason}` : ''}`,
      );
  }
  const serving = status.instances.filter(
    (instance) => instance.healthy && (!instance.image || instance.image === record.image),
  ).length;
  if (serving < status.desired)
    drift.push(`${serving} of ${status.desired} desired instance(s) serve the deployed image`);
  if (status.database && !status.database.accepting)
    drift.push(`database ${status.database.name} is ${status.database.state} and does not accept connections`);
  for (const alarm of status.alarms ?? []) drift.push(`alarm ${alarm.name} is in ALARM: ${alarm.reason}`);
  if (urlCheck && !urlCheck.ok) drift.push(`${urlCheck.url} answers ${urlCheck.result}, not 200`);
  return drift;
}
