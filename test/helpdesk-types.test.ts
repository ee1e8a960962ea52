// Pins uuid columns and enum sort orders on the helpdesk example: a uuid field takes uuids by
// equality only (UuidFilter, MCP ops, describeSchema agree; other text is VALIDATION_ERROR, a tenant
// id that is no uuid TENANT_SCOPE_REQUIRED), and lists sorted by an enum page in declaration order.
import { describe, expect, it } from 'vitest';
import { helpdeskApp } from '../examples/helpdesk/app.js';
import { orgId, userId } from '../examples/helpdesk/seed.js';
import { compilePolicy } from '../src/policy/compile-policy.js';
import { filterOpsFor } from '../src/policy/field-types.js';
import { bindTemplate } from '../src/policy/row-scope.js';
import { keysetAfter } from '../src/schema/cursor.js';
import { toSortKeys } from '../src/schema/where.js';
import { connectMcp } from './helpers/mcp.js';
import { DATABASE_KINDS, query, useTestApp } from './helpers/runtime.js';

const ORG = orgId(1);
const admin = { sub: userId(1, 1), tenantId: ORG, roles: ['admin'] };

describe('uuid fields and enum keysets, without a database', () => {
  const engine = compilePolicy(helpdeskApp.policy, helpdeskApp.datamodel);
  if (!engine.ok) throw new Error(engine.message);
  const policy = engine.value.forRoles(['admin']);

  it('a @db.Uuid String takes equality operators only; a plain String keeps the text ones', () => {
    const ticket = policy.models.get('Ticket')!;
    expect(ticket.fields.get('assigneeId')!.uuid).toBe(true);
    expect(filterOpsFor(ticket.fields.get('assigneeId')!)).toEqual([
      'eq',
      'ne',
      'in',
      'not_in',
      'is_null',
    ]);
    expect(ticket.fields.get('subject')!.uuid).toBeUndefined();
    expect(filterOpsFor(ticket.fields.get('subject')!)).toContain('contains');
  });

  it('a row filter comparing a uuid column with a claim that is no uuid matches no row', () => {
    const bound = bindTemplate(
      { assigneeId: '$principal.sub' },
      'Ticket',
      { sub: '7', tenantId: ORG, roles: ['agent'], claims: {} },
      helpdeskApp.datamodel,
    );
    expect(bound).toEqual({ assigneeId: { in: [] } });
    const own = bindTemplate(
      { assigneeId: '$principal.sub' },
      'Ticket',
      { sub: userId(1, 2).toUpperCase(), tenantId: ORG, roles: ['agent'], claims: {} },
      helpdeskApp.datamodel,
    );
    expect(own).toEqual({ assigneeId: { equals: userId(1, 2), not: null } });
  });

  it('after an enum value comes the values declared after it (before it, descending); null last ascending', () => {
    const values = ['open', 'pending', 'resolved', 'closed'];
    const asc = { field: 'status', direction: 'asc' as const, nullable: true, values };
    const id = { field: 'id', direction: 'asc' as const, nullable: false };
    expect(keysetAfter([asc, id], ['pending', 4])).toEqual({
      OR: [
        { AND: [{ OR: [{ status: { in: ['resolved', 'closed'] } }, { status: null }] }] },
        { AND: [{ status: 'pending' }, { id: { gt: 4 } }] },
      ],
    });
    // the last value: only nulls follow it
    expect(keysetAfter([asc, id], ['closed', 4]).OR).toContainEqual({
      AND: [{ status: null }],
    });
    const desc = { ...asc, direction: 'desc' as const, nullable: false };
    expect(keysetAfter([desc, id], ['resolved', 4])).toEqual({
      OR: [
        { AND: [{ status: { in: ['open', 'pending'] } }] },
        { AND: [{ status: 'resolved' }, { id: { gt: 4 } }] },
      ],
    });
  });

  it('refuses to sort on an enum whose values the datamodel does not name', () => {
    const bare = compilePolicy(helpdeskApp.policy, { ...helpdeskApp.datamodel, enums: {} });
    if (!bare.ok) throw new Error(bare.message);
    const compiled = bare.value.forRoles(['admin']);
    const ticket = compiled.models.get('Ticket')!;
    expect(() => toSortKeys(ticket, [{ status: 'ASC' }], compiled)).toThrow(
      expect.objectContaining({
        code: 'VALIDATION_ERROR',
        message: expect.stringMatching(/status/),
      }),
    );
    expect(toSortKeys(ticket, [{ subject: 'ASC' }], compiled).map((key) => key.field)).toEqual([
      'subject',
      'orgId',
      'id',
    ]);
  });
});

