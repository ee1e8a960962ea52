// Pins what a built schema keeps of its build (src/plugins/build-state): no Pothos config or options
// copied into any extensions, equal extensions shared between fields, and what execution reads kept.
import {
  type GraphQLSchema,
  isEnumType,
  isInputObjectType,
  isObjectType,
  lexicographicSortSchema,
  printSchema,
} from 'graphql';
import { describe, expect, it } from 'vitest';
import { saasApp } from '../examples/saas/app.js';
import { compilePolicy } from '../src/policy/compile-policy.js';
import { buildSchema } from '../src/schema/build-schema.js';

function schemaFor(roles: string[]) {
  const compiled = compilePolicy(saasApp.policy, saasApp.datamodel);
  if (!compiled.ok) throw new Error(compiled.message);
  return buildSchema({
    datamodel: saasApp.datamodel,
    policy: compiled.value.forRoles(roles),
    cursorSecret: 'x',
  });
}

/** Every extensions object of the schema, with where it hangs. */
function extensionsOf(schema: GraphQLSchema) {
  const all: { at: string; extensions: Record<string, unknown> }[] = [];
  const add = (at: string, extensions: unknown) =>
    all.push({ at, extensions: extensions as Record<string, unknown> });
  for (const type of Object.values(schema.getTypeMap())) {
    if (type.name.startsWith('__')) continue;
    add(type.name, type.extensions);
    if (isObjectType(type)) {
      for (const field of Object.values(type.getFields())) {
        add(`${type.name}.${field.name}`, field.extensions);
        for (const arg of field.args)
          add(`${type.name}.${field.name}(${arg.name})`, arg.extensions);
      }
    } else if (isInputObjectType(type)) {
      for (const field of Object.values(type.getFields()))
        add(`${type.name}.${field.name}`, field.extensions);
    } else if (isEnumType(type)) {
      for (const value of type.getValues()) add(`${type.name}.${value.name}`, value.extensions);
    }
  }
  return all;
}

describe('a built schema keeps nothing of its build', () => {
  const schema = schemaFor(['agent', 'sales']);

  it('holds no Pothos config or options in any extensions', () => {
    const all = extensionsOf(schema);
    expect(all.length).toBeGreaterThan(500);
    const leftover = all.filter(({ extensions }) =>
      Object.keys(extensions).some((key) =>
        ['pothosConfig', 'pothosOptions', 'pothosResolveWrapped'].includes(key),
      ),
    );
    expect(leftover.map(({ at }) => at)).toEqual([]);
  });

  it('shares one extensions object between fields whose extensions are equal', () => {
    const plain = extensionsOf(schema).filter(
      ({ at, extensions }) =>
        at.includes('.') &&
        !at.includes('(') &&
        extensions.complexity === 1 &&
        Object.keys(extensions).length === 1,
    );
    expect(plain.length).toBeGreaterThan(100);
    expect(new Set(plain.map(({ extensions }) => extensions)).size).toBe(1);
    expect(Object.isFrozen(plain[0]!.extensions)).toBe(true);
  });

  it('keeps what execution reads: complexity, the Prisma selections, ormai budgets and relations', () => {
    const query = schema.getQueryType()!.getFields();
    expect(typeof query.orders!.extensions.complexity).toBe('function');
    const order = schema.getType('Order');
    if (!isObjectType(order)) throw new Error('Order is not an object type');
    expect(order.extensions.pothosPrismaTypeSelection).toBeDefined();
    expect(order.extensions.pothosPrismaFieldMap).toBeDefined();
    expect(order.getFields().items!.extensions.pothosPrismaSelect).toBeTypeOf('function');
    expect(order.getFields().customer!.extensions.ormaiRelation).toBe(true);
    expect(schema.extensions.ormaiBudgets).toMatchObject({ maxComplexity: expect.any(Number) });
  });

  it('keeps no resolver or argument list per field that fields and role sets can share', () => {
    const other = schemaFor(['admin']);
    const fieldOf = (of: GraphQLSchema, type: string, field: string) => {
      const found = of.getType(type);
      if (!isObjectType(found)) throw new Error(`${type} is not an object type`);
      return found.getFields()[field]!;
    };
    // an aggregate's value fields read the row by name: one resolver per name, for every schema
    const min = fieldOf(schema, 'OrderExtremeAggregate', 'customerId');
    expect(min.resolve).toBe(fieldOf(other, 'OrderExtremeAggregate', 'customerId').resolve);
    expect(min.resolve).toBe(fieldOf(schema, 'OrderGroupKey', 'customerId').resolve);
    expect(min.resolve).not.toBe(fieldOf(schema, 'OrderExtremeAggregate', 'id').resolve);
    expect(min.resolve!({ customerId: 7, id: 1 }, {}, {}, {} as never)).toBe(7);
    expect(min.resolve!({ id: 1 }, {}, {}, {} as never)).toBeNull();
    expect(fieldOf(schema, 'OrderNumericAggregate', 'id').resolve).toBe(
      fieldOf(other, 'OrderNumericAggregate', 'id').resolve,
    );
    // fields without arguments share one frozen empty list
    expect(min.args).toHaveLength(0);
    expect(min.args).toBe(fieldOf(schema, 'CustomerGroupKey', 'id').args);
    expect(Object.isFrozen(min.args)).toBe(true);
    expect(schema.getQueryType()!.getFields().orders!.args.length).toBeGreaterThan(0);
  });

  it('prints the same schema when built again (nothing a build shares is emptied)', () => {
    const again = schemaFor(['agent', 'sales']);
    expect(printSchema(lexicographicSortSchema(again))).toBe(
      printSchema(lexicographicSortSchema(schema)),
    );
  });
});
