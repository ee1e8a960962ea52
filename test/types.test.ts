// Pins the type mapping (README "Type mapping"): enums as GraphQL enums with equality filters and
// VALIDATION_ERROR naming the allowed values, Bytes as base64 and never filterable, BigInt/Decimal
// exact in every aggregate, BigInt writes audited, list fields returned and not filterable —
// alike in GraphQL, MCP and describeSchema, on PGlite and PostgreSQL.
import { type GraphQLInputObjectType, getNamedType, isEnumType } from 'graphql';
import { beforeAll, describe, expect, it } from 'vitest';
import { verifyChain } from '../src/audit/index.js';
import { verifyAudit } from '../src/cli/audit.js';
import { readPrismaSchema } from '../src/prisma/read-schema.js';
import { exactAverage } from '../src/schema/exact-decimal.js';
import { typesApp } from './fixtures/types-app/app.js';
import { connectMcp } from './helpers/mcp.js';
import { DATABASE_KINDS, query, useTestApp } from './helpers/runtime.js';

const ADMIN = { sub: '1', tenantId: 1, roles: ['admin'] };
const AGENT = { sub: '1', tenantId: 1, roles: ['agent'] };
const BIG = '9007199254740993'; // 2^53 + 1: a float would read it as ...992

/** A decimal string without trailing fractional zeros (PostgreSQL pads numeric results). */
/** The database's average at the precision ormai keeps (20 fractional digits, half away from zero). */
const AVG = (column: string) =>
  `round(sum(${column})::numeric(65, 30) / nullif(count(${column}), 0), 20)::text`;

const plain = (text: string | null) =>
  text === null ? null : text.includes('.') ? text.replace(/\.?0+$/, '') : text;

describe('exact averages', () => {
  it('divide the sum by the count in decimal arithmetic', () => {
    expect(exactAverage(BigInt(BIG), 1)).toBe(BIG);
    expect(exactAverage(BigInt(BIG), 2)).toBe('4503599627370496.5');
    expect(exactAverage('-7', 2)).toBe('-3.5');
    expect(exactAverage('1', 3)).toBe('0.33333333333333333333');
    expect(exactAverage('2', 3)).toBe('0.66666666666666666667');
    expect(exactAverage('0.000001', 3)).toBe('0.00000033333333333333');
    expect(exactAverage(null, 3)).toBeNull();
    expect(exactAverage('5', 0)).toBeNull();
  });

  it('readPrismaSchema carries the enum values, as the generated enums module does', () => {
    const datamodel = readPrismaSchema(
      new URL('./fixtures/types-app/prisma/schema.prisma', import.meta.url),
    );
    expect(datamodel.enums).toEqual({
      Status: ['OPEN', 'PENDING', 'CLOSED'],
      Channel: ['EMAIL', 'PHONE', 'WEB'],
    });
  });
});