describe.each(DATABASE_KINDS)('helpdesk uuid fields and enum sorting on %s', (kind) => {
  const app = useTestApp(kind, { app: helpdeskApp });
  const count = async (where: string, params: unknown[] = []) =>
    (
      await app.sql<{ n: number }>(
        `SELECT count(*)::int AS n FROM "public"."comments" c JOIN "public"."tickets" t
           ON t.org_id = c.ticket_org_id AND t.id = c.ticket_id
         WHERE t.org_id = $1 AND t.deleted_at IS NULL AND ${where}`,
        [ORG, ...params],
      )
    )[0]!.n;
  const errorOf = async (
    text: string,
    variables?: Record<string, unknown>,
    who: object = admin,
  ) => {
    const { status, body } = await app.graphql(who, text, variables);
    expect(status).toBeLessThan(500);
    expect(body.errors, JSON.stringify(body)).toBeDefined();
    return body.errors![0]!.extensions;
  };

  it('filters a uuid field by equals, not, in and isNull, as SQL counts; any case of a uuid', async () => {
    const author = userId(1, 3);
    const total = async (where: unknown) =>
      (
        await query(
          app,
          admin,
          'query($w: CommentWhereInput) { commentsAggregate(where: $w) { count } }',
          { w: where },
        )
      ).commentsAggregate.count;
    const byAuthor = await count('c.author_id = $2', [author]);
    expect(byAuthor).toBeGreaterThan(0);
    expect(await total({ authorId: { equals: author } })).toBe(byAuthor);
    expect(await total({ authorId: { equals: author.toUpperCase() } })).toBe(byAuthor);
    expect(await total({ authorId: { in: [author, userId(1, 4)] } })).toBe(
      await count('c.author_id IN ($2, $3)', [author, userId(1, 4)]),
    );
    expect(await total({ authorId: { not: author } })).toBe(
      await count('c.author_id <> $2', [author]),
    );
    expect(await total({ authorId: { isNull: true } })).toBe(await count('c.author_id IS NULL'));
    // the tenant filter compares uuids, not their spelling
    expect(
      (
        await query(
          app,
          admin,
          'query($o: String) { ticketsAggregate(where: { orgId: { equals: $o } }) { count } }',
          {
            o: ORG.toUpperCase(),
          },
        )
      ).ticketsAggregate.count,
    ).toBeGreaterThan(0);
  });

  it('a uuid field offers no text or range operator: UuidFilter has equals, not, in, notIn, isNull', async () => {
    const data = await query(
      app,
      admin,
      '{ filter: __type(name: "UuidFilter") { inputFields { name } } where: __type(name: "CommentWhereInput") { inputFields { name type { name } } } }',
    );
    expect(data.filter.inputFields.map((f: { name: string }) => f.name).sort()).toEqual(
      ['equals', 'in', 'isNull', 'not', 'notIn'].sort(),
    );
    const fieldType = (name: string) =>
      data.where.inputFields.find((f: { name: string }) => f.name === name).type.name;
    expect(fieldType('authorId')).toBe('UuidFilter');
    expect(fieldType('body')).toBe('StringFilter');
    for (const op of ['contains', 'startsWith', 'endsWith', 'gt']) {
      const code = (
        await errorOf(
          `{ commentsAggregate(where: { authorId: { ${op}: "000000000003" } }) { count } }`,
        )
      ).code;
      expect(code).not.toBe('INTERNAL_ERROR');
      expect(['VALIDATION_ERROR', 'FIELD_NOT_ALLOWED']).toContain(code);
    }
  });

  it('a value that is no uuid is VALIDATION_ERROR naming the field, in filters and keys', async () => {
    const filtered = await errorOf(
      '{ comments(where: { authorId: { equals: "not-a-uuid" } }) { totalCount } }',
    );
    expect(filtered).toMatchObject({ code: 'VALIDATION_ERROR', details: { field: 'authorId' } });
    const listed = await errorOf(
      'query($ids: [String!]) { tickets(where: { assigneeId: { in: $ids } }) { totalCount } }',
      { ids: [userId(1, 2), 'x'] },
    );
    expect(listed).toMatchObject({ code: 'VALIDATION_ERROR', details: { field: 'assigneeId' } });
    // on the tenant field it is a malformed value, not another tenant
    const tenant = await errorOf('{ tickets(where: { orgId: { equals: "1" } }) { totalCount } }');
    expect(tenant).toMatchObject({ code: 'VALIDATION_ERROR', details: { field: 'orgId' } });
    const user = await errorOf('{ user(id: "nope") { id } }');
    expect(user).toMatchObject({
      code: 'VALIDATION_ERROR',
      details: { field: expect.stringMatching(/(^|\.)id$/) },
    });
    const ticket = await errorOf('{ ticket(orgId: "nope", id: 1) { id } }');
    expect(ticket).toMatchObject({
      code: 'VALIDATION_ERROR',
      details: { field: expect.stringMatching(/(^|\.)orgId$/) },
    });
  });

  it('a write setting a uuid field to other text is VALIDATION_ERROR, the row unchanged', async () => {
    const support = { sub: userId(1, 3), tenantId: ORG, roles: ['support'] };
    const [row] = await app.sql<{ id: number; assignee_id: string | null }>(
      `SELECT id, assignee_id::text AS assignee_id FROM "public"."tickets"
        WHERE org_id = $1 AND deleted_at IS NULL AND priority IN ('high', 'urgent') ORDER BY id LIMIT 1`,
      [ORG],
    );
    const error = await errorOf(
      'mutation($o: String!, $id: Int!) { updateTicket(orgId: $o, id: $id, data: { assigneeId: "nope" }, reason: "test") { id } }',
      { o: ORG, id: row!.id },
      support,
    );
    expect(error).toMatchObject({ code: 'VALIDATION_ERROR', details: { field: 'assigneeId' } });
    const [after] = await app.sql<{ assignee_id: string | null }>(
      'SELECT assignee_id::text AS assignee_id FROM "public"."tickets" WHERE org_id = $1 AND id = $2',
      [ORG, row!.id],
    );
    expect(after!.assignee_id).toBe(row!.assignee_id);
  });

  it('a principal whose tenant id is no uuid gets TENANT_SCOPE_REQUIRED', async () => {
    const who = { ...admin, tenantId: 'not-a-uuid' };
    expect((await errorOf('{ tickets { totalCount } }', undefined, who)).code).toBe(
      'TENANT_SCOPE_REQUIRED',
    );
    expect((await errorOf('{ commentsAggregate { count } }', undefined, who)).code).toBe(
      'TENANT_SCOPE_REQUIRED',
    );
    const client = await connectMcp(app, who);
    try {
      const result = await client.call('db.query', { model: 'Product' });
      expect(result.isError).toBe(true);
      expect(result.structured.error.code).toBe('TENANT_SCOPE_REQUIRED');
    } finally {
      await client.close();
    }
  });

  it('MCP: uuid fields take eq ne in not_in is_null, uuids only; describe_schema says format uuid', async () => {
    const client = await connectMcp(app, admin);
    try {
      const contains = await client.call('db.query', {
        model: 'Product',
        where: [{ field: 'orgId', op: 'contains', value: '0001' }],
      });
      expect(contains.isError).toBe(true);
      expect(contains.structured.error).toMatchObject({
        code: 'VALIDATION_ERROR',
        details: { allowed: ['eq', 'ne', 'in', 'not_in', 'is_null'] },
      });
      const malformed = await client.call('db.query', {
        model: 'Comment',
        where: [{ field: 'authorId', op: 'in', value: [userId(1, 3), 'nope'] }],
      });
      expect(malformed.isError).toBe(true);
      expect(malformed.structured.error).toMatchObject({
        code: 'VALIDATION_ERROR',
        details: { field: 'where[0].value' },
      });
      const matched = await client.call('db.aggregate', {
        model: 'Comment',
        operation: 'count',
        where: [{ field: 'authorId', op: 'eq', value: userId(1, 3) }],
      });
      expect(matched.isError, matched.text).toBe(false);
      expect(matched.structured.value).toBe(await count('c.author_id = $2', [userId(1, 3)]));
      const get = await client.call('db.get', { model: 'User', id: 'nope' });
      expect(get.isError).toBe(true);
      expect(get.structured.error.code).toBe('VALIDATION_ERROR');
      const described = await client.call('db.describe_schema', { model: 'Product' });
      expect(described.structured.models.Product.fields.orgId.format).toBe('uuid');
      expect(described.structured.models.Product.fields.sku.format).toBeUndefined();
    } finally {
      await client.close();
    }
  });

  it('pages a list sorted by an enum, both ways, in the order SQL gives', async () => {
    for (const field of ['status', 'priority']) {
      for (const direction of ['ASC', 'DESC']) {
        const seen: number[] = [];
        let after: string | null = null;
        do {
          const data: any = await query(
            app,
            admin,
            'query($a: String, $o: [TicketOrderByInput!]) { tickets(first: 60, after: $a, orderBy: $o) { nodes { id } pageInfo { hasNextPage endCursor } } }',
            { a: after, o: [{ [field]: direction }] },
          );
          seen.push(...data.tickets.nodes.map((node: { id: number }) => node.id));
          after = data.tickets.pageInfo.hasNextPage ? data.tickets.pageInfo.endCursor : null;
        } while (after);
        const rows = await app.sql<{ id: number }>(
          `SELECT id FROM "public"."tickets" WHERE org_id = $1 AND deleted_at IS NULL
           ORDER BY ${field} ${direction}, org_id ASC, id ASC`,
          [ORG],
        );
        expect(seen, `${field} ${direction}`).toEqual(rows.map((row) => row.id));
      }
    }
  });

  it('MCP pages past the first page of an enum order', async () => {
    const client = await connectMcp(app, admin);
    try {
      const first = await client.call('db.query', {
        model: 'Ticket',
        select: ['id'],
        order_by: [{ field: 'priority', direction: 'desc' }],
        take: 5,
      });
      expect(first.isError, first.text).toBe(false);
      const second = await client.call('db.query', {
        model: 'Ticket',
        select: ['id'],
        order_by: [{ field: 'priority', direction: 'desc' }],
        take: 5,
        cursor: first.structured.next_cursor,
      });
      expect(second.isError, second.text).toBe(false);
      const rows = await app.sql<{ id: number }>(
        `SELECT id FROM "public"."tickets" WHERE org_id = $1 AND deleted_at IS NULL
         ORDER BY priority DESC, org_id ASC, id ASC LIMIT 10`,
        [ORG],
      );
      expect(
        [...first.structured.data, ...second.structured.data].map((row: { id: number }) => row.id),
      ).toEqual(rows.map((row) => row.id));
    } finally {
      await client.close();
    }
  });
});
