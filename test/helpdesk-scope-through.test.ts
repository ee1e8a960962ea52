// Pins that a child scoped through its parent (helpdesk Comment → ticket) answers alike on every
// read path: list, aggregate, single row and MCP db.get take the ticket's tenant and soft delete,
// never the ticket's role row filters, and agree with raw SQL for roles whose ticket filters differ.
import { describe, expect, it } from 'vitest';
import { helpdeskApp } from '../examples/helpdesk/app.js';
import { orgId, userId } from '../examples/helpdesk/seed.js';
import { connectMcp } from './helpers/mcp.js';
import { DATABASE_KINDS, query, useTestApp } from './helpers/runtime.js';

const ORG = orgId(2);
/** support reads high and urgent tickets only, viewer resolved and closed ones (and no internal comments). */
const PRINCIPALS = {
  support: { sub: userId(2, 3), tenantId: ORG, roles: ['support'] },
  viewer: { sub: userId(2, 4), tenantId: ORG, roles: ['viewer'] },
};
const ROLE_SQL = { support: 'true', viewer: 'NOT c.internal' };

describe.each(DATABASE_KINDS)('comments scoped through their ticket on %s', (kind) => {
  const app = useTestApp(kind, { app: helpdeskApp });

  /** Comment ids in scope as SQL has them, and some the role's ticket filter would have hidden. */
  const truth = async (role: keyof typeof ROLE_SQL) => {
    const rows = await app.sql<{ id: number; hidden_parent: boolean; visible: boolean }>(
      `SELECT c.id,
              t.org_id = $1 AND t.deleted_at IS NULL AND ${ROLE_SQL[role]} AS visible,
              ${role === 'support' ? "t.priority NOT IN ('high', 'urgent')" : "t.status NOT IN ('resolved', 'closed')"} AS hidden_parent
         FROM "public"."comments" c
         JOIN "public"."tickets" t ON t.org_id = c.ticket_org_id AND t.id = c.ticket_id
        ORDER BY c.id`,
      [ORG],
    );
    return {
      visible: rows.filter((row) => row.visible).map((row) => row.id),
      invisible: rows.filter((row) => !row.visible).map((row) => row.id),
      // in scope although the role cannot read their ticket: the case that disagreed
      underHiddenParent: rows
        .filter((row) => row.visible && row.hidden_parent)
        .map((row) => row.id),
    };
  };

  for (const role of ['support', 'viewer'] as const) {
    it(`${role}: list, aggregate, single row and db.get agree with SQL`, async () => {
      const principal = PRINCIPALS[role];
      const expected = await truth(role);
      expect(expected.underHiddenParent.length).toBeGreaterThan(0);

      const listed: number[] = [];
      let after: string | null = null;
      do {
        const data: any = await query(
          app,
          principal,
          'query($a: String) { comments(first: 100, after: $a, orderBy: [{ id: ASC }]) { nodes { id } pageInfo { hasNextPage endCursor } } }',
          { a: after },
        );
        listed.push(...data.comments.nodes.map((node: { id: number }) => node.id));
        after = data.comments.pageInfo.hasNextPage ? data.comments.pageInfo.endCursor : null;
      } while (after);
      expect(listed).toEqual(expected.visible);

      const aggregate = await query(app, principal, '{ commentsAggregate { count } }');
      expect(aggregate.commentsAggregate.count).toBe(expected.visible.length);

      const sample = [
        ...expected.underHiddenParent.slice(0, 8),
        ...expected.visible.slice(0, 4),
        ...expected.invisible.slice(0, 8),
      ];
      const client = await connectMcp(app, principal);
      try {
        for (const id of sample) {
          const visible = expected.visible.includes(id);
          const single = await query(
            app,
            principal,
            'query($id: Int!) { comment(id: $id) { id } }',
            {
              id,
            },
          );
          expect(single.comment?.id ?? null, `comment(id: ${id})`).toBe(visible ? id : null);
          const got = await client.call('db.get', { model: 'Comment', id });
          expect(got.isError, got.text).toBe(false);
          expect(got.structured.found, `db.get ${id}`).toBe(visible);
        }
      } finally {
        await client.close();
      }
    });
  }
});
