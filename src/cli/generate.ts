import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import {
  type FragmentDefinitionNode,
  type GraphQLInputType,
  type GraphQLSchema,
  Kind,
  type OperationDefinitionNode,
  parse,
  print,
  typeFromAST,
  validate,
} from 'graphql';
import type { DomainTool } from '../app.js';
import type { OrmaiConfig } from '../config.js';
import { describeError } from '../describe-error.js';
import { assertToolNames } from '../mcp-bridge/tool-names.js';
import { READ_TOOLS, WRITE_TOOLS } from '../mcp-bridge/tools.js';
import { compilePolicy } from '../policy/compile-policy.js';
import type { Policy, ViewPolicy } from '../policy/types.js';
import { buildSchema } from '../schema/build-schema.js';
import { modelNames } from '../schema/naming.js';
import { inputType, selectionType } from './generate-types.js';

/** A generator's refusal: what is wrong, and what to do about it. */
export class GenerateError extends Error {
  readonly code: string;
  readonly hints: string[];
  constructor(code: string, message: string, hints: string[] = []) {
    super([message, ...hints.map((hint) => `  hint: ${hint}`)].join('\n'));
    this.name = 'GenerateError';
    this.code = code;
    this.hints = hints;
  }
}

export interface GeneratedFile {
  /** Relative to the working directory, as printed. */
  path: string;
  text: string;
  /** What to do with it: where to add the export. */
  next: string[];
}

export interface WriteOptions {
  cwd: string;
  /** The folder to write into (default the working directory). */
  out?: string | undefined;
  dryRun?: boolean | undefined;
  /** Overwrite a file that differs. */
  force?: boolean | undefined;
  print: (line?: string) => void;
}

/** Each role's schema, built from the policy as it would be served to a principal of that role. */
function roleSchemas(config: OrmaiConfig, policy: Policy, roles: string[]) {
  const compiled = compilePolicy(policy, config.app.datamodel);
  if (!compiled.ok) {
    const hints = compiled.hints.filter((hint) => !compiled.message.includes(hint));
    throw new GenerateError('POLICY_INVALID', compiled.message, hints);
  }
  const engine = compiled.value;
  return roles.map((role) => {
    const rolePolicy = engine.forRoles([role]);
    return {
      role,
      policy: rolePolicy,
      schema: buildSchema({
        datamodel: config.app.datamodel,
        policy: rolePolicy,
        cursorSecret: 'ormai-generate',
        ...(config.naming ? { naming: config.naming } : {}),
      }),
    };
  });
}

/** `--roles`, each checked against the policy; without it, every role the policy declares. */
function rolesToCheck(policy: Policy, given: string[] | undefined): string[] {
  const declared = Object.keys(policy.roles ?? {});
  if (declared.length === 0) {
    // a policy without role overlays serves every principal the same: one schema stands for all
    return given?.length ? given : ['*'];
  }
  if (!given?.length) return declared;
  const unknown = given.filter((role) => !declared.includes(role));
  if (unknown.length > 0) {
    throw new GenerateError(
      'ROLE_UNKNOWN',
      `--roles: ${unknown.join(', ')} ${unknown.length === 1 ? 'is not a role' : 'are not roles'} of this policy`,
      [`the policy's roles are ${declared.join(', ')}`],
    );
  }
  return given;
}

export interface ViewOptions {
  model: string;
  name: string;
  fields: string[];
  /** `orderCount` → `orders`: the related rows counted. */
  counts?: Record<string, string>;
  /** `lifetimeCents` → `orders.totalCents`: a related numeric field summed. */
  sums?: Record<string, string>;
  roles?: string[] | undefined;
}

/**
 * `ormai generate view`: a view declaration for the policy's `views` and the type of its rows,
 * checked against each role's schema: every role that reads the model must read every field of the
 * view (a view silently loses the fields a role may not read, so its type would lie).
 */
