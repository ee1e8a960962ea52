import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { OrmaiConfig } from '../config.js';
import { listTools, type ToolDefinition } from '../mcp-bridge/index.js';
import type { Principal } from '../policy/principal.js';
import { compileAppPolicy } from '../runtime.js';
import { buildSchema } from '../schema/build-schema.js';

export const MCP_CLIENTS = ['claude-desktop', 'claude-code', 'cursor', 'vscode'] as const;
export type McpClient = (typeof MCP_CLIENTS)[number];
export type McpTransport = 'stdio' | 'http';

export interface McpConfigOptions {
  /** The config file, as given on the command line. */
  configFile: string;
  /** The /mcp URL of a running `ormai serve`. */
  http: string;
  roles: string[];
  /** Where the stdio server runs (the embedded database's directory is relative to it). */
  cwd: string;
}

type StdioEntry = { command: string; args: string[]; cwd: string; env: Record<string, string> };

export interface McpClientConfig {
  mcpServers: {
    'ormai-stdio': StdioEntry;
    'ormai-http': { type: 'http'; url: string; headers: { Authorization: string } };
  };
  roles: string[];
  tools: ToolDefinition[];
}

/** The server names ormai's entries go under in a client's file. */
const STDIO_NAME = 'ormai-stdio';
const HTTP_NAME = 'ormai-http';

/**
 * What an MCP client needs to reach ormai as the given roles: a stdio server that runs this very
 * installation (node and the package's bin by absolute path: `npx ormai` could fetch whatever the
 * registry holds under that name, with the JWT secret in its environment), the HTTP endpoint, and
 * exactly the tools those roles are listed over either (the bridge's own tools/list).
 */
export function mcpClientConfig(config: OrmaiConfig, options: McpConfigOptions): McpClientConfig {
  const tools = toolsFor(config, options.roles);
  const tokenHint = `<a JWT from: ${tokenCommand(options.roles)}>`;
  return {
    mcpServers: {
      'ormai-stdio': {
        command: process.execPath,
        args: stdioArgs(options),
        cwd: options.cwd,
        env: {
          ORMAI_TOKEN: tokenHint,
          ...(needsSecret(config)
            ? { ORMAI_JWT_SECRET: '<the secret the token is signed with, as the server has it>' }
            : {}),
        },
      },
      'ormai-http': {
        type: 'http',
        url: options.http,
        headers: {
          Authorization: `Bearer <a dev token printed by ormai serve, or a JWT from: ${tokenCommand(options.roles)}>`,
        },
      },
    },
    roles: options.roles,
    tools,
  };
}

