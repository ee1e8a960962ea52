import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { OrmaiConfig } from '../config.js';
import { listTools, type ToolDefinition } from '../mcp-bridge/index.js';
import type { Principal } from '../policy/principal.js';
import { compileAppPolicy } from '../runtime.js';
import { buildSchema } from '../schema/build-schema.js';

export interface McpConfigOptions {
  /** The config file, as given on the command line. */
  configFile: string;
  /** The /mcp URL of a running `ormai serve`. */
  http: string;
  roles: string[];
  /** Where the stdio server runs (the embedded database's directory is relative to it). */
  cwd: string;
}

export interface McpClientConfig {
  mcpServers: {
    'ormai-stdio': {
      command: string;
      args: string[];
      cwd: string;
      env: Record<string, string>;
    };
    'ormai-http': { type: 'http'; url: string; headers: { Authorization: string } };
  };
  roles: string[];
  tools: ToolDefinition[];
}

/**
 * What an MCP client needs to reach ormai as the given roles: a stdio server that runs this very
 * installation (node and the package's bin by absolute path: `npx ormai` could fetch whatever the
 * registry holds under that name, with the JWT secret in its environment), the HTTP endpoint, and
 * exactly the tools those roles are listed over either (the bridge's own tools/list).
 */
export function mcpClientConfig(config: OrmaiConfig, options: McpConfigOptions): McpClientConfig {
  const engine = compileAppPolicy(config.app);
  const declared = Object.keys(engine.policy.roles ?? {});
  const unknown = options.roles.filter((role) => !declared.includes(role));
  if (declared.length > 0 && options.roles.length === 0) {
    throw new Error(`--roles names no role: pass some of ${declared.join(', ')}`);
  }
  if (declared.length > 0 && unknown.length > 0) {
    throw new Error(
      `--roles: ${unknown.join(', ')} ${unknown.length === 1 ? 'is not a role' : 'are not roles'} of this policy (${declared.join(', ')})`,
    );
  }
  // the tools depend on the roles only: this principal stands for any of their tokens
  const principal: Principal = {
    sub: 'mcp-config',
    tenantId: null,
    roles: options.roles,
    claims: {},
  };
  const policy = engine.forRoles(options.roles);
  const tools = listTools(
    {
      policyFor: () => policy,
      schemaFor: () =>
        buildSchema({
          datamodel: config.app.datamodel,
          policy,
          cursorSecret: 'mcp-config',
          ...(config.naming ? { naming: config.naming } : {}),
        }),
      domainTools: config.app.domainTools ?? [],
      ...(config.mcp?.toolNames ? { toolNames: config.mcp.toolNames } : {}),
    },
    principal,
  );
  const tokenCommand = `npx ormai token --sub 1 --tenant 1 --roles ${options.roles.join(',')}`;
  return {
    mcpServers: {
      'ormai-stdio': {
        command: process.execPath,
        args: [ormaiBin(), 'mcp', '--config', resolve(options.cwd, options.configFile)],
        cwd: options.cwd,
        env: {
          ORMAI_TOKEN: `<a JWT from: ${tokenCommand}>`,
          ...(config.auth?.jwtSecret
            ? {}
            : { ORMAI_JWT_SECRET: '<the secret the token is signed with, as the server has it>' }),
        },
      },
      'ormai-http': {
        type: 'http',
        url: options.http,
        headers: {
          Authorization: `Bearer <a dev token printed by ormai serve, or a JWT from: ${tokenCommand}>`,
        },
      },
    },
    roles: options.roles,
    tools,
  };
}

/** The `ormai` command of this installation: the package's bin, by absolute path. */
function ormaiBin(): string {
  // two levels up from src/cli or dist/cli
  const root = fileURLToPath(new URL('../../', import.meta.url));
  const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
    bin?: string | Record<string, string>;
  };
  const bin = typeof manifest.bin === 'string' ? manifest.bin : manifest.bin?.ormai;
  if (!bin) throw new Error(`${join(root, 'package.json')} names no ormai bin`);
  return resolve(root, bin);
}
