// The CIDR Packer admits to SSH on its temporary builder instance: this machine's public
// IPv4 address as a /32, so the builder is never open to the world. Packer 1.6.6 cannot
// find it by itself (no temporary_security_group_source_public_ip), so the runner asks
// AWS's own echo service, or takes BAKERY_SSH_SOURCE_CIDR when set (NAT, proxies, tests).

import { isIPv4 } from 'node:net';
import { request } from 'undici';
import { PreflightError } from '../../errors.ts';

export const CHECKIP_URL = 'https://checkip.amazonaws.com/';

const CIDR = /^(\d{1,3}(?:\.\d{1,3}){3})\/(8|9|[12]\d|3[0-2])$/;

export async function builderSourceCidr(env: NodeJS.ProcessEnv, signal: AbortSignal): Promise<string> {
  const configured = env.BAKERY_SSH_SOURCE_CIDR?.trim();
  if (configured) {
    const match = CIDR.exec(configured);
    if (!match || !isIPv4(match[1] as string)) {
      throw new PreflightError(
        `BAKERY_SSH_SOURCE_CIDR=${configured} is not an IPv4 CIDR from /8 to /32: set it like 203.0.113.7/32.`,
      );
    }
    return configured;
  }
  try {
    const response = await request(CHECKIP_URL, { method: 'GET', headersTimeout: 10_000, bodyTimeout: 10_000, signal });
    const body = (await response.body.text()).trim();
    if (response.statusCode === 200 && isIPv4(body)) return `${body}/32`;
    throw new Error(`answered ${response.statusCode}: ${body.slice(0, 60)}`);
  } catch (error) {
    throw new PreflightError(
      `Could not find this machine's public IP for the Packer builder's SSH rule (${CHECKIP_URL}: ${error instanceof Error ? error.message : String(error)}): set BAKERY_SSH_SOURCE_CIDR to your public address, like 203.0.113.7/32.`,
    );
  }
}
