// Mistakes and attacks mixed into otherwise valid GraphQL documents, each with the error codes the
// contract gives it: denied or redacted fields, hidden models, another tenant, over-budget pages,
// bad cursors and orders, wrong types, unknown fields, alias bombs.
import fc from 'fast-check';
import type { AppModel, Principal } from './app-model.js';
import { type DocSpec, literal, type Root } from './graphql-gen.js';
import type { Truth } from './truth.js';

export const FAULTS = [
  'deniedField',
  'hiddenModel',
  'protectedFilter',
  'protectedOrder',
  'firstTooLarge',
  'firstTooSmall',
  'otherTenant',
  'otherTenantById',
  'badCursor',
  'badOrderBy',
  'tooDeep',
  'wrongType',
  'unknownField',
  'aliasBomb',
] as const;
export type Fault = (typeof FAULTS)[number];

export interface FaultPlan {
  fault: Fault;
  /** Error codes the request may get; it must get at least one error. */
  codes: string[];
  /** A cursor to put in the first list root's `after` variable. */
  after?: string;
}

/** Garbage where a cursor belongs. */
export const BAD_CURSORS = [
  'x',
  '.',
  '..',
  'abc.def',
  'a.b.c',
  'eyJtIjoiT3JkZXIiLCJrIjoiaWQ6YXNjIiwidiI6WzFdfQ.AAAAAAAAAAAAAAAAAAAAAAAA',
  'eyJtIjoiT3JkZXIiLCJrIjoiaWQ6YXNjIiwidiI6WzFdfQ',
  '%00',
  "' OR 1=1 --",
  'null',
  '{"m":"Order"}',
  'A'.repeat(5000),
  '🙂.🙂',
];

const PICK = (random: number, list: readonly any[]) => list[Math.floor(random * list.length)];

/** A chain of `length` relations the role may walk from `model`, as a selection; null if none. */
function relationChain(app: AppModel, role: string, model: string, length: number): string | null {
  if (length === 0) {
    const field = app.selectableFields(role, model)[0];
    return field ?? null;
  }
  for (const rel of app.relationsOf(role, model)) {
    const inner = relationChain(app, role, rel.target, length - 1);
    if (inner) return `${rel.name} { ${inner} }`;
  }
  return null;
}

