import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, relative, resolve, sep } from 'node:path';
import { type InitPolicy, initPolicy, type ModelScope } from '../policy/init-policy.js';
import { type PrismaClientImport, prismaClientImport } from '../prisma/client-import.js';
import { readPrismaSchema } from '../prisma/read-schema.js';
import { runChecks } from './check.js';
import { renderConfigFile, renderPolicyFile } from './render-init.js';

export interface InitOptions {
  /** The project folder (the CLI passes the working directory). */
  cwd: string;
  /** The Prisma schema file or folder; found when absent. */
  schema?: string;
  /** The tenant field, by field or column name; detected when absent. */
  tenantField?: string;
  /** Overwrite ormai.config.ts and ormai.policy.ts when they differ from what init writes. */
  force?: boolean;
  print: (line?: string) => void;
}

export const CONFIG_FILE = 'ormai.config.ts';
export const POLICY_FILE = 'ormai.policy.ts';

/**
 * `ormai init`: reads the app's Prisma schema (unmodified), writes the config and the policy, runs
 * `ormai check` on the very policy object it wrote, and prints the next commands. Never overwrites a
 * file that differs without `force`. Returns the exit code: 0 when written (or already up to date)
 * and the check passes.
 */
export function runInit(options: InitOptions): number {
  const { cwd, print } = options;
  const schemaPath = findSchema(cwd, options.schema);
  const datamodel = readPrismaSchema(resolve(cwd, schemaPath));
  const planned = initPolicy(
    datamodel,
    options.tenantField ? { tenantField: options.tenantField } : {},
  );
  if (!planned.ok) {
    print(`ormai init: ${planned.message}`);
    for (const hint of planned.hints) print(`  ${hint}`);
    return 1;
  }
  const plan = planned.value;
  const client = prismaClientImport(resolve(cwd, schemaPath), cwd);
  const name = appName(cwd);
  const files = [
    { path: CONFIG_FILE, text: renderConfigFile({ name, schemaPath, client }) },
    { path: POLICY_FILE, text: renderPolicyFile(plan, schemaPath) },
  ];

  print(`ormai init: ${schemaPath}, ${Object.keys(datamodel.datamodel.models).length} models`);
  for (const line of summary(plan, client)) print(line);
  print();

  const existing = files.map((file) => {
    const full = resolve(cwd, file.path);
    const current = existsSync(full) ? readFileSync(full, 'utf8') : null;
    return {
      ...file,
      full,
      state: current === null ? 'absent' : current === file.text ? 'same' : 'different',
    };
  });
  const conflicts = existing.filter((file) => file.state === 'different');
  if (conflicts.length > 0 && !options.force) {
    for (const file of conflicts)
      print(`${file.path} exists and differs from what init writes now`);
    print(
      `nothing written; to write both again from the schema (your edits are lost): npx ormai init --force`,
    );
    return 1;
  }
  for (const file of existing) {
    if (file.state === 'same') {
      print(`${file.path} is up to date`);
      continue;
    }
    writeFileSync(file.full, file.text);
    print(`${file.state === 'absent' ? 'wrote' : 'overwrote'} ${file.path}`);
  }

  // what is checked is the object the policy file was written from
  const report = runChecks({ name, datamodel, policy: plan.policy });
  print();
  print('ormai check:');
  for (const line of report.lines) print(`  ${line}`);
  print();
  for (const line of nextSteps(plan)) print(line);
  return report.ok ? 0 : 1;
}

/** `--schema`, else package.json's `prisma.schema`, else prisma.config.ts's, else Prisma's defaults. */
function findSchema(cwd: string, given: string | undefined): string {
  const candidates = given
    ? [given]
    : [
        packageJson(cwd)?.prisma?.schema,
        prismaConfigSchema(cwd),
        'prisma/schema.prisma',
        'prisma/schema',
        'schema.prisma',
      ].filter((path): path is string => typeof path === 'string');
  const found = candidates.find((path) => existsSync(resolve(cwd, path)));
  if (!found) {
    throw new Error(
      given
        ? `no Prisma schema at ${given}`
        : `no Prisma schema found (looked at ${candidates.join(', ')}); pass --schema <file>`,
    );
  }
  // as the config will read it: relative to the project, with forward slashes
  return relative(cwd, resolve(cwd, found)).split(sep).join('/');
}