describe.each(DATABASE_KINDS)('type mapping on %s', (kind) => {
  const app = useTestApp(kind, { app: typesApp, audit: true });

  beforeAll(async () => {
    await app.sql(
      `INSERT INTO "Item" (id, "tenantId", status, channel, channels, tags, checksum, amount, counter, quantity, note) VALUES
        (1, 1, 'OPEN', 'EMAIL', '{EMAIL,WEB}', '{red,blue}', '\\x0001ff', 12.5, ${BIG}, 1, 'hello'),
        (2, 1, 'CLOSED', NULL, '{}', '{}', NULL, 0.000001, 0, 2, NULL),
        (3, 1, 'PENDING', 'PHONE', '{PHONE}', '{green}', '\\x', 3, 4, 3, 'x'),
        (4, 2, 'OPEN', 'WEB', '{}', '{}', NULL, 1, 5, 1, NULL)`,
    );
    await app.sql(`SELECT setval(pg_get_serial_sequence('"Item"', 'id'), 100)`);
    await app.sql(
      `INSERT INTO "Entry" ("tenantId", "itemId", units) VALUES (1, 1, ${BIG}), (1, 1, 0), (1, 3, 7), (2, 4, 9)`,
    );
  });

  describe('enums', () => {
    it('are GraphQL enums; their filters offer equality only (isNull where nullable)', async () => {
      const schema = app.gateway.schemaFor({ ...ADMIN, claims: {} });
      const item = schema.getType('Item') as unknown as {
        getFields(): Record<string, { type: unknown }>;
      };
      expect(String(item.getFields().status!.type)).toBe('Status!');
      expect(String(item.getFields().channel!.type)).toBe('Channel');
      expect(String(item.getFields().channels!.type)).toBe('[Channel!]!');
      const status = schema.getType('Status');
      expect(isEnumType(status) && status.getValues().map((v) => v.name)).toEqual([
        'OPEN',
        'PENDING',
        'CLOSED',
      ]);
      const where = schema.getType('ItemWhereInput') as GraphQLInputObjectType;
      const filterOf = (field: string) =>
        getNamedType(where.getFields()[field]!.type) as GraphQLInputObjectType;
      expect(Object.keys(filterOf('status').getFields())).toEqual(['equals', 'not', 'in', 'notIn']);
      expect(Object.keys(filterOf('channel').getFields())).toEqual([
        'equals',
        'not',
        'in',
        'notIn',
        'isNull',
      ]);
      expect(String(filterOf('status').getFields().in!.type)).toBe('[Status!]');
    });

    it('filter, sort and group like the database', async () => {
      const ids = async (where: string) =>
        (
          await query(
            app,
            ADMIN,
            `{ items(where: ${where}, orderBy: [{ id: ASC }]) { nodes { id status channel channels } } }`,
          )
        ).items.nodes.map((row: { id: string }) => row.id);
      const truth = async (condition: string) =>
        (
          await app.sql<{ id: string }>(
            `SELECT id::text AS id FROM "Item" WHERE "tenantId" = 1 AND ${condition} ORDER BY id`,
          )
        ).map((row) => row.id);
      expect(await ids('{ status: { equals: OPEN } }')).toEqual(await truth(`status = 'OPEN'`));
      expect(await ids('{ status: { in: [OPEN, PENDING] } }')).toEqual(
        await truth(`status IN ('OPEN', 'PENDING')`),
      );
      expect(await ids('{ status: { not: OPEN } }')).toEqual(await truth(`status <> 'OPEN'`));
      expect(await ids('{ channel: { isNull: true } }')).toEqual(await truth('channel IS NULL'));
      expect(await ids('{ channel: { notIn: [EMAIL] } }')).toEqual(
        await truth(`channel <> 'EMAIL'`),
      );
      const first = await query(app, ADMIN, '{ item(id: "1") { status channel channels } }');
      expect(first.item).toEqual({ status: 'OPEN', channel: 'EMAIL', channels: ['EMAIL', 'WEB'] });
      const groups = await query(
        app,
        ADMIN,
        '{ itemsGroupBy(by: [status]) { key { status } count } }',
      );
      const counted = await app.sql<{ status: string; n: number }>(
        `SELECT status::text AS status, count(*)::int AS n FROM "Item" WHERE "tenantId" = 1 GROUP BY status`,
      );
      expect(
        Object.fromEntries(
          groups.itemsGroupBy.map((g: { key: { status: string }; count: number }) => [
            g.key.status,
            g.count,
          ]),
        ),
      ).toEqual(Object.fromEntries(counted.map((row) => [row.status, row.n])));
    });

    it('a wrong value is a VALIDATION_ERROR naming the field and every allowed value', async () => {
      const literal = await app.graphql(
        ADMIN,
        '{ items(where: { status: { equals: SHUT } }) { totalCount } }',
      );
      const quoted = await app.graphql(
        ADMIN,
        '{ items(where: { status: { in: [OPEN, "OPEN"] } }) { totalCount } }',
      );
      const variable = await app.graphql(
        ADMIN,
        'query ($where: ItemWhereInput) { items(where: $where) { totalCount } }',
        { where: { status: { equals: 'SHUT' } } },
      );
      const write = await app.graphql(
        ADMIN,
        'mutation { updateItem(id: "2", data: { status: SHUT }, reason: "r") { id } }',
      );
      for (const { body } of [literal, quoted, variable, write]) {
        const error = body.errors?.[0];
        expect(error?.extensions).toMatchObject({
          code: 'VALIDATION_ERROR',
          retryable: true,
          details: { field: 'status', allowed: ['OPEN', 'PENDING', 'CLOSED'] },
        });
        expect(error?.message).toContain('OPEN, PENDING, CLOSED');
        expect(error?.extensions.retryHints.join(' ')).toContain('OPEN, PENDING, CLOSED');
      }
      const [row] = await app.sql<{ status: string }>(
        'SELECT status::text FROM "Item" WHERE id = 2',
      );
      expect(row!.status).toBe('CLOSED');
      // operators an enum does not take are not in its filter at all
      const contains = await app.graphql(
        ADMIN,
        '{ items(where: { status: { contains: "O" } }) { totalCount } }',
      );
      expect(contains.body.errors?.[0]?.extensions.code).not.toBe('INTERNAL_ERROR');
    });

    it('MCP takes enum values as strings, lists them, and refuses wrong ones and operators', async () => {
      const mcp = await connectMcp(app, ADMIN);
      try {
        const { tools } = await mcp.client.listTools();
        const dbQuery = tools.find((tool) => tool.name === 'db_query')!;
        expect(JSON.stringify(dbQuery.inputSchema)).toContain(
          'status (one of OPEN|PENDING|CLOSED)',
        );
        const open = await mcp.call('db.query', {
          model: 'Item',
          select: ['id', 'status'],
          where: [{ field: 'status', op: 'in', value: ['OPEN', 'PENDING'] }],
          order_by: [{ field: 'id' }],
        });
        expect(open.isError).toBe(false);
        const truth = await app.sql<{ id: string }>(
          `SELECT id::text AS id FROM "Item" WHERE "tenantId" = 1 AND status IN ('OPEN','PENDING') ORDER BY id`,
        );
        expect(open.structured.data.map((row: { id: string }) => row.id)).toEqual(
          truth.map((row) => row.id),
        );
        const wrong = await mcp.call('db.query', {
          model: 'Item',
          where: [{ field: 'status', op: 'eq', value: 'open' }],
        });
        expect(wrong.structured.error).toMatchObject({
          code: 'VALIDATION_ERROR',
          details: { field: 'where[0].value', allowed: ['OPEN', 'PENDING', 'CLOSED'] },
        });
        expect(wrong.structured.error.message).toContain('OPEN, PENDING, CLOSED');
        const op = await mcp.call('db.query', {
          model: 'Item',
          where: [{ field: 'status', op: 'contains', value: 'O' }],
        });
        expect(op.structured.error).toMatchObject({
          code: 'VALIDATION_ERROR',
          details: { field: 'where[0].op' },
        });
        const data = await mcp.call('db.update', {
          model: 'Item',
          id: '2',
          data: { status: 'SHUT' },
          reason: 'r',
        });
        expect(data.structured.error).toMatchObject({
          code: 'VALIDATION_ERROR',
          details: { field: 'status', allowed: ['OPEN', 'PENDING', 'CLOSED'] },
        });
      } finally {
        await mcp.close();
      }
    });
  });

  describe('Bytes, BigInt, Decimal and lists', () => {
    it('Bytes are base64 and lists are arrays, in GraphQL and in an MCP query of every field', async () => {
      const data = await query(
        app,
        ADMIN,
        '{ items(orderBy: [{ id: ASC }]) { nodes { id checksum tags channels counter amount } } }',
      );
      const rows = await app.sql<{ id: string; b64: string | null; amount: string }>(
        `SELECT id::text AS id, encode(checksum, 'base64') AS b64, amount::text AS amount
           FROM "Item" WHERE "tenantId" = 1 ORDER BY id`,
      );
      expect(data.items.nodes.map((row: { checksum: string | null }) => row.checksum)).toEqual(
        rows.map((row) => row.b64),
      );
      expect(data.items.nodes[0]).toEqual({
        id: '1',
        checksum: 'AAH/',
        tags: ['red', 'blue'],
        channels: ['EMAIL', 'WEB'],
        counter: BIG,
        amount: '12.5',
      });
      expect(data.items.nodes.map((row: { amount: string }) => row.amount)).toEqual(
        rows.map((row) => plain(row.amount)),
      );
      const mcp = await connectMcp(app, AGENT);
      try {
        const all = await mcp.call('db.query', { model: 'Item', order_by: [{ field: 'id' }] });
        expect(all.isError).toBe(false);
        expect(all.structured.data[0]).toMatchObject({
          id: '1',
          checksum: 'AAH/',
          tags: ['red', 'blue'],
          counter: BIG,
          note: expect.not.stringMatching(/^hello$/),
        });
      } finally {
        await mcp.close();
      }
    });

    it('Bytes and lists are filterable nowhere: GraphQL, MCP and describeSchema agree', async () => {
      const schema = app.gateway.schemaFor({ ...ADMIN, claims: {} });
      const whereFields = Object.keys(
        (schema.getType('ItemWhereInput') as GraphQLInputObjectType).getFields(),
      ).filter((name) => !['AND', 'OR', 'NOT', 'entries'].includes(name));
      const orderFields = Object.keys(
        (schema.getType('ItemOrderByInput') as GraphQLInputObjectType).getFields(),
      );
      const described = (await query(app, ADMIN, '{ describeSchema(model: "Item") }'))
        .describeSchema.models.Item.fields;
      const filterable = Object.keys(described).filter((name) => described[name].filterable);
      expect(whereFields.sort()).toEqual([...filterable].sort());
      expect(orderFields.sort()).toEqual([...filterable].sort());
      for (const name of ['checksum', 'tags', 'channels']) expect(filterable).not.toContain(name);
      expect(described.checksum).toMatchObject({
        type: 'Bytes',
        filterable: false,
        encoding: 'base64',
      });
      expect(described.tags).toMatchObject({ type: 'String[]', filterable: false });
      expect(described.status).toMatchObject({
        filterable: true,
        values: ['OPEN', 'PENDING', 'CLOSED'],
      });
      expect(described.channels).toMatchObject({
        filterable: false,
        values: ['EMAIL', 'PHONE', 'WEB'],
      });
      expect(described.counter).toMatchObject({ type: 'BigInt', encoding: 'decimal string' });

      const mcp = await connectMcp(app, ADMIN);
      try {
        for (const field of ['checksum', 'tags', 'channels']) {
          const filtered = await mcp.call('db.query', {
            model: 'Item',
            where: [{ field, op: 'eq', value: 'AAH/' }],
          });
          expect(filtered.structured.error.code, field).toBe('FIELD_NOT_ALLOWED');
          const sorted = await mcp.call('db.query', { model: 'Item', order_by: [{ field }] });
          expect(sorted.structured.error.code, field).toBe('FIELD_NOT_ALLOWED');
          const grouped = await mcp.call('db.aggregate', {
            model: 'Item',
            operation: 'count',
            group_by: [field],
          });
          expect(grouped.structured.error.code, field).toBe('FIELD_NOT_ALLOWED');
        }
        const { tools } = await mcp.client.listTools();
        const description = JSON.stringify(tools.find((tool) => tool.name === 'db_query'));
        expect(description).toContain('checksum (base64; not filterable)');
        expect(description).toContain('tags (list; not filterable)');
      } finally {
        await mcp.close();
      }
      // GraphQL has no checksum filter to give
      const refused = await app.graphql(
        ADMIN,
        '{ items(where: { checksum: { equals: "AAH/" } }) { totalCount } }',
      );
      expect(refused.body.errors?.[0]?.extensions.code).toBe('FIELD_NOT_ALLOWED');
    });

    it('BigInt and Decimal aggregates are exact strings, as the database computes them', async () => {
      const data = await query(
        app,
        ADMIN,
        `{ itemsAggregate { count sum { counter amount quantity } avg { counter amount quantity }
             min { counter amount } max { counter amount } }
           itemsGroupBy(by: [status], orderBy: [{ status: ASC }]) { key { status } sum { counter amount } avg { counter amount } } }`,
      );
      const [truth] = await app.sql<Record<string, string>>(
        `SELECT sum(counter)::text AS sc, sum(amount)::text AS sa, ${AVG('counter')} AS ac, ${AVG('amount')} AS aa,
                min(counter)::text AS nc, min(amount)::text AS na, max(counter)::text AS xc, max(amount)::text AS xa,
                sum(quantity)::int AS sq
           FROM "Item" WHERE "tenantId" = 1`,
      );
      const aggregate = data.itemsAggregate;
      expect(aggregate.sum.counter).toBe(plain(truth!.sc!));
      expect(aggregate.sum.counter).toBe((BigInt(BIG) + 0n + 4n).toString());
      expect(aggregate.sum.amount).toBe(plain(truth!.sa!));
      expect(aggregate.avg.counter).toBe(plain(truth!.ac!));
      expect(aggregate.avg.amount).toBe(plain(truth!.aa!));
      expect([aggregate.min.counter, aggregate.min.amount]).toEqual([truth!.nc, plain(truth!.na!)]);
      expect([aggregate.max.counter, aggregate.max.amount]).toEqual([truth!.xc, plain(truth!.xa!)]);
      expect(aggregate.sum.quantity).toBe(Number(truth!.sq));
      const groups = await app.sql<Record<string, string>>(
        `SELECT status::text AS status, sum(counter)::text AS sc, sum(amount)::text AS sa,
                ${AVG('counter')} AS ac, ${AVG('amount')} AS aa
           FROM "Item" WHERE "tenantId" = 1 GROUP BY status ORDER BY status::text`,
      );
      const byStatus = Object.fromEntries(
        data.itemsGroupBy.map((group: any) => [group.key.status, group]),
      );
      for (const row of groups) {
        expect(byStatus[row.status!]).toMatchObject({
          sum: { counter: plain(row.sc!), amount: plain(row.sa!) },
          avg: { counter: plain(row.ac!), amount: plain(row.aa!) },
        });
      }
      // one row: 2^53 + 1 summed with nothing else stays itself
      const single = await query(
        app,
        ADMIN,
        '{ itemsAggregate(where: { status: { equals: OPEN } }) { sum { counter } avg { counter } } }',
      );
      expect(single.itemsAggregate).toEqual({ sum: { counter: BIG }, avg: { counter: BIG } });
      // an exact average asked alone still divides the exact sum by the count
      const averageOnly = await query(app, ADMIN, '{ itemsAggregate { avg { counter amount } } }');
      expect(averageOnly.itemsAggregate.avg).toEqual({
        counter: plain(truth!.ac!),
        amount: plain(truth!.aa!),
      });

      const mcp = await connectMcp(app, ADMIN);
      try {
        for (const operation of ['sum', 'avg', 'max'] as const) {
          const result = await mcp.call('db.aggregate', {
            model: 'Item',
            operation,
            field: 'counter',
            where: [{ field: 'status', op: 'eq', value: 'OPEN' }],
          });
          expect(result.structured.value, operation).toBe(BIG);
        }
      } finally {
        await mcp.close();
      }
      // a view's sum over a BigInt field is exact too
      const view = await query(
        app,
        ADMIN,
        '{ itemSummaries(orderBy: [{ id: ASC }]) { nodes { id unitsTotal } } }',
      );
      const sums = await app.sql<{ id: string; total: string }>(
        `SELECT i.id::text AS id, coalesce(sum(e.units), 0)::text AS total FROM "Item" i
           LEFT JOIN "Entry" e ON e."itemId" = i.id WHERE i."tenantId" = 1 GROUP BY i.id ORDER BY i.id`,
      );
      expect(view.itemSummaries.nodes).toEqual(
        sums.map((row) => ({ id: row.id, unitsTotal: row.total })),
      );
      expect(view.itemSummaries.nodes[0].unitsTotal).toBe(BIG);
    });

    it('writes with BigInt, Decimal and Bytes values are audited; their values are exact strings', async () => {
      const created = await query(
        app,
        ADMIN,
        `mutation { createItem(data: { status: PENDING, channels: [WEB], tags: ["t"], checksum: "3q2+7w==",
            amount: "0.000007", counter: "9007199254740995", quantity: 1 }, reason: "types test") {
            id status checksum counter amount tags channels } }`,
      );
      expect(created.createItem).toMatchObject({
        status: 'PENDING',
        checksum: '3q2+7w==',
        counter: '9007199254740995',
        amount: '0.000007',
        tags: ['t'],
        channels: ['WEB'],
      });
      const id = created.createItem.id as string;
      const [stored] = await app.sql<Record<string, string>>(
        `SELECT counter::text AS counter, encode(checksum, 'hex') AS hex, amount::text AS amount FROM "Item" WHERE id = $1`,
        [id],
      );
      expect(stored).toEqual({ counter: '9007199254740995', hex: 'deadbeef', amount: '0.000007' });
      const updated = await app.graphql(
        ADMIN,
        `mutation { updateItem(id: "${id}", data: { counter: "9007199254740997" }, reason: "types update") { counter } }`,
      );
      expect(updated.body.errors).toBeUndefined();
      expect(updated.body.data.updateItem.counter).toBe('9007199254740997');
      const records = await app.sql<Record<string, any>>(
        `SELECT * FROM ormai_audit_log WHERE reason IN ('types test', 'types update') ORDER BY id`,
      );
      const parse = (value: unknown) => (typeof value === 'string' ? JSON.parse(value) : value);
      expect(records.map((record) => record.outcome)).toEqual(['ok', 'ok']);
      expect(parse(records[0]!.after)).toMatchObject({
        counter: '9007199254740995',
        checksum: '3q2+7w==',
        amount: '0.000007',
      });
      expect(parse(records[1]!.before).counter).toBe('9007199254740995');
      expect(parse(records[1]!.after).counter).toBe('9007199254740997');
      // the chain still verifies with those values in it, in the table and in memory
      expect(app.audit!.log.available('write')).toBe(true);
      expect((await verifyAudit(app.runtime)).ok).toBe(true);
      await app.audit!.log.flush();
      expect(verifyChain(app.audit!.memory.records).ok).toBe(true);
    });

    it('bulk updates by BigInt ids report failed ids as strings, digits intact', async () => {
      const mcp = await connectMcp(app, ADMIN);
      try {
        const missing = '9007199254740999';
        const result = await mcp.call('db.bulk_update_by_ids', {
          model: 'Item',
          ids: ['2', missing],
          data: { counter: BIG },
          reason: 'bulk types',
        });
        expect(result.isError).toBe(false);
        expect(result.structured).toMatchObject({ updated_count: 1, failed_ids: [missing] });
        const [row] = await app.sql<{ counter: string }>(
          'SELECT counter::text AS counter FROM "Item" WHERE id = 2',
        );
        expect(row!.counter).toBe(BIG);
      } finally {
        await mcp.close();
      }
    });
  });
});
