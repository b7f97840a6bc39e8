// What the benchmark needs to see of a deployed local environment: its instance
// containers, the HAProxy view of them, and the service's main PID inside one.
// Everything goes through `docker` (exec into the containers): no traffic leaves loopback.

import { parseServerStats, type ServerState } from '../pipeline/targets/local/lb-servers.ts';
import { dockerText } from '../harness/local-project.ts';

const ENV = 'local';

export async function instanceNames(app: string): Promise<string[]> {
  const out = await dockerText([
    'ps',
    '--format',
    '{{.Names}}',
    '--filter',
    `label=bakery.app=${app}`,
    '--filter',
    'label=bakery.role=instance',
  ]);
  return out.split('\n').filter(Boolean).sort();
}

/** The backend's servers as HAProxy reports them, through its runtime API socket. */
export async function lbServers(app: string): Promise<ServerState[]> {
  const csv = await dockerText([
    'exec',
    '-i',
    `${app}-${ENV}-lb`,
    'sh',
    '-c',
    'echo "show stat" | socat stdio unix-connect:/run/haproxy/admin.sock',
  ]);
  return parseServerStats(csv);
}

/** systemd's MainPID of the app's unit in one instance; "0" while it is not running. */
export async function servicePid(instance: string, app: string): Promise<string> {
  return dockerText(['exec', instance, 'systemctl', 'show', '--property', 'MainPID', '--value', `${app}.service`]);
}

export async function killService(instance: string, app: string): Promise<void> {
  await dockerText(['exec', instance, 'systemctl', 'kill', '--signal', 'SIGKILL', `${app}.service`]);
}
