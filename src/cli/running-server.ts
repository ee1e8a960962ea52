import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { OrmaiConfig, OrmaiPaths } from '../config.js';
import { lockFileOf, runningHolderOf } from '../db/embedded-lock.js';
import { describeError } from '../describe-error.js';
import type { Principal } from '../policy/principal.js';
import { runtimeOptionsFromConfig } from '../runtime.js';
import { identitySettings, signingOptions, signToken } from '../server/auth.js';

/**
 * What `ormai serve` on the embedded database tells the CLI of the same host, so that `approvals`
 * and `mcp` go through it instead of opening the database it holds.
 */
export interface RunningServer {
  pid: number;
  /** The token of the lock it holds: the file of an earlier server is not taken for this one's. */
  lockToken: string;
  /** Where it listens, reachable from this host: `http://127.0.0.1:4000`. */
  url: string;
  paths: Required<Pick<OrmaiPaths, 'graphql' | 'mcp'>>;
  /**
   * The server's JWT secret, to sign tokens it accepts. Honest enough for a dev server: the file is
   * 0600 and the OS user who can read it owns the whole database directory beside it anyway.
   */
  secret: string;
}

/** Beside the lock of the data directory it serves: `.ormai/pgdata.server.json`. */
export const serverFileOf = (dataDir: string) => `${resolve(dataDir)}.server.json`;

const embeddedDataDir = (config: OrmaiConfig): string | undefined => {
  const options = runtimeOptionsFromConfig(config);
  return options.databaseUrl || options.dataDir?.startsWith('memory://')
    ? undefined
    : options.dataDir;
};

/**
 * Writes the server file while this process holds the embedded database; returns its removal (also
 * done at exit). Nothing is written on PostgreSQL, where every command opens the database itself.
 */
export function recordRunningServer(
  config: OrmaiConfig,
  server: Omit<RunningServer, 'pid' | 'lockToken' | 'url'> & { url: string },
): () => void {
  const dataDir = embeddedDataDir(config);
  if (!dataDir) return () => {};
  const lock = JSON.parse(readFileSync(lockFileOf(dataDir), 'utf8')) as {
    pid: number;
    token: string;
  };
  if (lock.pid !== process.pid) return () => {};
  const path = serverFileOf(dataDir);
  const content = `${JSON.stringify(
    {
      pid: process.pid,
      lockToken: lock.token,
      url: reachableUrl(server.url),
      paths: server.paths,
      secret: server.secret,
    } satisfies RunningServer,
    null,
    2,
  )}\n`;
  // a file left by a killed server keeps its mode when written over: made anew, 0600 from the start
  rmSync(path, { force: true });
  writeFileSync(path, content, { mode: 0o600, flag: 'wx' });
  const remove = () => {
    process.removeListener('exit', remove);
    try {
      if (readFileSync(path, 'utf8') === content) rmSync(path, { force: true });
    } catch {
      // already gone
    }
  };
  process.on('exit', remove);
  return remove;
}

/** A server bound to every interface is reached on the loopback one. */
function reachableUrl(url: string): string {
  const parsed = new URL(url);
  if (parsed.hostname === '0.0.0.0') parsed.hostname = '127.0.0.1';
  if (parsed.hostname === '[::]') parsed.hostname = '[::1]';
  return parsed.origin;
}

/**
 * The `ormai serve` of this host holding the config's embedded database, when the server file it
 * wrote names the lock held now; undefined otherwise (PostgreSQL, nobody serving, another holder).
 */
export async function findRunningServer(config: OrmaiConfig): Promise<RunningServer | undefined> {
  const dataDir = embeddedDataDir(config);
  if (!dataDir) return undefined;
  const holder = await runningHolderOf(dataDir);
  if (!holder) return undefined;
  let server: RunningServer;
  try {
    server = JSON.parse(readFileSync(serverFileOf(dataDir), 'utf8')) as RunningServer;
  } catch {
    return undefined;
  }
  return server.pid === holder.pid && server.lockToken === holder.token ? server : undefined;
}

/** A short-lived token for a principal, signed so that the running server accepts it. */
export function tokenFor(
  server: RunningServer,
  config: OrmaiConfig,
  principal: Pick<Principal, 'sub' | 'tenantId' | 'roles'>,
): Promise<string> {
  const { sub, tenantId, roles } = principal;
  // issuer, audience and claim paths as the server checks them
  return signToken(
    { sub, tenantId, roles: [...roles], expiresIn: '1h' },
    signingOptions(server.secret, identitySettings(config.auth)),
  );
}

/** POSTs a GraphQL operation to the running server; GraphQL errors come back as they are. */
export async function graphqlAt(
  server: RunningServer,
  token: string,
  document: string,
  variables: Record<string, unknown>,
): Promise<{
  data?: Record<string, unknown> | null;
  errors?: { message: string; extensions?: Record<string, unknown> }[];
}> {
  const url = `${server.url}${server.paths.graphql}`;
  let response: Response;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/graphql-response+json, application/json',
        authorization: `Bearer ${token}`,
      },
      body: JSON.stringify({ query: document, variables }),
    });
  } catch (error) {
    throw new Error(
      `cannot reach \`ormai serve\` (pid ${server.pid}) at ${url}: ${describeError((error as Error).cause ?? error)}`,
    );
  }
  const text = await response.text();
  try {
    return JSON.parse(text);
  } catch {
    throw new Error(
      `\`ormai serve\` (pid ${server.pid}) answered ${response.status} at ${url}: ${text.slice(0, 200)}`,
    );
  }
}
