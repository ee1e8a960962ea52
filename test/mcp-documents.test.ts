// Pins the GraphQL document and variables each db.* tool generates for a fixed input (snapshot), and
// that every generated document is valid against the role's schema.
import { parse, validate } from 'graphql';
import { describe, expect, it } from 'vitest';
import { saasApp } from '../examples/saas/app.js';
import { Translator } from '../src/mcp-bridge/translate.js';
import { compilePolicy } from '../src/policy/compile-policy.js';
import { buildSchema } from '../src/schema/build-schema.js';

const engine = compilePolicy(saasApp.policy, saasApp.datamodel);
if (!engine.ok) throw new Error(engine.message);
const policy = engine.value.forRoles(['agent']);
const schema = buildSchema({ datamodel: saasApp.datamodel, policy, cursorSecret: 'x' });
const translator = new Translator(policy);

const CALLS = {
  'db.describe_schema': translator.describe({ model: 'Order' }),
  'db.get': translator.get({
    model: 'Order',
    id: 7,
    select: ['id', 'status'],
    include: [{ relation: 'customer', select: ['name', 'email'] }],
  }),
  'db.query': translator.query({
    model: 'Order',
    select: ['id', 'totalCents'],
    where: [
      { field: 'status', op: 'in', value: ['paid', 'shipped'] },
      { field: 'totalCents', op: 'between', value: [1000, 5000] },
      { field: 'notes', op: 'is_null', value: false },
    ],
    order_by: [{ field: 'createdAt', direction: 'desc' }],
    take: 10,
    cursor: 'abc.def',
    include: [
      {
        relation: 'items',
        select: ['quantity'],
        where: [{ field: 'quantity', op: 'gte', value: 2 }],
        take: 5,
      },
    ],
  }),
  'db.query include_total': translator.query({ model: 'Customer', take: 5, include_total: true }),
  'db.aggregate': translator.aggregate({
    model: 'Order',
    operation: 'avg',
    field: 'totalCents',
    where: [{ field: 'status', op: 'ne', value: 'cancelled' }],
  }),
  'db.aggregate group_by': translator.aggregate({
    model: 'Order',
    operation: 'sum',
    field: 'totalCents',
    group_by: ['status', 'customerId'],
  }),
};

describe('generated GraphQL documents', () => {
  it('match the reviewed snapshot', async () => {
    const printed = Object.entries(CALLS)
      .map(([name, op]) => `# ${name}\n${op.document}\n${JSON.stringify(op.variables, null, 2)}\n`)
      .join('\n');
    await expect(printed).toMatchFileSnapshot('__snapshots__/mcp-documents.txt');
  });

  it.each(Object.entries(CALLS))('%s is valid against the agent schema', (_name, op) => {
    expect(validate(schema, parse(op.document))).toEqual([]);
  });
});
