// Pins that an aggregate or groupBy computes only what its selection reads (through aliases,
// fragments and inline fragments), and that the values still equal SQL's: the statement names
// each asked aggregate and no other, ordering by an unread sum still sorts, exact averages still
// divide the exact sum by the count.
import { describe, expect, it } from 'vitest';
import {
  DATABASE_KINDS_AND_READ_PATHS,
  ORDER_GROUPS_BY_STATUS,
  orderGroupsByStatus,
  query,
  useTestApp,
} from './helpers/runtime.js';

const TENANT = { tenantId: 2 };
const aggregateCalls = (statement: string) =>
  (statement.match(/\b(COUNT|SUM|AVG|MIN|MAX)\(/gi) ?? []).map((call) => call.toUpperCase());

// a groupBy of keys, count and Int sums, minima and maxima is a compiled read (one statement of
// ormai's own); the executor's Prisma groupBy answers the rest: both are pinned
describe.each(DATABASE_KINDS_AND_READ_PATHS)(
  'aggregates read only what is asked, on %s, %s',
  (kind, _path, compiled) => {
    const app = useTestApp(kind, { compiledReads: compiled });

    const lastStatement = async (text: string) => {
      app.statements.length = 0;
      const data = await query(app, TENANT, text);
      const grouping = app.statements.filter((statement) => /\bFROM\b/i.test(statement));
      expect(grouping).toHaveLength(1);
      return { data, statement: grouping[0]! };
    };

    it('a groupBy with count and one sum sends those two aggregates', async () => {
      const { data, statement } = await lastStatement(ORDER_GROUPS_BY_STATUS);
      expect(aggregateCalls(statement).sort()).toEqual(['COUNT(', 'SUM(']);
      expect(data.ordersGroupBy).toEqual(await orderGroupsByStatus(app, 2));
    });

    it('fragments, inline fragments and aliases are followed; an unread sum still orders', async () => {
      const { data, statement } = await lastStatement(`
      query {
        ordersGroupBy(by: [status], orderBy: [{ sum: { totalCents: DESC } }]) {
          ...Group
          top: max { totalCents }
        }
      }
      fragment Group on OrderGroup {
        key { status }
        ... on OrderGroup { n: count }
        avg { ...Average }
      }
      fragment Average on OrderNumericAggregate { totalCents }
    `);
      expect(aggregateCalls(statement).sort()).toEqual(['AVG(', 'COUNT(', 'MAX(', 'SUM(']);
      const rows = await app.sql<{ status: string; n: number; a: number; m: number }>(
        `SELECT status, count(*)::int AS n, avg("totalCents")::float AS a, max("totalCents") AS m
       FROM "Order" WHERE "tenantId" = 2 AND "deletedAt" IS NULL
       GROUP BY status ORDER BY sum("totalCents") DESC, status`,
      );
      expect(rows.length).toBeGreaterThan(1);
      expect(
        data.ordersGroupBy.map((group: any) => [
          group.key.status,
          group.n,
          group.avg.totalCents,
          group.top.totalCents,
        ]),
      ).toEqual(rows.map((row) => [row.status, row.n, expect.closeTo(row.a, 6), Number(row.m)]));
    });

    it('an aggregate asked for nothing but __typename still answers', async () => {
      const { data } = await lastStatement('{ ordersAggregate { __typename } }');
      expect(data.ordersAggregate).toEqual({ __typename: 'OrderAggregate' });
    });

    it('an aggregate of min and max only sends MIN and MAX', async () => {
      const { data, statement } = await lastStatement(
        '{ ordersAggregate { min { totalCents } max { totalCents id } } }',
      );
      expect(aggregateCalls(statement).sort()).toEqual(['MAX(', 'MAX(', 'MIN(']);
      const [row] = await app.sql<{ lo: number; hi: number; id: number }>(
        `SELECT min("totalCents") AS lo, max("totalCents") AS hi, max(id) AS id FROM "Order"
       WHERE "tenantId" = 2 AND "deletedAt" IS NULL`,
      );
      expect(data.ordersAggregate).toEqual({
        min: { totalCents: Number(row!.lo) },
        max: { totalCents: Number(row!.hi), id: Number(row!.id) },
      });
    });
  },
);
