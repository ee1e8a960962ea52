import { createHash, timingSafeEqual } from 'node:crypto';
import { BlockList, isIP } from 'node:net';
import { StartupError } from '../startup-error.js';
import type { OrmaiMetrics } from './metrics.js';

export interface MetricsAccessOptions {
  /** A scrape must send `Authorization: Bearer <token>` (`ORMAI_METRICS_TOKEN` overrides). */
  token?: string | undefined;
  /**
   * Client addresses or CIDR ranges allowed to scrape; `'*'` allows any. Default: loopback only
   * without a token, any address with one.
   */
  allowFrom?: string[] | undefined;
}

/**
 * Who may scrape, from the config's `metrics` block and `ORMAI_METRICS_TOKEN` (which wins); a bad
 * `allowFrom` entry stops the start here, before any database is opened.
 */
export function resolveMetricsAccess(
  config: MetricsAccessOptions | undefined,
  env: NodeJS.ProcessEnv = process.env,
): MetricsAccessOptions {
  const access = { token: env.ORMAI_METRICS_TOKEN || config?.token, allowFrom: config?.allowFrom };
  blockListOf((access.allowFrom ?? []).filter((entry) => entry !== '*'));
  return access;
}

/** The loopback addresses: a scrape from the host itself. */
export const LOOPBACK = ['127.0.0.0/8', '::1'];

/** What the node:http adapter hands a handler beside the request: its socket tells the peer. */
interface ServerContextWithPeer {
  req?: { socket?: { remoteAddress?: string | undefined } };
}

/**
 * `GET /metrics`: the Prometheus text, for allowed callers only. Without a token only the host
 * itself may scrape (ormai binds 127.0.0.1 by default); a server reachable from elsewhere names the
 * scrapers (`allowFrom`) or requires a token. A peer ormai cannot see (a handler mounted without
 * node:http's socket) is not on any list, so a token or `'*'` is needed there.
 */
export function createMetricsEndpoint(metrics: OrmaiMetrics, options: MetricsAccessOptions = {}) {
  const token = options.token ? digest(options.token) : undefined;
  const allowList = options.allowFrom ?? (token ? ['*'] : LOOPBACK);
  const anyone = allowList.includes('*');
  const allowed = blockListOf(allowList.filter((entry) => entry !== '*'));

  return async (request: Request, serverContext?: unknown): Promise<Response> => {
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      return refusal(405, 'VALIDATION_ERROR', `${request.method} is not allowed: GET the metrics`, [
        'send GET',
      ]);
    }
    if (!anyone) {
      const peer = peerAddress(serverContext);
      if (!peer || !allowed.check(peer.address, peer.family)) {
        return refusal(
          403,
          'FORBIDDEN',
          `metrics are not served to ${peer ? peer.address : 'a client whose address is unknown'}`,
          [
            `scrape from an address on metrics.allowFrom (now ${allowList.join(', ')})`,
            'or set a token (metrics.token or ORMAI_METRICS_TOKEN) and send it as a Bearer token',
          ],
        );
      }
    }
    if (token) {
      const sent = /^Bearer\s+(.+)$/i.exec(request.headers.get('authorization') ?? '')?.[1];
      if (!sent || !timingSafeEqual(digest(sent.trim()), token)) {
        return refusal(401, 'AUTHENTICATION_REQUIRED', 'the metrics token is missing or wrong', [
          'send Authorization: Bearer <the metrics token>',
        ]);
      }
    }
    const body = request.method === 'HEAD' ? null : await metrics.scrape();
    return new Response(body, { headers: { 'content-type': metrics.contentType } });
  };
}

function refusal(status: number, code: string, message: string, retryHints: string[]) {
  return Response.json(
    { errors: [{ message, extensions: { code, retryable: false, retryHints } }] },
    { status, headers: status === 401 ? { 'www-authenticate': 'Bearer realm="metrics"' } : {} },
  );
}

const digest = (value: string) => createHash('sha256').update(value).digest();

function blockListOf(entries: string[]): BlockList {
  const list = new BlockList();
  for (const entry of entries) {
    const [address = '', bits] = entry.split('/');
    const family = isIP(address);
    const prefix = bits === undefined ? undefined : Number(bits);
    if (
      family === 0 ||
      (prefix !== undefined &&
        !(Number.isInteger(prefix) && prefix >= 0 && prefix <= (family === 4 ? 32 : 128)))
    ) {
      throw new StartupError(
        'METRICS_ALLOW_FROM_INVALID',
        `metrics.allowFrom: ${JSON.stringify(entry)} is not an IP address or CIDR range`,
        { hints: ["write addresses as '10.0.0.7', ranges as '10.0.0.0/8', or '*' for any"] },
      );
    }
    const type = family === 4 ? 'ipv4' : 'ipv6';
    if (prefix === undefined) list.addAddress(address, type);
    else list.addSubnet(address, prefix, type);
  }
  return list;
}

function peerAddress(
  serverContext: unknown,
): { address: string; family: 'ipv4' | 'ipv6' } | undefined {
  const raw = (serverContext as ServerContextWithPeer | undefined)?.req?.socket?.remoteAddress;
  if (!raw) return undefined;
  // an IPv4 client of a dual-stack socket arrives as ::ffff:a.b.c.d
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(raw)?.[1];
  if (mapped) return { address: mapped, family: 'ipv4' };
  const family = isIP(raw);
  return family === 0 ? undefined : { address: raw, family: family === 4 ? 'ipv4' : 'ipv6' };
}