export function generateView(config: OrmaiConfig, options: ViewOptions): GeneratedFile {
  const policy = config.app.policy;
  const model = config.app.datamodel.datamodel.models[options.model];
  if (!model) {
    const models = Object.keys(config.app.datamodel.datamodel.models);
    throw new GenerateError('MODEL_UNKNOWN', `generate view: ${options.model} is not a model`, [
      `the models are ${models.join(', ')}`,
    ]);
  }
  const scalars = model.fields.filter((field) => field.kind !== 'object').map((f) => f.name);
  const unknown = options.fields.filter((field) => !scalars.includes(field));
  if (unknown.length > 0) {
    throw new GenerateError(
      'FIELD_UNKNOWN',
      `generate view: ${options.model} has no field ${unknown.join(', ')}`,
      [`its fields are ${scalars.join(', ')}`],
    );
  }
  const computed: Record<string, { count: string } | { sum: string }> = {};
  for (const [name, relation] of Object.entries(options.counts ?? {}))
    computed[name] = { count: relation };
  for (const [name, path] of Object.entries(options.sums ?? {})) computed[name] = { sum: path };
  const view: ViewPolicy = {
    name: options.name,
    model: options.model,
    fields: options.fields,
    ...(Object.keys(computed).length > 0 ? { computed } : {}),
    ...(options.roles?.length ? { roles: options.roles } : {}),
  };
  const roles = rolesToCheck(policy, options.roles);
  // a view of the same name is the one being regenerated: it is replaced, not doubled
  const withView: Policy = {
    ...policy,
    views: [...(policy.views ?? []).filter((other) => other.name !== view.name), view],
  };
  let schemas: ReturnType<typeof roleSchemas>;
  try {
    schemas = roleSchemas(config, withView, roles);
  } catch (error) {
    if (error instanceof GenerateError) throw error;
    throw new GenerateError('VIEW_INVALID', `generate view ${view.name}: ${describeError(error)}`);
  }

  const names = modelNames(view.name, config.naming);
  const selected = [...options.fields, ...Object.keys(computed)];
  const document = parse(`query { ${names.list}(first: 1) { nodes { ${selected.join(' ')} } } }`);
  const rowTypes = new Map<string, string[]>();
  const redacted: string[] = [];
  let served = 0;
  for (const { role, policy: rolePolicy, schema } of schemas) {
    const readable = rolePolicy.models.get(view.model);
    if (!readable) continue; // the model is not this role's: nor is the view
    served++;
    for (const field of options.fields) {
      if (!readable.fields.has(field)) {
        throw new GenerateError(
          'FIELD_NOT_READABLE',
          `generate view ${view.name}: role ${role} reads ${view.model} but not ${view.model}.${field}`,
          [
            `drop ${field} from --fields, or pass --roles without ${role} (the view is then served to the roles named only)`,
          ],
        );
      }
      const compiled = readable.fields.get(field)!;
      if (compiled.redaction) redacted.push(`${field}: ${compiled.redaction.kind}ed for ${role}`);
    }
    for (const [name, spec] of Object.entries(computed)) {
      if (!rolePolicy.views.get(view.name)?.computed.some((c) => c.name === name)) {
        const path = 'count' in spec ? spec.count : spec.sum;
        throw new GenerateError(
          'FIELD_NOT_READABLE',
          `generate view ${view.name}: role ${role} cannot compute ${name} (${'count' in spec ? 'count' : 'sum'} of ${path}): it does not read ${path}, or the summed field is redacted for it`,
          [`drop ${name}, or pass --roles without ${role}`],
        );
      }
    }
    const errors = validate(schema, document);
    if (errors.length > 0) {
      throw new GenerateError(
        'VIEW_INVALID',
        `generate view ${view.name}: role ${role}'s schema refuses it: ${errors[0]!.message}`,
      );
    }
    const type = rowType(schema, view.name, selected);
    const key = type.join('\n');
    rowTypes.set(key, [...(rowTypes.get(key) ?? []), role]);
  }
  if (served === 0) {
    throw new GenerateError(
      'MODEL_NOT_READABLE',
      `generate view ${view.name}: no role of ${roles.join(', ')} reads ${view.model}`,
    );
  }
  // the roles agree on the type unless one reads a field hashed that another reads as a number:
  // then a row is one of the roles' shapes
  const shapes = [...rowTypes.entries()];
  const row = shapes[0]![0].split('\n');
  const constName = `${lowerFirst(view.name)}View`;
  const comments = new Map<string, string>();
  for (const entry of redacted) {
    const [field, text] = entry.split(': ') as [string, string];
    comments.set(field, comments.has(field) ? `${comments.get(field)}, ${text}` : text);
  }
  const text = [
    "import type { ViewPolicy } from 'ormai';",
    '',
    '/**',
    ` * ${view.name}: a read-only view of ${view.model}, as \`npx ormai generate view\` wrote it.`,
    ` * Add it to the policy's views (\`views: [${constName}]\`); GraphQL then serves`,
    ` * \`${names.single}(id)\` and \`${names.list}(where, orderBy, first, after)\`, scoped like ${view.model}.`,
    ` * Checked against the schema of ${roles[0] === '*' ? 'the policy' : `each role (${roles.join(', ')})`}.`,
    ' */',
    `export const ${constName} = ${renderLiteral(view)} satisfies ViewPolicy;`,
    '',
    `/** A row of ${view.name} as GraphQL returns it (\`nodes\` of \`${names.list}\`). */`,
    ...(shapes.length === 1
      ? [
          `export interface ${view.name}Row {`,
          ...row.flatMap((line) => {
            const field = line.trim().split(/[?:]/)[0]!;
            return comments.has(field) ? [`  /** ${comments.get(field)} */`, line] : [line];
          }),
          '}',
        ]
      : [
          `export type ${view.name}Row =`,
          ...shapes.flatMap(([type, forRoles], index) => [
            `  // as ${forRoles.join(', ')} read it`,
            `  | {\n${type
              .split('\n')
              .map((line) => `    ${line}`)
              .join('\n')}\n    }${index === shapes.length - 1 ? ';' : ''}`,
          ]),
        ]),
    '',
  ].join('\n');
  return {
    path: `${kebab(view.name)}.view.ts`,
    text,
    next: [`add ${constName} to the policy's views: views: [${constName}]`],
  };
}