/** The tools `tools/list` gives a token of these roles (they depend on the roles only). */
function toolsFor(config: OrmaiConfig, roles: string[]): ToolDefinition[] {
  const engine = compileAppPolicy(config.app);
  const declared = Object.keys(engine.policy.roles ?? {});
  const unknown = roles.filter((role) => !declared.includes(role));
  if (declared.length > 0 && roles.length === 0) {
    throw new Error(`--roles names no role: pass some of ${declared.join(', ')}`);
  }
  if (declared.length > 0 && unknown.length > 0) {
    throw new Error(
      `--roles: ${unknown.join(', ')} ${unknown.length === 1 ? 'is not a role' : 'are not roles'} of this policy (${declared.join(', ')})`,
    );
  }
  // this principal stands for any token of those roles, of any tenant
  const principal: Principal = { sub: 'mcp-config', tenantId: null, roles, claims: {} };
  const policy = engine.forRoles(roles);
  return listTools(
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
}

const tokenCommand = (roles: string[]) =>
  `npx ormai token --sub 1 --tenant 1 --roles ${roles.join(',')}`;

/**
 * `ormai mcp` of this installation, by absolute path, with the config and the directory it is to
 * run in (clients start servers wherever they like: Claude Desktop from `/`).
 */
function stdioArgs(options: McpConfigOptions): string[] {
  return [
    ormaiBin(),
    'mcp',
    '--config',
    resolve(options.cwd, options.configFile),
    '--cwd',
    options.cwd,
  ];
}

/** The stdio server verifies tokens itself: with the config's secret, a JWKS, or this variable. */
function needsSecret(config: OrmaiConfig): boolean {
  return !config.auth?.jwtSecret && !process.env.ORMAI_JWKS_URL && !config.auth?.jwks?.url;
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

/** A value the entry needs from the user's environment: a token, a secret, a database URL. */
interface Secret {
  variable: string;
  /** VS Code's input id */
  input: string;
  description: string;
}

export interface ClientConfigOptions extends McpConfigOptions {
  client: McpClient;
  transport: McpTransport;
  /** The file to write instead of the client's usual one. */
  file?: string | undefined;
  env?: NodeJS.ProcessEnv;
}

/** One client's file: where it lives, the part ormai adds to it, and what the user does next. */
export interface ClientConfig {
  client: McpClient;
  path: string;
  /** `mcpServers` (Claude, Cursor) or `servers` (VS Code). */
  key: 'mcpServers' | 'servers';
  /** The JSON to merge into the file: `{ [key]: { name: entry } }` (+ VS Code's `inputs`). */
  block: Record<string, unknown>;
  /** The server's name in the file. */
  name: string;
  /** Values written as `<…>` because the client cannot read them from the environment. */
  placeholders: string[];
  notes: string[];
  tools: ToolDefinition[];
}

/**
 * The block one client's config file takes, in that client's format: Claude Desktop
 * (`claude_desktop_config.json`, `mcpServers`, stdio only: it does not connect to remote servers
 * from this file, so HTTP goes through `ormai mcp --url`), Claude Code (`.mcp.json`, `mcpServers`
 * with `type`, `${VAR}` expanded), Cursor (`.cursor/mcp.json`, `mcpServers`, `${env:VAR}`) and VS
 * Code (`.vscode/mcp.json`, `servers` with `type`, secrets asked through `inputs`). Secrets are
 * read from the environment where the client can; Claude Desktop's file holds them as written.
 */
export function clientConfig(config: OrmaiConfig, options: ClientConfigOptions): ClientConfig {
  const env = options.env ?? process.env;
  const tools = toolsFor(config, options.roles);
  const { client, transport } = options;
  const secrets: Secret[] = [
    {
      variable: 'ORMAI_TOKEN',
      input: 'ormai-token',
      description: `A JWT for ormai (${tokenCommand(options.roles)})`,
    },
  ];
  if (transport === 'stdio') {
    if (needsSecret(config)) {
      secrets.push({
        variable: 'ORMAI_JWT_SECRET',
        input: 'ormai-jwt-secret',
        description: 'The secret ormai verifies tokens with (ORMAI_JWT_SECRET)',
      });
    }
    if (env.DATABASE_URL) {
      secrets.push({
        variable: 'DATABASE_URL',
        input: 'ormai-database-url',
        description: 'The PostgreSQL URL ormai serves (DATABASE_URL)',
      });
    }
  }
  const placeholders: string[] = [];
  const reference = (secret: Secret): string => {
    switch (client) {
      case 'claude-code':
        // an unset variable without a default stops Claude Code reading the file: the secret may
        // be absent (a running `ormai serve` lends its own), the token may not
        return secret.variable === 'ORMAI_JWT_SECRET'
          ? `\${${secret.variable}:-}`
          : `\${${secret.variable}}`;
      case 'cursor':
        return `\${env:${secret.variable}}`;
      case 'vscode':
        return `\${input:${secret.input}}`;
      case 'claude-desktop': {
        const value = env[secret.variable];
        if (value) return value;
        if (!placeholders.includes(secret.variable)) placeholders.push(secret.variable);
        return `<${secret.description}>`;
      }
    }
  };
  const token = reference(secrets[0]!);
  const stdioEnv = Object.fromEntries(
    secrets.map((secret) => [secret.variable, reference(secret)]),
  );
  const typed = client === 'claude-code' || client === 'vscode';

  let entry: Record<string, unknown>;
  if (transport === 'stdio') {
    entry = {
      ...(typed ? { type: 'stdio' } : {}),
      command: process.execPath,
      args: stdioArgs(options),
      env: stdioEnv,
    };
  } else if (client === 'claude-desktop') {
    // the file takes local servers only: ormai's stdio proxy forwards to the HTTP endpoint
    entry = {
      command: process.execPath,
      args: [ormaiBin(), 'mcp', '--url', options.http],
      env: { ORMAI_TOKEN: token },
    };
  } else {
    entry = {
      ...(typed ? { type: 'http' } : {}),
      url: options.http,
      headers: { Authorization: `Bearer ${token}` },
    };
  }
  const name = transport === 'stdio' ? STDIO_NAME : HTTP_NAME;
  const key = client === 'vscode' ? 'servers' : 'mcpServers';
  const block: Record<string, unknown> = { [key]: { [name]: entry } };
  if (client === 'vscode') {
    const used = secrets.filter((secret) => JSON.stringify(entry).includes(secret.input));
    block.inputs = used.map((secret) => ({
      type: 'promptString',
      id: secret.input,
      description: secret.description,
      password: true,
    }));
  }
  const path = options.file
    ? resolve(options.cwd, options.file)
    : defaultPath(client, options.cwd, env);
  const variables = secrets.map((secret) => secret.variable);
  const notes: string[] = [];
  switch (client) {
    case 'claude-code':
      notes.push(
        `Claude Code reads \${…} from its environment: export ${variables.join(', ')} before \`claude\``,
        `or, instead of the file: claude mcp add-json ${name} ${shellQuote(JSON.stringify(entry))} --scope project`,
      );
      break;
    case 'cursor':
      notes.push(
        `Cursor reads \${env:…} from the environment it was started in: ${variables.join(', ')}`,
      );
      break;
    case 'vscode':
      notes.push(`VS Code asks for each \${input:…} value when it starts the server, and keeps it`);
      break;
    case 'claude-desktop':
      notes.push(
        placeholders.length > 0
          ? `Claude Desktop cannot read the environment: replace the <…> values (${placeholders.join(', ')}) in ${path}, or set them and run this again`
          : `Claude Desktop cannot read the environment: ${path} holds ${variables.join(', ')} as written (keep it private)`,
        'restart Claude Desktop to load it',
      );
      break;
  }
  return { client, path, key, block, name, placeholders, notes, tools };
}

/** Where each client reads its servers: Claude Desktop per OS, the others per project. */
function defaultPath(client: McpClient, cwd: string, env: NodeJS.ProcessEnv): string {
  switch (client) {
    case 'claude-desktop': {
      const file = join('Claude', 'claude_desktop_config.json');
      if (process.platform === 'darwin')
        return join(homedir(), 'Library', 'Application Support', file);
      if (process.platform === 'win32')
        return join(env.APPDATA ?? join(homedir(), 'AppData', 'Roaming'), file);
      return join(env.XDG_CONFIG_HOME || join(homedir(), '.config'), file);
    }
    case 'claude-code':
      return join(cwd, '.mcp.json');
    case 'cursor':
      return join(cwd, '.cursor', 'mcp.json');
    case 'vscode':
      return join(cwd, '.vscode', 'mcp.json');
  }
}

export interface InstallResult {
  status: 'created' | 'updated' | 'unchanged';
  /** The copy of the file as it was, made before it was written. */
  backup?: string;
}

/**
 * Merges the block into the client's file: the user's other servers, inputs and settings stay as
 * they were, ormai's entry of the same name is replaced. The file as it was is copied aside first;
 * a file that is not plain JSON (comments) is left alone.
 */
export function installClientConfig(target: ClientConfig, now: Date = new Date()): InstallResult {
  const { path, key, block } = target;
  let current: Record<string, unknown> = {};
  const exists = existsSync(path);
  if (exists) {
    const text = readFileSync(path, 'utf8');
    try {
      current = text.trim() ? JSON.parse(text) : {};
    } catch (error) {
      throw new Error(
        `${path} is not plain JSON (${(error as Error).message}); nothing written. Add the block \`ormai mcp-config --client ${target.client}\` prints by hand`,
      );
    }
    if (!current || typeof current !== 'object' || Array.isArray(current)) {
      throw new Error(`${path} does not hold a JSON object; nothing written`);
    }
    const servers = current[key];
    if (servers !== undefined && (typeof servers !== 'object' || Array.isArray(servers))) {
      throw new Error(`${path}: "${key}" is not an object; nothing written`);
    }
  }
  const merged: Record<string, unknown> = {
    ...current,
    [key]: {
      ...((current[key] as Record<string, unknown>) ?? {}),
      ...(block[key] as Record<string, unknown>),
    },
  };
  if (block.inputs) {
    const inputs = Array.isArray(current.inputs) ? [...current.inputs] : [];
    for (const input of block.inputs as { id: string }[]) {
      const at = inputs.findIndex((other) => (other as { id?: string })?.id === input.id);
      if (at >= 0) inputs[at] = input;
      else inputs.push(input);
    }
    merged.inputs = inputs;
  }
  if (exists && JSON.stringify(merged) === JSON.stringify(current)) return { status: 'unchanged' };

  mkdirSync(dirname(path), { recursive: true });
  let backup: string | undefined;
  if (exists) {
    backup = `${path}.backup-${now.toISOString().replace(/[:.]/g, '-')}`;
    copyFileSync(path, backup);
  }
  // written beside and renamed: the client never reads half a file; secrets may be in it (0600)
  const mode = exists ? statSync(path).mode & 0o777 : 0o600;
  const staging = `${path}.ormai-${process.pid}.tmp`;
  writeFileSync(staging, `${JSON.stringify(merged, null, 2)}\n`, { mode });
  renameSync(staging, path);
  return { status: exists ? 'updated' : 'created', ...(backup ? { backup } : {}) };
}

function shellQuote(text: string): string {
  return `'${text.replaceAll("'", `'\\''`)}'`;
}
