import type { InitPolicy, ModelScope } from '../policy/init-policy.js';
import type { PrismaClientImport } from '../prisma/client-import.js';

const WIDTH = 100;

/** Why each top-level key of the policy is there, as the comment above it. */
const SECTION_COMMENTS: Record<string, (plan: InitPolicy) => string[]> = {
  profile: () => [
    'prod: the strictest budgets (25 rows per list unless asked, 100 at most, one level of nesting).',
  ],
  tenantField: (plan) => [
    `The field that ties a row to its tenant: a token's tenant claim must equal it.`,
    ...(plan.tenantModel ? [`Here a tenant is a ${plan.tenantModel}.`] : []),
  ],
  denyFields: () => [
    'Denied to every role on top of the default secret globs (*password*, *secret*, *token*, …):',
    'these look like secrets too.',
  ],
  models: () => ['Every model of the schema, and how its rows belong to a tenant.'],
  roles: () => [
    `Roles a token names in its roles claim; each reads what is above, narrowed by its entry.`,
    'admin reads every field but the secrets; agent reads personal data masked (j***@example.com).',
  ],
  writes: () => [
    'Writes are off: no mutation exists. Enable them per model and role (in prod each needs a',
    'reason and is audited with the row before and after). approvers decide the writes that wait',
    'for an approval (requireApproval); no role does unless named here.',
  ],
  audit: () => [
    "Roles that read their tenant's audit log through GraphQL (auditRecords); none unless named.",
  ],
};

/**
 * `ormai.policy.ts`: the policy object as TypeScript, formatted as Biome formats it, with a comment
 * above each section and each model group. Written from the same object `ormai check` checked.
 */
export function renderPolicyFile(plan: InitPolicy, schemaPath: string): string {
  const out = [
    "import { definePolicy } from 'ormai';",
    '',
    '/**',
    ` * What ormai serves from ${schemaPath}, as \`npx ormai init\` wrote it. Edit it freely:`,
    ' * `npx ormai check` verifies it, `npx ormai init --force` writes it again from the schema.',
    ' */',
    'export default definePolicy({',
  ];
  for (const [key, value] of Object.entries(plan.policy)) {
    out.push(...comments(SECTION_COMMENTS[key]?.(plan) ?? [], 2));
    if (key === 'models') out.push(...renderModels(plan));
    else out.push(property(key, value, 2, key === 'roles' ? 3 : 0));
  }
  out.push('});', '');
  return out.join('\n');
}

/** The models, in groups by how they are scoped, each group with what it means. */
function renderModels(plan: InitPolicy): string[] {
  const out = ['  models: {'];
  let previous: ModelScope['kind'] | null = null;
  for (const [name, rules] of Object.entries(plan.policy.models ?? {})) {
    const scope = plan.scopes.get(name) ?? { kind: 'unscoped' };
    if (scope.kind !== previous) {
      if (previous) out.push('');
      out.push(...comments(groupComment(scope, plan), 4));
      previous = scope.kind;
    }
    if (scope.kind === 'tenant-field' && scope.optional) {
      out.push(
        ...comments(
          [
            `${scope.field} is optional: a row without one belongs to no tenant and is served to none.`,
          ],
          4,
        ),
      );
    }
    if (scope.kind === 'unscoped') {
      out.push(
        ...comments(
          [
            `TODO: ormai could not find how ${name} belongs to a tenant; global means every tenant reads every row; agent does not see it.`,
          ],
          4,
        ),
      );
    }
    out.push(property(name, rules, 4, 0));
  }
  out.push('  },');
  return out;
}

function groupComment(scope: ModelScope, plan: InitPolicy): string[] {
  switch (scope.kind) {
    case 'tenant-model':
      return [
        `The tenant itself: a principal reads the one whose ${scope.field} is its tenant id.`,
      ];
    case 'tenant-field':
      return [
        `Rows that carry the tenant field (${plan.tenantField}, or the one named): each is that tenant's.`,
      ];
    case 'through':
      return [
        `No ${plan.tenantField}: each row belongs to the tenant of the parent it requires (scopeThrough).`,
      ];
    case 'unscoped':
      return ['No way to a tenant found: review these before serving real data.'];
  }
}

function comments(lines: string[], indent: number): string[] {
  return lines.map((line) => `${' '.repeat(indent)}// ${line}`);
}

/** `key: value,` at an indent; objects `expand` levels deep are written over several lines. */
function property(key: string, value: unknown, indent: number, expand: number): string {
  const head = `${' '.repeat(indent)}${propertyKey(key)}: `;
  return `${head}${literal(value, indent, head.length, expand)},`;
}

/**
 * A value as Biome prints it: on one line when it fits in the width, else one entry per line
 * (Biome keeps an object over several lines once its first key is on a new line, so expanding an
 * object that would fit is also stable; an array that fits is always put back on one line).
 */