/** The view's object type as property lines, in the order asked. */
function rowType(schema: GraphQLSchema, typeName: string, selected: string[]): string[] {
  const type = schema.getType(typeName);
  if (!type || !('getFields' in type)) return [];
  const document = parse(`{ ${selected.join(' ')} }`);
  const selection = (document.definitions[0] as OperationDefinitionNode).selectionSet;
  const literal = selectionType(type as never, selection, new Map());
  return literal.split('\n').slice(1, -1);
}

export interface ToolOptions {
  name: string;
  query: string;
  description?: string | undefined;
  roles?: string[] | undefined;
}

/**
 * `ormai generate tool`: a domain tool (one GraphQL query served as an MCP tool) with the types of
 * its variables and of its result, checked against each role's schema: the bridge offers a tool
 * only to the roles whose schema validates it, so a role named that cannot run it is an error.
 */
export function generateTool(config: OrmaiConfig, options: ToolOptions): GeneratedFile {
  const existing = (config.app.domainTools ?? []).filter((tool) => tool.name !== options.name);
  try {
    assertToolNames([
      ...READ_TOOLS,
      ...WRITE_TOOLS,
      ...existing.map((tool) => tool.name),
      options.name,
    ]);
  } catch (error) {
    throw new GenerateError('TOOL_NAME_INVALID', `generate tool: ${describeError(error)}`, [
      'a tool name is letters, digits, _, - and . (e.g. orders.by_status), at most 64 characters, unlike every other tool',
    ]);
  }
  if (!/^[A-Za-z][A-Za-z0-9_.-]*$/.test(options.name)) {
    throw new GenerateError(
      'TOOL_NAME_INVALID',
      `generate tool: ${JSON.stringify(options.name)} is not a tool name`,
      ['a tool name starts with a letter: orders.by_status, customers_top'],
    );
  }
  let document: ReturnType<typeof parse>;
  try {
    document = parse(options.query);
  } catch (error) {
    throw new GenerateError(
      'QUERY_INVALID',
      `generate tool ${options.name}: ${describeError(error)}`,
    );
  }
  const operations = document.definitions.filter(
    (definition): definition is OperationDefinitionNode =>
      definition.kind === Kind.OPERATION_DEFINITION,
  );
  if (operations.length !== 1 || operations[0]!.operation !== 'query') {
    throw new GenerateError(
      'QUERY_INVALID',
      `generate tool ${options.name}: --query must hold exactly one query (a domain tool reads; writes go through db.* tools)`,
    );
  }
  const operation = operations[0]!;
  const fragments = new Map(
    document.definitions
      .filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION)
      .map((fragment) => [fragment.name.value, fragment]),
  );

  const policy = config.app.policy;
  const roles = rolesToCheck(policy, options.roles);
  const schemas = roleSchemas(config, policy, roles);
  const refused = schemas
    .map(({ role, schema }) => ({ role, errors: validate(schema, document) }))
    .filter((entry) => entry.errors.length > 0);
  if (refused.length > 0) {
    const valid = schemas
      .map((s) => s.role)
      .filter((role) => !refused.some((r) => r.role === role));
    const first = refused[0]!;
    const message = first.errors[0]!.message;
    const everyRole = refused.every((entry) => entry.errors[0]!.message === message);
    if (valid.length === 0 && everyRole) {
      throw new GenerateError('QUERY_INVALID', `generate tool ${options.name}: ${message}`, [
        `roles checked: ${roles.join(', ')}`,
      ]);
    }
    throw new GenerateError(
      'QUERY_INVALID',
      `generate tool ${options.name}: role ${first.role}'s schema refuses the query: ${message}${
        refused.length > 1 ? ` (refused by ${refused.map((r) => r.role).join(', ')})` : ''
      }`,
      [
        valid.length > 0
          ? `it validates for ${valid.join(', ')}: pass --roles ${valid.join(',')} if only they should get it`
          : `no role of ${roles.join(', ')} can run it: select only what they read`,
      ],
    );
  }

  const base = pascal(options.name);
  // the variables as each role's schema types them (a where input holds what the role filters on)
  const inputs = schemas.map(({ role, schema }) => {
    const declarations = new Map<string, string>();
    const lines = (operation.variableDefinitions ?? []).map((variable) => {
      const type = typeFromAST(schema, variable.type as never) as GraphQLInputType;
      // a nullable variable or one with a default may be left out
      const optional =
        variable.type.kind !== Kind.NON_NULL_TYPE || variable.defaultValue !== undefined;
      return `  ${variable.variable.name.value}${optional ? '?' : ''}: ${inputType(type, declarations)};`;
    });
    return { role, lines, declarations, text: [...lines, ...declarations.values()].join('\n') };
  });
  const { lines: variables, declarations } = inputs[0]!;
  const differing = inputs.filter((input) => input.text !== inputs[0]!.text).map((i) => i.role);
  const results = new Map<string, string[]>();
  for (const { role, schema: roleSchema } of schemas) {
    const text = selectionType(roleSchema.getQueryType()!, operation.selectionSet, fragments);
    results.set(text, [...(results.get(text) ?? []), role]);
  }
  const resultTypes = [...results.entries()];
  const description =
    options.description ??
    `Reads ${operation.selectionSet.selections
      .map((s) => (s.kind === Kind.FIELD ? s.name.value : '…'))
      .join(
        ', ',
      )}${variables.length > 0 ? ` given ${(operation.variableDefinitions ?? []).map((v) => v.variable.name.value).join(', ')}` : ''}.`;
  const constName = `${lowerFirst(base)}Tool`;
  const tool: DomainTool = { name: options.name, description, document: print(document) };
  const text = [
    "import type { DomainTool } from 'ormai';",
    '',
    '/**',
    ` * ${options.name}: one GraphQL query served as an MCP tool beside db.*, as`,
    " * `npx ormai generate tool` wrote it. Add it to the app's domainTools",
    ` * (\`domainTools: [${constName}]\`); it runs under the caller's policy, and is offered to the`,
    ` * roles whose schema validates it (checked for ${roles[0] === '*' ? 'the policy' : roles.join(', ')}).`,
    ' */',
    `export const ${constName}: DomainTool = {`,
    `  name: ${stringLiteral(tool.name)},`,
    `  description: ${stringLiteral(tool.description)},`,
    `  document: ${templateLiteral(tool.document)},`,
    '};',
    '',
    `/** The tool's arguments: the query's variables. */`,
    variables.length > 0
      ? `export interface ${base}Variables {\n${variables.join('\n')}\n}`
      : `export type ${base}Variables = Record<string, never>;`,
    ...(differing.length > 0
      ? [
          '',
          `// the input types below are ${inputs[0]!.role}'s; ${differing.join(', ')} filter on other fields`,
        ]
      : []),
    ...[...declarations.values()].flatMap((declaration) => ['', declaration]),
    '',
    `/** What the tool returns as structuredContent: the query's data. */`,
    resultTypes.length === 1
      ? `export type ${base}Result = ${resultTypes[0]![0]};`
      : `export type ${base}Result =\n${resultTypes
          .map(
            ([type, forRoles]) =>
              `  // as ${forRoles.join(', ')} read it\n  | ${type.replaceAll('\n', '\n    ')}`,
          )
          .join('\n')};`,
    '',
  ].join('\n');
  return {
    path: `${kebab(options.name)}.tool.ts`,
    text,
    next: [`add ${constName} to the app's domainTools: domainTools: [${constName}]`],
  };
}

