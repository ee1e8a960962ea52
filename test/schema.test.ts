// Pins the generated schema: its printed form (a change to what clients can see shows up in review),
// and that it follows the datamodel — a model added to the Prisma schema appears with no code.
import { lexicographicSortSchema, printSchema } from 'graphql';
import { describe, expect, it } from 'vitest';
import { saasApp } from '../examples/saas/app.js';
import { compilePolicy } from '../src/policy/compile-policy.js';
import type { Datamodel } from '../src/policy/datamodel.js';
import { buildSchema } from '../src/schema/build-schema.js';

function schemaFor(datamodel: Datamodel, roles = ['admin'], policy: unknown = saasApp.policy) {
  const compiled = compilePolicy(policy, datamodel);
  if (!compiled.ok) throw new Error(compiled.message);
  return buildSchema({ datamodel, policy: compiled.value.forRoles(roles), cursorSecret: 'x' });
}

describe('generated schema', () => {
  it.each(['admin', 'support', 'sales', 'agent'])(
    'the %s schema matches its reviewed snapshot',
    async (role) => {
      const printed = printSchema(lexicographicSortSchema(schemaFor(saasApp.datamodel, [role])));
      await expect(printed).toMatchFileSnapshot(`__snapshots__/schema.${role}.graphql`);
    },
  );

  it('a model added to the datamodel appears with root fields, filters and relations', () => {
    const datamodel = structuredClone(saasApp.datamodel) as Datamodel & {
      datamodel: { models: Record<string, any> };
    };
    const field = (name: string, type: string, extra: object = {}) => ({
      name,
      type,
      kind: 'scalar',
      isRequired: true,
      isList: false,
      isId: false,
      isUnique: false,
      ...extra,
    });
    datamodel.datamodel.models.Invoice = {
      fields: [
        field('id', 'Int', { isId: true }),
        field('tenantId', 'Int'),
        field('number', 'String'),
        field('amount', 'Decimal'),
        field('paidAt', 'DateTime', { isRequired: false }),
        field('customerId', 'Int'),
        {
          ...field('customer', 'Customer'),
          kind: 'object',
          relationName: 'CustomerToInvoice',
          relationFromFields: ['customerId'],
        },
      ],
      primaryKey: null,
      uniqueIndexes: [],
    };
    const schema = schemaFor(datamodel);
    const query = schema.getQueryType()!.getFields();
    expect(Object.keys(query)).toEqual(expect.arrayContaining(['invoice', 'invoices']));
    expect(String(query.invoices!.type)).toBe('InvoiceConnection!');
    const invoice = schema.getType('Invoice') as any;
    expect(Object.keys(invoice.getFields())).toEqual([
      'id',
      'tenantId',
      'number',
      'amount',
      'paidAt',
      'customerId',
      'customer',
    ]);
    expect(String(invoice.getFields().amount.type)).toBe('Decimal!');
    const where = schema.getType('InvoiceWhereInput') as any;
    expect(String(where.getFields().paidAt.type)).toBe('DateTimeFilter');
    expect(String(where.getFields().customer.type)).toBe('CustomerRelationFilter');
  });

  it('names list fields with the plural rule, configurable', () => {
    const compiled = compilePolicy(saasApp.policy, saasApp.datamodel);
    if (!compiled.ok) throw new Error(compiled.message);
    const schema = buildSchema({
      datamodel: saasApp.datamodel,
      policy: compiled.value.forRoles(['admin']),
      cursorSecret: 'x',
      naming: { plural: (word) => `all${word[0]!.toUpperCase()}${word.slice(1)}` },
    });
    expect(Object.keys(schema.getQueryType()!.getFields())).toContain('allOrderItem');
  });
});