function literal(value: unknown, indent: number, used: number, expand: number): string {
  const inline = inlineLiteral(value);
  const isObject = value !== null && typeof value === 'object' && !Array.isArray(value);
  const empty = isObject ? Object.keys(value).length === 0 : Array.isArray(value) && !value.length;
  const fits = used + inline.length + 1 <= WIDTH;
  if (empty || (fits && !(isObject && expand > 0)) || (!isObject && !Array.isArray(value))) {
    return inline;
  }
  const pad = ' '.repeat(indent);
  if (Array.isArray(value)) {
    const items = value.map((item) => `${pad}  ${literal(item, indent + 2, indent + 2, 0)},`);
    return `[\n${items.join('\n')}\n${pad}]`;
  }
  const entries = Object.entries(value as Record<string, unknown>).map(([key, item]) =>
    property(key, item, indent + 2, Math.max(0, expand - 1)),
  );
  return `{\n${entries.join('\n')}\n${pad}}`;
}

function inlineLiteral(value: unknown): string {
  if (typeof value === 'string') return stringLiteral(value);
  if (Array.isArray(value)) return `[${value.map(inlineLiteral).join(', ')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value).map(
      ([key, item]) => `${propertyKey(key)}: ${inlineLiteral(item)}`,
    );
    return entries.length === 0 ? '{}' : `{ ${entries.join(', ')} }`;
  }
  return String(value);
}

function propertyKey(key: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(key) ? key : stringLiteral(key);
}

/** Single quotes, as the project's Biome config asks, unless double quotes need fewer escapes. */
function stringLiteral(value: string): string {
  if (value.includes("'") && !value.includes('"')) return JSON.stringify(value);
  return `'${value.replaceAll('\\', '\\\\').replaceAll("'", "\\'").replaceAll('\n', '\\n')}'`;
}

export interface ConfigFileOptions {
  /** The app's name (package.json `name`, else the folder's). */
  name: string;
  /** The schema path relative to the project folder, as `readPrismaSchema` takes it. */
  schemaPath: string;
  client: PrismaClientImport | null;
}

/** `ormai.config.ts`: the app's datamodel, client and policy, in the shape `defineConfig` takes. */
export function renderConfigFile(options: ConfigFileOptions): string {
  const { client } = options;
  const imports = [
    "import { defineConfig, readPrismaSchema } from 'ormai';",
    "import policy from './ormai.policy.js';",
    ...(client ? [`import { PrismaClient } from ${stringLiteral(client.specifier)};`] : []),
  ];
  const todo = client
    ? []
    : [
        `// TODO: ormai init found no prisma-client or prisma-client-js generator in ${options.schemaPath}.`,
        '// Import the PrismaClient your generator emits and add to app below:',
        '//   createPrismaClient: (adapter, options) => new PrismaClient({ adapter, ...options }),',
      ];
  return [
    ...sortImports(imports),
    '',
    ...todo,
    '/**',
    ' * How `npx ormai serve` serves this app, as `npx ormai init` wrote it. The database is',
    " * DATABASE_URL's; ormai never migrates the app's tables, only checks they match the schema.",
    ' */',
    'export default defineConfig({',
    '  app: {',
    `    name: ${stringLiteral(options.name)},`,
    "    // read with Prisma's own schema parser at start-up: no generator to add for ormai",
    // relative to this file, so `--config` from another folder reads the same schema
    `    datamodel: readPrismaSchema(new URL(${stringLiteral(relativeUrl(options.schemaPath))}, import.meta.url)),`,
    ...(client
      ? [
          "    // the app's generated client, over the connection ormai opens",
          '    createPrismaClient: (adapter, options) => new PrismaClient({ adapter, ...options }),',
        ]
      : []),
    '    policy,',
    '  },',
    '});',
    '',
  ].join('\n');
}

/** Biome's order: packages (`@scope/…` before bare names), then relative paths, `../` before `./`. */
function sortImports(imports: string[]): string[] {
  const rank = (line: string) => {
    const source = line.match(/from '(.*)'/)?.[1] ?? '';
    return source.startsWith('../') ? 1 : source.startsWith('./') ? 2 : 0;
  };
  return [...imports].sort((a, b) => {
    const sa = a.match(/from '(.*)'/)?.[1] ?? '';
    const sb = b.match(/from '(.*)'/)?.[1] ?? '';
    return rank(a) - rank(b) || (sa < sb ? -1 : sa > sb ? 1 : 0);
  });
}

/** `prisma/schema.prisma` → `./prisma/schema.prisma`: a URL relative to the config file. */
function relativeUrl(path: string): string {
  const posix = path.split('\\').join('/');
  return posix.startsWith('.') ? posix : `./${posix}`;
}