/** Adds `fault` to the document (new roots, or changes to its first list), and what it must get. */
export function applyFault(
  truth: Truth,
  doc: DocSpec,
  fault: Fault,
  principal: Principal,
  random: () => number,
): FaultPlan | null {
  const app = truth.model;
  const role = principal.role;
  const models = app.readableModels(role);
  const list_ = (model: string) => app.model(model).list;
  const firstField = (model: string) => app.selectableFields(role, model)[0]!;
  const add = (text: string) => {
    doc.roots.push({
      kind: 'raw',
      key: `fault${doc.roots.length}`,
      alias: `fault${doc.roots.length}`,
      text,
    });
  };
  const list = doc.roots.find(
    (root): root is Extract<Root, { kind: 'list' }> => root.kind === 'list',
  );
  const other = PICK(random(), otherTenants(truth, principal)) as string | number;
  switch (fault) {
    case 'deniedField': {
      const choices: [string, string][] = models.flatMap((model) =>
        app
          .protectedFields(role, model)
          .filter((field) => app.access(role, model, field).kind === 'deny')
          .map((field) => [model, field] as [string, string]),
      );
      // a relation into a model the role cannot read is not there either
      for (const model of models) {
        for (const rel of app.model(model).relations.values()) {
          if (!app.canRead(role, rel.target))
            choices.push([model, `${rel.name} { ${app.model(rel.target).key[0]} }`]);
        }
      }
      if (choices.length === 0) return null;
      const [model, field] = PICK(random(), choices) as [string, string];
      add(`${list_(model)}(first: 2) { nodes { ${firstField(model)} ${field} } }`);
      return { fault, codes: ['FIELD_NOT_ALLOWED'] };
    }
    case 'hiddenModel': {
      const hidden = [...app.models.keys()].filter((model) => !app.canRead(role, model));
      if (hidden.length === 0) return null;
      const model = PICK(random(), hidden) as string;
      const info = app.model(model);
      const key = info.key.map(
        (name) => `${name}: ${name === info.tenantField ? literal(principal.tenantId) : 1}`,
      );
      add(
        PICK(random(), [
          `${info.list} { totalCount }`,
          `${info.single}(${key.join(', ')}) { ${info.key[0]} }`,
          `${info.list}Aggregate { count }`,
        ]),
      );
      return { fault, codes: ['FIELD_NOT_ALLOWED'] };
    }
    case 'protectedFilter':
    case 'protectedOrder': {
      const choices = models.flatMap((model) =>
        app.unfilterableFields(role, model).map((field) => [model, field] as const),
      );
      if (choices.length === 0) return null;
      const [model, field] = PICK(random(), choices) as [string, string];
      const type = app.field(model, field).type;
      const filter = type === 'Int' ? '{ gt: 0 }' : '{ equals: "a" }';
      add(
        fault === 'protectedFilter'
          ? `${list_(model)}(where: { ${field}: ${filter} }) { totalCount }`
          : `${list_(model)}(orderBy: [{ ${field}: ASC }]) { nodes { ${firstField(model)} } }`,
      );
      // GraphQL rejects the unknown input field; either code tells the caller what to fix
      return { fault, codes: ['FIELD_NOT_ALLOWED', 'VALIDATION_ERROR'] };
    }
    case 'firstTooLarge': {
      if (!list) return null;
      const max = app.budgets(role).maxTake;
      list.first = PICK(random(), [max + 1, max + 50, 1000, 100_000, 2_147_483_647]);
      return { fault, codes: ['QUERY_BUDGET_EXCEEDED'] };
    }
    case 'firstTooSmall': {
      if (!list) return null;
      list.first = PICK(random(), [0, -1, -100, -2_147_483_648]);
      return { fault, codes: ['VALIDATION_ERROR'] };
    }
    case 'otherTenant': {
      const scoped = models.filter((model) => {
        const info = app.model(model);
        return info.tenantField && app.filterableFields(role, model).includes(info.tenantField);
      });
      if (scoped.length === 0) return null;
      const model = PICK(random(), scoped) as string;
      const info = app.model(model);
      const field = info.tenantField!;
      const root = app.tenantRoot();
      // a to-one relation to the tenant itself, filtered on its key
      const toTenant = root
        ? app
            .relationsOf(role, model)
            .find((rel) => !rel.list && rel.target === root.name && rel.keys?.length === 1)
        : undefined;
      const where = PICK(random(), [
        `{ ${field}: { equals: ${literal(other)} } }`,
        `{ ${field}: { in: [${literal(principal.tenantId)}, ${literal(other)}] } }`,
        `{ AND: [{ ${field}: { equals: ${literal(other)} } }] }`,
        `{ NOT: [{ ${field}: { equals: ${literal(other)} } }] }`,
        ...(toTenant
          ? [`{ ${toTenant.name}: { is: { ${root!.key[0]}: { equals: ${literal(other)} } } } }`]
          : []),
      ]);
      add(`${info.list}(where: ${where}) { totalCount }`);
      return { fault, codes: ['TENANT_SCOPE_VIOLATION'] };
    }
    case 'otherTenantById': {
      // the tenant by another tenant's id, or a row whose key holds another tenant
      const keyed = models.filter((model) => {
        const info = app.model(model);
        return info.tenantField !== null && info.key.includes(info.tenantField);
      });
      if (keyed.length === 0) return null;
      const model = PICK(random(), keyed) as string;
      const info = app.model(model);
      const [key] = truth.keysNamingTenant(model, other);
      const values = key
        ? truth.keyValues(model, key)
        : Object.fromEntries(info.key.map((name) => [name, other]));
      const args = info.key.map((name) => `${name}: ${literal(values[name])}`);
      add(`${info.single}(${args.join(', ')}) { ${firstField(model)} }`);
      return { fault, codes: ['TENANT_SCOPE_VIOLATION'] };
    }
    case 'badCursor':
      if (!list) return null;
      return { fault, codes: ['VALIDATION_ERROR'], after: PICK(random(), BAD_CURSORS) };
    case 'badOrderBy': {
      if (!list) return null;
      const fields = app.filterableFields(role, list.model);
      if (fields.length === 0) return null;
      // an empty item, or two fields in one item (one field per item)
      list.orderBy =
        fields.length > 1 && random() < 0.6
          ? ([{ [fields[0]!]: 'ASC', [fields[1]!]: 'DESC' }] as never)
          : ([{}] as never);
      return { fault, codes: ['VALIDATION_ERROR'] };
    }
    case 'tooDeep': {
      const depth = app.budgets(role).maxIncludeDepth + 1;
      const chains = models
        .map((model) => [model, relationChain(app, role, model, depth)] as const)
        .filter(([, chain]) => chain !== null);
      if (chains.length === 0) return null;
      const [model, chain] = PICK(random(), chains) as [string, string];
      add(`${list_(model)}(first: 1) { nodes { ${firstField(model)} ${chain} } }`);
      return { fault, codes: ['QUERY_BUDGET_EXCEEDED'] };
    }
    case 'wrongType': {
      const model = PICK(random(), models) as string;
      const ints = app
        .filterableFields(role, model)
        .filter((field) => app.field(model, field).type === 'Int');
      const sortable = app.filterableFields(role, model)[0];
      add(
        `${list_(model)}${PICK(random(), [
          '(first: "10")',
          '(first: 1.5)',
          '(first: true)',
          ...ints.flatMap((field) => [
            `(where: { ${field}: { equals: "1" } })`,
            `(where: { ${field}: { in: "1" } })`,
            `(where: { ${field}: { equals: 2147483648 } })`,
          ]),
          ...(sortable
            ? [`(orderBy: [{ ${sortable}: UP }])`, `(orderBy: { ${sortable}: "ASC" })`]
            : []),
          '(where: [])',
          '(after: 5)',
        ])} { totalCount }`,
      );
      return { fault, codes: ['VALIDATION_ERROR', 'FIELD_NOT_ALLOWED'] };
    }
    case 'unknownField': {
      const model = PICK(random(), models) as string;
      add(
        PICK(random(), [
          `${list_(model)} { nodes { ${firstField(model)} doesNotExist } }`,
          `${list_(model)} { nodes { ${firstField(model)} password } }`,
          `${list_(model)}(where: { nope: { equals: 1 } }) { totalCount }`,
          `${list_(model)}Secret { totalCount }`,
        ]),
      );
      return { fault, codes: ['FIELD_NOT_ALLOWED', 'VALIDATION_ERROR'] };
    }
    case 'aliasBomb': {
      const count = app.budgets(role).maxAliases + 1 + Math.floor(random() * 40);
      const model = PICK(random(), models) as string;
      const field = firstField(model);
      add(
        `${list_(model)}(first: 1) { nodes { ${Array.from({ length: count }, (_, i) => `x${i}: ${field}`).join(' ')} } }`,
      );
      return { fault, codes: ['QUERY_BUDGET_EXCEEDED'] };
    }
  }
}

/** Tenants other than the principal's (a made-up one when the app has a single tenant). */
export function otherTenants(truth: Truth, principal: Principal): (string | number)[] {
  const own = principal.tenantId;
  const others = truth.tenants.filter((tenant) => tenant !== own);
  if (others.length) return others;
  return [typeof own === 'number' ? own + 1000 : '00000000-0000-4000-8000-000000000000'];
}

/** One request in five carries a fault. */
export const faultArb: fc.Arbitrary<Fault | null> = fc.oneof(
  { weight: 4, arbitrary: fc.constant(null) },
  { weight: 1, arbitrary: fc.constantFrom(...FAULTS) },
);
