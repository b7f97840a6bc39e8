// Test-only: where the health poll connects when the stack runs in an AWS emulator.
//
// Against moto the load balancer's DNS name does not resolve and nothing serves behind
// it, so the end-to-end tests (test/e2e/aws-moto-runner.test.ts) set
// BAKERY_TEST_EMULATOR_ALB=127.0.0.1:PORT: the poll still asks for the load balancer's
// URL (same path, same Host header) but its TCP connection goes to that loopback server.
// The variable is honoured only when every AWS endpoint the runner uses is a loopback
// emulator's (AWS_ENDPOINT_URL and friends on 127.0.0.1 or localhost); against AWS itself
// it is refused before anything starts, so it cannot redirect a real deploy's check.

import { connect, isIPv4 } from 'node:net';
import { Agent, type Dispatcher } from 'undici';
import { InputError } from '../../errors.ts';
import { ENDPOINT_VARIABLES, configuredEndpoint } from './clients.ts';

export const EMULATOR_ALB_VARIABLE = 'BAKERY_TEST_EMULATOR_ALB';

export interface LoopbackAddress {
  host: string;
  port: number;
}

function isLoopbackUrl(url: string): boolean {
  try {
    const host = new URL(url).hostname;
    return host === 'localhost' || (isIPv4(host) && host.startsWith('127.'));
  } catch {
    return false;
  }
}

/**
 * The loopback address the health poll connects to instead of the load balancer;
 * undefined when the variable is unset. An InputError (exit 2) when it is malformed, not
 * on loopback, or set while any AWS endpoint is not a loopback emulator.
 */
export function emulatorAlbAddress(env: NodeJS.ProcessEnv): LoopbackAddress | undefined {
  const value = env[EMULATOR_ALB_VARIABLE]?.trim();
  if (!value) return undefined;
  const match = /^(127(?:\.\d{1,3}){3}|localhost):(\d{1,5})$/.exec(value);
  const port = Number(match?.[2]);
  if (!match || !(port >= 1 && port <= 65535))
    throw new InputError(
      `${EMULATOR_ALB_VARIABLE}=${value} is not a loopback address with a port: set it like 127.0.0.1:19150 (tests against an AWS emulator only), or unset it.`,
    );
  const clients = Object.keys(ENDPOINT_VARIABLES) as Array<keyof typeof ENDPOINT_VARIABLES>;
  const real = clients.filter((client) => {
    const endpoint = configuredEndpoint(env, client);
    return !endpoint || !isLoopbackUrl(endpoint.url);
  });
  if (real.length > 0)
    throw new InputError(
      `${EMULATOR_ALB_VARIABLE} is set, but the ${real.join(', ')} endpoint${real.length > 1 ? 's are' : ' is'} not a loopback emulator: it only redirects the health check of tests against an AWS emulator (AWS_ENDPOINT_URL on 127.0.0.1); unset it.`,
    );
  return { host: match[1] as string, port };
}

/** A dispatcher whose every connection goes to `address`, whatever host the URL names. */
export function loopbackDispatcher(address: LoopbackAddress): Dispatcher {
  return new Agent({
    connect: (_options, callback) => {
      const socket = connect(address.port, address.host);
      socket.once('connect', () => callback(null, socket));
      socket.once('error', (error) => callback(error, null));
    },
  });
}
