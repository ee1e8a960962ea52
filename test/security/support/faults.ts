// Mistakes and attacks mixed into otherwise valid GraphQL documents, each with the error codes the
// contract gives it: denied or redacted fields, hidden models, another tenant, over-budget pages,
// bad cursors and orders, wrong types, unknown fields, alias bombs.
import fc from 'fast-check';
import type { DocSpec, Root } from './graphql-gen.js';
import {
  access,
  canRead,
  MODEL_NAMES,
  MODELS,
  type ModelName,
  type Principal,
  protectedFields,
  readableModels,
} from './spec.js';

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

/** Adds `fault` to the document (new roots, or changes to its first list), and what it must get. */
export function applyFault(
  doc: DocSpec,
  fault: Fault,
  principal: Principal,
  random: () => number,
): FaultPlan | null {
  const role = principal.role;
  const models = readableModels(role);
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
  const other = PICK(
    random(),
    [1, 2, 3].filter((t) => t !== principal.tenantId),
  ) as number;
  switch (fault) {
    case 'deniedField': {
      const choices = models.flatMap((model) =>
        protectedFields(role, model)
          .filter((field) => access(role, model, field).kind === 'deny')
          .map((field) => [model, field] as const),
      );
      // agent: a relation into the hidden User model is not there either
      if (!canRead(role, 'User')) choices.push(['Order', 'salesRep { id }'] as never);
      const [model, field] = PICK(random(), choices) as [ModelName, string];
      add(`${MODELS[model].list}(first: 2) { nodes { id ${field} } }`);
      return { fault, codes: ['FIELD_NOT_ALLOWED'] };
    }
    case 'hiddenModel': {
      const hidden = MODEL_NAMES.filter((model) => !canRead(role, model));
      if (hidden.length === 0) return null;
      const model = PICK(random(), hidden) as ModelName;
      add(
        PICK(random(), [
          `${MODELS[model].list} { totalCount }`,
          `${MODELS[model].single}(id: 1) { id }`,
          `${MODELS[model].list}Aggregate { count }`,
        ]),
      );
      return { fault, codes: ['FIELD_NOT_ALLOWED'] };
    }
    case 'protectedFilter':
    case 'protectedOrder': {
      const choices = models.flatMap((model) =>
        protectedFields(role, model).map((field) => [model, field] as const),
      );
      const [model, field] = PICK(random(), choices) as [ModelName, string];
      const type = MODELS[model].fields[field]!.type;
      const filter = type === 'Int' ? '{ gt: 0 }' : '{ startsWith: "a" }';
      add(
        fault === 'protectedFilter'
          ? `${MODELS[model].list}(where: { ${field}: ${filter} }) { totalCount }`
          : `${MODELS[model].list}(orderBy: [{ ${field}: ASC }]) { nodes { id } }`,
      );
      // GraphQL rejects the unknown input field; either code tells the caller what to fix
      return { fault, codes: ['FIELD_NOT_ALLOWED', 'VALIDATION_ERROR'] };
    }
    case 'firstTooLarge': {
      if (!list) return null;
      list.first = PICK(random(), [101, 150, 1000, 100_000, 2_147_483_647]);
      return { fault, codes: ['QUERY_BUDGET_EXCEEDED'] };
    }
    case 'firstTooSmall': {
      if (!list) return null;
      list.first = PICK(random(), [0, -1, -100, -2_147_483_648]);
      return { fault, codes: ['VALIDATION_ERROR'] };
    }
    case 'otherTenant': {
      const model = PICK(random(), models) as ModelName;
      const field = MODELS[model].tenantField;
      const where = PICK(random(), [
        `{ ${field}: { equals: ${other} } }`,
        `{ ${field}: { in: [${principal.tenantId}, ${other}] } }`,
        `{ AND: [{ ${field}: { equals: ${other} } }] }`,
        `{ NOT: [{ ${field}: { equals: ${other} } }] }`,
        ...(model === 'Tenant' ? [] : [`{ tenant: { is: { id: { equals: ${other} } } } }`]),
      ]);
      add(`${MODELS[model].list}(where: ${where}) { totalCount }`);
      return { fault, codes: ['TENANT_SCOPE_VIOLATION'] };
    }
    case 'otherTenantById':
      add(`tenant(id: ${other}) { id slug }`);
      return { fault, codes: ['TENANT_SCOPE_VIOLATION'] };
    case 'badCursor':
      if (!list) return null;
      return { fault, codes: ['VALIDATION_ERROR'], after: PICK(random(), BAD_CURSORS) };
    case 'badOrderBy': {
      if (!list) return null;
      list.orderBy = PICK(random(), [[{}], [{ id: 'ASC', createdAt: 'DESC' }]]) as never;
      if (list.model === 'Tenant') list.orderBy = [{ id: 'ASC', slug: 'DESC' }];
      if (list.model === 'OrderItem') list.orderBy = [{ id: 'ASC', quantity: 'DESC' }];
      if (list.model === 'Product') list.orderBy = [{}] as never;
      return { fault, codes: ['VALIDATION_ERROR'] };
    }
    case 'tooDeep': {
      const chains: [ModelName, string][] = [
        ['Order', 'customer { orders { items { id } } }'],
        ['Customer', 'orders { items { product { id } } }'],
        ['OrderItem', 'order { customer { tenant { id } } }'],
        ['Tenant', 'products { orderItems { order { id } } }'],
      ];
      const [model, chain] = PICK(random(), chains) as [ModelName, string];
      add(`${MODELS[model].list}(first: 1) { nodes { id ${chain} } }`);
      return { fault, codes: ['QUERY_BUDGET_EXCEEDED'] };
    }
    case 'wrongType': {
      const model = PICK(random(), models) as ModelName;
      add(
        `${MODELS[model].list}${PICK(random(), [
          '(first: "10")',
          '(first: 1.5)',
          '(first: true)',
          '(where: { id: { equals: "1" } })',
          '(where: { id: { in: "1" } })',
          '(where: { id: { equals: 2147483648 } })',
          '(orderBy: [{ id: UP }])',
          '(orderBy: { id: "ASC" })',
          '(where: [])',
          '(after: 5)',
        ])} { totalCount }`,
      );
      return { fault, codes: ['VALIDATION_ERROR', 'FIELD_NOT_ALLOWED'] };
    }
    case 'unknownField': {
      const model = PICK(random(), models) as ModelName;
      add(
        PICK(random(), [
          `${MODELS[model].list} { nodes { id doesNotExist } }`,
          `${MODELS[model].list} { nodes { id password } }`,
          `${MODELS[model].list}(where: { nope: { equals: 1 } }) { totalCount }`,
          `${MODELS[model].list}Secret { totalCount }`,
        ]),
      );
      return { fault, codes: ['FIELD_NOT_ALLOWED', 'VALIDATION_ERROR'] };
    }
    case 'aliasBomb': {
      const count = 16 + Math.floor(random() * 40);
      const model = PICK(random(), models) as ModelName;
      add(
        `${MODELS[model].list}(first: 1) { nodes { ${Array.from({ length: count }, (_, i) => `x${i}: id`).join(' ')} } }`,
      );
      return { fault, codes: ['QUERY_BUDGET_EXCEEDED'] };
    }
  }
}

/** One request in five carries a fault. */
export const faultArb: fc.Arbitrary<Fault | null> = fc.oneof(
  { weight: 4, arbitrary: fc.constant(null) },
  { weight: 1, arbitrary: fc.constantFrom(...FAULTS) },
);