function packageJson(cwd: string): { name?: string; prisma?: { schema?: unknown } } | null {
  const path = resolve(cwd, 'package.json');
  if (!existsSync(path)) return null;
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    return null;
  }
}

/** `schema: 'prisma/schema.prisma'` in prisma.config.ts, when written as a plain string. */
function prismaConfigSchema(cwd: string): string | undefined {
  const path = resolve(cwd, 'prisma.config.ts');
  if (!existsSync(path)) return undefined;
  return readFileSync(path, 'utf8').match(/\bschema\s*:\s*['"`]([^'"`$]+)['"`]/)?.[1];
}

function appName(cwd: string): string {
  const name = packageJson(cwd)?.name;
  return typeof name === 'string' && name ? name : basename(cwd);
}

/** What init decided, model by model, as lines for the terminal. */
function summary(plan: InitPolicy, client: PrismaClientImport | null): string[] {
  const byKind = <K extends ModelScope['kind']>(kind: K) =>
    [...plan.scopes].filter(
      (entry): entry is [string, Extract<ModelScope, { kind: K }>] => entry[1].kind === kind,
    );
  const direct = byKind('tenant-field').map(([name, scope]) =>
    scope.field === plan.tenantField ? name : `${name} (${scope.field})`,
  );
  const optional = byKind('tenant-field').filter(([, scope]) => scope.optional);
  const flagged = byKind('unscoped').map(([name]) => name);
  const through = byKind('through').map(([name, scope]) => `${name}.${scope.relation}`);
  return [
    row(
      'tenant field',
      `${plan.tenantField}${plan.tenantModel ? ` (the tenant model: ${plan.tenantModel})` : ''}`,
    ),
    direct.length > 0 ? row('by that field', direct.join(', ')) : [],
    optional.length > 0
      ? row(
          'optional',
          `${optional.map(([name, scope]) => `${name}.${scope.field}`).join(', ')}: a row without one is served to no tenant`,
        )
      : [],
    through.length > 0 ? row('through parent', through.join(', ')) : [],
    flagged.length > 0
      ? row(
          'FLAGGED',
          `${flagged.join(', ')}: no way to a tenant found, written as global: true (every tenant reads every row) and hidden from agent; review them in ${POLICY_FILE}`,
        )
      : [],
    plan.denied.length > 0
      ? row('secrets denied', `${plan.denied.join(', ')} (to every role)`)
      : [],
    plan.masked.length > 0
      ? row('masked', `${plan.masked.join(', ')} (for agent; admin reads them)`)
      : [],
    row(
      'PrismaClient',
      client
        ? `${client.specifier} (generator ${client.generator}, ${client.provider})`
        : `no prisma-client or prisma-client-js generator found; see the TODO in ${CONFIG_FILE}`,
    ),
  ].flat();
}

const LABEL_WIDTH = 18;
const LINE_WIDTH = 100;

/** `  label           text…`, the text wrapped at word boundaries under itself. */
function row(label: string, text: string): string[] {
  const lines: string[] = [];
  let line = `  ${label}`.padEnd(LABEL_WIDTH);
  let empty = true;
  for (const word of text.split(' ')) {
    if (!empty && line.length + 1 + word.length > LINE_WIDTH) {
      lines.push(line);
      line = ' '.repeat(LABEL_WIDTH);
      empty = true;
    }
    line += empty ? word : ` ${word}`;
    empty = false;
  }
  lines.push(line);
  return lines;
}

function nextSteps(plan: InitPolicy): string[] {
  const tenant = plan.tenantModel ? `<a ${plan.tenantModel} id>` : `<a ${plan.tenantField}>`;
  return [
    "Next (DATABASE_URL is the app's PostgreSQL database; ORMAI_JWT_SECRET a long random string):",
    '  1. DATABASE_URL=postgresql://… npx ormai migrate',
    "     creates ormai's own tables (audit log, approvals) in schema ormai; never touches the app's",
    '  2. DATABASE_URL=postgresql://… ORMAI_JWT_SECRET=… npx ormai serve',
    '     GraphQL at http://127.0.0.1:4000/graphql, MCP at http://127.0.0.1:4000/mcp',
    `  3. ORMAI_JWT_SECRET=… npx ormai token --sub 1 --tenant ${tenant} --roles agent`,
    '     a token for the agent role; send it as the header Authorization: Bearer <token>',
  ];
}