/** Prints the file (`--dry-run`) or writes it; a file that differs is kept unless `--force`. */
export function emit(file: GeneratedFile, options: WriteOptions): number {
  const { print } = options;
  const full = resolve(options.cwd, options.out ?? '.', file.path);
  const shown = relative(options.cwd, full) || file.path;
  if (options.dryRun) {
    print(`// ${shown} (dry run: nothing written)`);
    print(file.text.trimEnd());
    return 0;
  }
  const current = existsSync(full) ? readFileSync(full, 'utf8') : null;
  if (current === file.text) {
    print(`${shown} is up to date`);
  } else if (current !== null && !options.force) {
    print(`${shown} exists and differs from what generate writes now; nothing written`);
    print('  pass --force to write it again (your edits are lost), or --dry-run to see it');
    return 1;
  } else {
    mkdirSync(resolve(full, '..'), { recursive: true });
    writeFileSync(full, file.text);
    print(`${current === null ? 'wrote' : 'overwrote'} ${shown}`);
  }
  for (const line of file.next) print(`next: ${line}`);
  return 0;
}

function renderLiteral(view: ViewPolicy): string {
  const entries: string[] = [
    `  name: ${stringLiteral(view.name)},`,
    `  model: ${stringLiteral(view.model)},`,
    `  fields: [${view.fields.map(stringLiteral).join(', ')}],`,
  ];
  if (view.computed) {
    entries.push('  computed: {');
    for (const [name, spec] of Object.entries(view.computed)) {
      const [kind, path] = 'count' in spec ? ['count', spec.count] : ['sum', spec.sum];
      entries.push(`    ${name}: { ${kind}: ${stringLiteral(path)} },`);
    }
    entries.push('  },');
  }
  if (view.roles) entries.push(`  roles: [${view.roles.map(stringLiteral).join(', ')}],`);
  return `{\n${entries.join('\n')}\n}`;
}

function stringLiteral(value: string): string {
  return `'${value.replaceAll('\\', '\\\\').replaceAll("'", "\\'").replaceAll('\n', '\\n')}'`;
}

function templateLiteral(value: string): string {
  return `\`${value.replaceAll('\\', '\\\\').replaceAll('`', '\\`').replaceAll('${', '\\${')}\``;
}

/** `orders.recent_for_customer` → `OrdersRecentForCustomer` */
function pascal(name: string): string {
  return name
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((part) => part[0]!.toUpperCase() + part.slice(1))
    .join('');
}

const lowerFirst = (name: string) => name[0]!.toLowerCase() + name.slice(1);

/** `CustomerSummary` → `customer-summary`, `orders.by_status` → `orders-by-status` */
function kebab(name: string): string {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1-$2')
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .join('-')
    .toLowerCase();
}
