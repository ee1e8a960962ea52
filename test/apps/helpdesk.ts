// The helpdesk example as the guarantee suites see it: organizations (uuid ids) as tenants, tickets
// keyed by (orgId, id) with ids repeating across organizations, comments scoped through their
// ticket, an implicit many-to-many, and a seeded ticket naming another organization's product.
import fc from 'fast-check';
import { expect } from 'vitest';
import { helpdeskApp } from '../../examples/helpdesk/app.js';
import {
  CROSS_ORG_PRODUCT_REFERENCE,
  orgId,
  SEED_USER_ROLES,
  userId,
} from '../../examples/helpdesk/seed.js';
import { maskValue } from '../../src/policy/redaction.js';
import type { AppSpec, TestPrincipal } from './spec.js';

const ORGS = [orgId(1), orgId(2), orgId(3)];
const ORG1 = ORGS[0]!;
const ORG2 = ORGS[1]!;
const ROLES = ['admin', 'agent', 'support', 'viewer'] as const;
type Role = (typeof ROLES)[number];

/** The first seeded user of `role` in organization `org` (1-based). */
const principal = (role: Role, org = 1): TestPrincipal => ({
  sub: userId(org, SEED_USER_ROLES.indexOf(role) + 1),
  tenantId: orgId(org),
  roles: [role],
});
const ADMIN = principal('admin');
const SUPPORT = principal('support');
const AGENT = principal('agent');
const VIEWER = principal('viewer');

const TICKETS = '"public"."tickets"';
/** Tickets support reads: the policy's row filter for that role. */
const SUPPORT_PRIORITIES = ['high', 'urgent'];
const VIEWER_STATUSES = ['resolved', 'closed'];

/** What each role reads of a requester (Customer); viewer does not read customers at all. */
const REQUESTER_FIELDS: Record<Role, Record<string, (raw: unknown) => unknown>> = {
  admin: { email: (v) => v, phone: (v) => v },
  agent: { email: (v) => maskValue(v) },
  support: { email: (v) => v, phone: (v) => maskValue(v) },
  viewer: {},
};

interface TicketRow {
  orgId: string;
  id: number;
  status: string;
  priority: string;
  deleted: boolean;
  parentId: number | null;
  productSku: string | null;
}

interface HelpdeskTruth {
  tickets: Map<string, TicketRow>;
  customers: Map<number, { orgId: string; email: string; phone: string | null }>;
  comments: Map<number, { ticket: string; internal: boolean }>;
  productOrg: Map<string, string>;
  users: Map<string, Map<string, string[]>>;
}

/** Whether a role reads a ticket, by the policy's row filters (soft delete and tenant aside). */
const roleReads = (role: string, ticket: TicketRow) =>
  role === 'support'
    ? SUPPORT_PRIORITIES.includes(ticket.priority)
    : role === 'viewer'
      ? VIEWER_STATUSES.includes(ticket.status)
      : true;

export const helpdeskSpec: AppSpec = {
  app: helpdeskApp,
  tenants: ORGS,
  roots: [
    {
      field: 'organizations',
      single: 'organization',
      key: ['id'],
      sql: 'SELECT id::text AS id FROM "public"."organizations" WHERE id = $1 ORDER BY id',
    },
    {
      field: 'users',
      single: 'user',
      key: ['id'],
      sql: 'SELECT id::text AS id FROM "public"."users" WHERE org_id = $1 ORDER BY id',
    },
    {
      field: 'customers',
      single: 'customer',
      key: ['id'],
      sql: 'SELECT id FROM "public"."customers" WHERE org_id = $1 ORDER BY id',
    },
    {
      field: 'products',
      single: 'product',
      key: ['id'],
      sql: 'SELECT id FROM "public"."products" WHERE org_id = $1 ORDER BY id',
    },
    {
      field: 'labels',
      single: 'label',
      key: ['id'],
      sql: 'SELECT id FROM "public"."labels" WHERE org_id = $1 ORDER BY id',
    },
    {
      field: 'tickets',
      single: 'ticket',
      key: ['orgId', 'id'],
      sql: `SELECT org_id::text AS "orgId", id FROM ${TICKETS} WHERE org_id = $1 AND deleted_at IS NULL ORDER BY org_id, id`,
      softDeletedSql: `SELECT org_id::text AS "orgId", id, org_id::text AS tenant FROM ${TICKETS} WHERE deleted_at IS NOT NULL ORDER BY org_id, id`,
    },
    {
      field: 'ticketLabels',
      single: 'ticketLabel',
      key: ['orgId', 'ticketId', 'labelId'],
      sql: `SELECT org_id::text AS "orgId", ticket_id AS "ticketId", label_id AS "labelId" FROM "public"."ticket_labels"
              WHERE org_id = $1 ORDER BY org_id, ticket_id, label_id`,
    },
    {
      // a comment is its ticket's: of the tenant, and gone with a soft-deleted ticket
      field: 'comments',
      single: 'comment',
      key: ['id'],
      sql: `SELECT c.id FROM "public"."comments" c JOIN ${TICKETS} t ON t.org_id = c.ticket_org_id AND t.id = c.ticket_id
              WHERE t.org_id = $1 AND t.deleted_at IS NULL ORDER BY c.id`,
    },
    {
      field: 'events',
      single: 'event',
      key: ['id'],
      sql: 'SELECT id::text AS id FROM "analytics"."events" WHERE org_id = $1 ORDER BY id',
    },
  ],
  nested: [
    {
      root: 'customers',
      parentKey: ['id'],
      relation: 'tickets',
      childKey: ['orgId', 'id'],
      sql: `SELECT t.requester_id::text AS parent, t.org_id::text AS "orgId", t.id FROM ${TICKETS} t
              WHERE t.org_id = $1 AND t.deleted_at IS NULL ORDER BY t.org_id, t.id`,
    },
    {
      root: 'tickets',
      parentKey: ['orgId', 'id'],
      relation: 'children',
      childKey: ['orgId', 'id'],
      sql: `SELECT t.org_id::text || '/' || t.parent_id AS parent, t.org_id::text AS "orgId", t.id FROM ${TICKETS} t
              WHERE t.org_id = $1 AND t.parent_id IS NOT NULL AND t.deleted_at IS NULL ORDER BY t.org_id, t.id`,
    },
    {
      root: 'tickets',
      parentKey: ['orgId', 'id'],
      relation: 'comments',
      childKey: ['id'],
      sql: `SELECT c.ticket_org_id::text || '/' || c.ticket_id AS parent, c.id FROM "public"."comments" c
              WHERE c.ticket_org_id = $1 ORDER BY c.id`,
    },
    {
      root: 'tickets',
      parentKey: ['orgId', 'id'],
      relation: 'labels',
      childKey: ['orgId', 'ticketId', 'labelId'],
      sql: `SELECT l.org_id::text || '/' || l.ticket_id AS parent, l.org_id::text AS "orgId", l.ticket_id AS "ticketId", l.label_id AS "labelId"
              FROM "public"."ticket_labels" l WHERE l.org_id = $1 ORDER BY l.org_id, l.ticket_id, l.label_id`,
    },
    {
      // the implicit many-to-many: its join table has no tenant column of its own
      root: 'labels',
      parentKey: ['id'],
      relation: 'customers',
      childKey: ['id'],
      sql: `SELECT cl."B"::text AS parent, c.id FROM "public"."_CustomerLabels" cl JOIN "public"."customers" c ON c.id = cl."A"
              WHERE c.org_id = $1 ORDER BY c.id`,
    },
    {
      root: 'customers',
      parentKey: ['id'],
      relation: 'labels',
      childKey: ['id'],
      sql: `SELECT cl."A"::text AS parent, l.id FROM "public"."_CustomerLabels" cl JOIN "public"."labels" l ON l.id = cl."B"
              WHERE l.org_id = $1 ORDER BY l.id`,
    },
  ],
  counts: [
    {
      name: 'tickets whose every comment is public',
      query:
        '{ result: tickets(where: { comments: { every: { internal: { equals: false } } } }) { totalCount } }',
      sql: `SELECT count(*)::int AS n FROM ${TICKETS} t WHERE t.org_id = $1 AND t.deleted_at IS NULL
              AND NOT EXISTS (SELECT 1 FROM "public"."comments" c WHERE c.ticket_org_id = t.org_id AND c.ticket_id = t.id AND c.internal)`,
    },
    {
      name: 'tickets with the label "bug" (explicit many-to-many)',
      query:
        '{ result: tickets(where: { labels: { some: { label: { is: { name: { equals: "bug" } } } } } }) { totalCount } }',
      sql: `SELECT count(*)::int AS n FROM ${TICKETS} t WHERE t.org_id = $1 AND t.deleted_at IS NULL
              AND EXISTS (SELECT 1 FROM "public"."ticket_labels" tl JOIN "public"."labels" l ON l.id = tl.label_id
                          WHERE tl.org_id = t.org_id AND tl.ticket_id = t.id AND l.name = 'bug' AND l.org_id = $1)`,
    },
    {
      name: 'tickets whose parent is urgent (compound self-relation)',
      query:
        '{ result: tickets(where: { parent: { is: { priority: { equals: urgent } } } }) { totalCount } }',
      sql: `SELECT count(*)::int AS n FROM ${TICKETS} t JOIN ${TICKETS} p ON p.org_id = t.org_id AND p.id = t.parent_id
              WHERE t.org_id = $1 AND t.deleted_at IS NULL AND p.deleted_at IS NULL AND p.priority = 'urgent'`,
    },
    {
      name: 'customers with no open ticket (compound foreign key)',
      query:
        '{ result: customers(where: { tickets: { none: { status: { equals: open } } } }) { totalCount } }',
      sql: `SELECT count(*)::int AS n FROM "public"."customers" c WHERE c.org_id = $1
              AND NOT EXISTS (SELECT 1 FROM ${TICKETS} t WHERE t.org_id = c.org_id AND t.requester_id = c.id
                              AND t.deleted_at IS NULL AND t.status = 'open')`,
    },
    {
      name: 'customers labelled "vip" (implicit many-to-many)',
      query:
        '{ result: customers(where: { labels: { some: { name: { equals: "vip" } } } }) { totalCount } }',
      sql: `SELECT count(*)::int AS n FROM "public"."customers" c WHERE c.org_id = $1
              AND EXISTS (SELECT 1 FROM "public"."_CustomerLabels" cl JOIN "public"."labels" l ON l.id = cl."B"
                          WHERE cl."A" = c.id AND l.name = 'vip' AND l.org_id = $1)`,
    },
  ],
  crossTenant: {
    async setup(sql) {
      const cross = CROSS_ORG_PRODUCT_REFERENCE;
      const [customer1] = await sql<{ id: number }>(
        'SELECT id FROM "public"."customers" WHERE org_id = $1 ORDER BY id LIMIT 1',
        [ORG1],
      );
      const [label2] = await sql<{ id: number; name: string }>(
        'SELECT id, name FROM "public"."labels" WHERE org_id = $1 ORDER BY id LIMIT 1',
        [ORG2],
      );
      const [ticket1] = await sql<{ id: number; assignee: string | null }>(
        `SELECT id, assignee_id::text AS assignee FROM ${TICKETS} WHERE org_id = $1 AND deleted_at IS NULL AND id <> $2 ORDER BY id LIMIT 1`,
        [ORG1, cross.ticketId],
      );
      const user2 = principal('agent', 2).sub;
      // organization 1's customer labelled with organization 2's label, its ticket assigned to
      // and commented by organization 2's agent: foreign keys the database allows
      await sql('INSERT INTO "public"."_CustomerLabels" ("A", "B") VALUES ($1, $2)', [
        customer1!.id,
        label2!.id,
      ]);
      await sql(`UPDATE ${TICKETS} SET assignee_id = $1 WHERE org_id = $2 AND id = $3`, [
        user2,
        ORG1,
        ticket1!.id,
      ]);
      const [comment] = await sql<{ id: number }>(
        `INSERT INTO "public"."comments" (ticket_org_id, ticket_id, author_id, body) VALUES ($1, $2, $3, 'cross') RETURNING id`,
        [ORG1, ticket1!.id, user2],
      );
      const ids = (rows: { id: unknown }[]) => rows.map((row) => String(row.id));
      return {
        probes: [
          {
            name: "organization 1 follows no key into organization 2's product, label or user",
            principal: ADMIN,
            query: `{ crossProduct: ticket(orgId: "${ORG1}", id: ${cross.ticketId}) { id product { sku } }
               bySku: tickets(where: { product: { is: { sku: { equals: "${cross.sku}" } } } }) { totalCount }
               customer(id: ${customer1!.id}) { labels(first: 100) { id } }
               byLabel: customers(where: { labels: { some: { id: { equals: ${label2!.id} } } } }) { totalCount }
               assigned: ticket(orgId: "${ORG1}", id: ${ticket1!.id}) { assignee { id } comments(first: 100) { id author { id } } }
               byAssignee: tickets(where: { assignee: { is: { id: { equals: "${user2}" } } } }) { totalCount } }`,
            check(data) {
              expect(data.crossProduct).toEqual({ id: cross.ticketId, product: null });
              expect(data.bySku.totalCount).toBe(0);
              expect(ids(data.customer.labels)).not.toContain(String(label2!.id));
              expect(data.byLabel.totalCount).toBe(0);
              expect(data.assigned.assignee).toBeNull();
              const crossComment = data.assigned.comments.find(
                (row: { id: number }) => row.id === comment!.id,
              );
              expect(crossComment).toEqual({ id: comment!.id, author: null });
              expect(data.byAssignee.totalCount).toBe(0);
            },
          },
          {
            name: "organization 2 sees none of organization 1's rows that point at its own",
            principal: principal('admin', 2),
            query: `{ products(where: { sku: { equals: "${cross.sku}" } }) { nodes { tickets(first: 100) { orgId id } } }
               label(id: ${label2!.id}) { customers(first: 100) { id } }
               byCustomer: labels(where: { customers: { some: { id: { equals: ${customer1!.id} } } } }) { totalCount }
               user(id: "${user2}") { assigned(first: 100) { orgId } comments(first: 100) { id } } }`,
            check(data) {
              for (const ticket of data.products.nodes[0].tickets) expect(ticket.orgId).toBe(ORG2);
              expect(ids(data.label.customers)).not.toContain(String(customer1!.id));
              expect(data.byCustomer.totalCount).toBe(0);
              for (const ticket of data.user.assigned) expect(ticket.orgId).toBe(ORG2);
              expect(ids(data.user.comments)).not.toContain(String(comment!.id));
            },
          },
        ],
        async cleanup() {
          await sql('DELETE FROM "public"."comments" WHERE id = $1', [comment!.id]);
          await sql(`UPDATE ${TICKETS} SET assignee_id = $1 WHERE org_id = $2 AND id = $3`, [
            ticket1!.assignee,
            ORG1,
            ticket1!.id,
          ]);
          await sql('DELETE FROM "public"."_CustomerLabels" WHERE "A" = $1 AND "B" = $2', [
            customer1!.id,
            label2!.id,
          ]);
        },
      };
    },
  },
  property: {
    roles: ROLES,
    field: 'tickets',
    whereType: 'TicketWhereInput',
    orderByType: 'TicketOrderByInput',
    // fields every role may filter on (a filter on a denied field is another test's subject)
    where: fc.oneof(
      fc.constant(null),
      fc.record({
        status: fc.record({
          in: fc.subarray(['open', 'pending', 'resolved', 'closed'], { minLength: 1 }),
        }),
      }),
      fc.record({
        priority: fc.record({ equals: fc.constantFrom('low', 'normal', 'high', 'urgent') }),
      }),
      fc.record({ id: fc.record({ lte: fc.integer({ min: 1, max: 300 }) }) }),
      fc.record({
        comments: fc.record({ some: fc.record({ internal: fc.record({ equals: fc.boolean() }) }) }),
      }),
      fc.record({
        labels: fc.record({
          some: fc.record({
            label: fc.record({
              is: fc.record({
                name: fc.record({ equals: fc.constantFrom('billing', 'bug', 'vip', 'refund') }),
              }),
            }),
          }),
        }),
      }),
      fc.record({
        parent: fc.record({
          is: fc.record({ status: fc.record({ equals: fc.constant('open') }) }),
        }),
      }),
      fc.record({ NOT: fc.constant([{ status: { equals: 'closed' } }]) }),
      fc.record({
        OR: fc.constant([{ assigneeId: { isNull: true } }, { parentId: { isNull: false } }]),
      }),
    ),
    orderBy: fc.constantFrom(
      null,
      [{ createdAt: 'DESC' }],
      [{ priority: 'ASC' }],
      [{ status: 'DESC' }, { id: 'DESC' }],
    ),
    async load(sql): Promise<HelpdeskTruth> {
      const truth: HelpdeskTruth = {
        tickets: new Map(),
        customers: new Map(),
        comments: new Map(),
        productOrg: new Map(),
        users: new Map(),
      };
      for (const row of await sql<any>(
        `SELECT org_id::text AS "orgId", id, status::text AS status, priority::text AS priority,
                deleted_at IS NOT NULL AS deleted, parent_id AS "parentId", product_sku AS "productSku"
           FROM ${TICKETS}`,
      )) {
        truth.tickets.set(`${row.orgId}/${row.id}`, {
          ...row,
          id: Number(row.id),
          parentId: row.parentId === null ? null : Number(row.parentId),
        });
      }
      for (const row of await sql<any>(
        'SELECT id, org_id::text AS "orgId", email, phone FROM "public"."customers"',
      )) {
        truth.customers.set(Number(row.id), row);
      }
      for (const row of await sql<any>(
        `SELECT id, ticket_org_id::text || '/' || ticket_id AS ticket, internal FROM "public"."comments"`,
      )) {
        truth.comments.set(Number(row.id), { ticket: row.ticket, internal: row.internal });
      }
      for (const row of await sql<any>(
        'SELECT sku, org_id::text AS "orgId" FROM "public"."products"',
      )) {
        truth.productOrg.set(row.sku, row.orgId);
      }
      for (const row of await sql<any>(
        'SELECT id::text AS id, org_id::text AS "orgId", role FROM "public"."users" ORDER BY id',
      )) {
        const byRole = truth.users.get(row.orgId) ?? new Map<string, string[]>();
        byRole.set(row.role, [...(byRole.get(row.role) ?? []), row.id]);
        truth.users.set(row.orgId, byRole);
      }
      return truth;
    },
    subs: (truth: HelpdeskTruth, tenant, role) => truth.users.get(String(tenant))!.get(role)!,
    selection: (role) => `orgId id status priority productSku
      ${role === 'viewer' ? '' : `requester { id orgId ${Object.keys(REQUESTER_FIELDS[role as Role]).join(' ')} }`}
      comments(first: $nestedFirst) { id ticketOrgId ticketId internal }
      product { orgId sku }
      parent { orgId id }`,
    // each names $nestedFirst, so the operation is valid and only the field is refused
    denied: {
      admin: [],
      agent: [
        'id attachmentChecksum comments(first: $nestedFirst) { id }',
        'id internalNotes comments(first: $nestedFirst) { id }',
        'id requester { phone } comments(first: $nestedFirst) { id }',
      ],
      support: [],
      viewer: [
        'id refundAmount comments(first: $nestedFirst) { id }',
        'id metadata comments(first: $nestedFirst) { id }',
        'id author: comments(first: $nestedFirst) { author { email } }',
      ],
    },
    check(node, who, truth: HelpdeskTruth, nestedFirst) {
      const key = `${node.orgId}/${node.id}`;
      const row = truth.tickets.get(key);
      expect(row, `ticket ${key} does not exist`).toBeDefined();
      expect(row!.orgId).toBe(who.tenantId);
      expect(row!.deleted, `ticket ${key} is soft-deleted`).toBe(false);
      expect(roleReads(who.role, row!), `${who.role} may not read ticket ${key}`).toBe(true);
      if (who.role !== 'viewer') {
        const customer = truth.customers.get(node.requester.id);
        expect(customer?.orgId).toBe(who.tenantId);
        for (const [field, expected] of Object.entries(REQUESTER_FIELDS[who.role as Role])) {
          expect(node.requester[field]).toBe(expected(customer![field as 'email']));
        }
      }
      expect(node.comments.length).toBeLessThanOrEqual(nestedFirst);
      for (const comment of node.comments) {
        const commentRow = truth.comments.get(comment.id);
        expect(commentRow?.ticket).toBe(key);
        if (who.role === 'viewer') expect(commentRow!.internal).toBe(false);
      }
      // a product of another organization (the seeded bad reference) is never followed
      const productOrg = row!.productSku ? truth.productOrg.get(row!.productSku) : undefined;
      expect(node.product).toEqual(
        productOrg === who.tenantId ? { orgId: who.tenantId, sku: row!.productSku } : null,
      );
      const parent =
        row!.parentId === null ? undefined : truth.tickets.get(`${row!.orgId}/${row!.parentId}`);
      expect(node.parent).toEqual(
        parent && !parent.deleted && roleReads(who.role, parent)
          ? { orgId: parent.orgId, id: parent.id }
          : null,
      );
    },
  },
  hashed: {
    principal: principal('agent', 2),
    query: '{ result: users(first: 50) { nodes { id email } } }',
    field: 'email',
    sql: 'SELECT id::text AS id, email FROM "public"."users" WHERE org_id = $1 ORDER BY id',
    params: [ORG2],
  },
  writes: {
    mutations: {
      admin: ['createLabel', 'updateLabel', 'deleteLabel', 'approveRequest', 'rejectRequest'],
      agent: ['updateTicket'],
      support: ['updateTicket', 'deleteTicket'],
      viewer: [],
    },
    tables: [
      '"public"."organizations"',
      '"public"."users"',
      '"public"."customers"',
      '"public"."products"',
      '"public"."labels"',
      '"public"."_CustomerLabels"',
      TICKETS,
      '"public"."ticket_labels"',
      '"public"."comments"',
      '"analytics"."events"',
    ],
    update: {
      principal: SUPPORT,
      // a ticket support reads (high or urgent) whose tags are not the new ones yet
      pickSql: `SELECT org_id::text AS "orgId", id, tags AS before FROM ${TICKETS}
                  WHERE org_id = '${ORG1}' AND deleted_at IS NULL AND priority IN ('high', 'urgent')
                    AND tags <> ARRAY['vip', 'billing'] ORDER BY id LIMIT 1`,
      mutation: (row, reason) =>
        `mutation { updateTicket(orgId: "${row.orgId}", id: ${row.id}, data: { tags: ["vip", "billing"] }, reason: ${JSON.stringify(reason)}) { orgId id tags } }`,
      root: 'updateTicket',
      field: 'tags',
      value: ['vip', 'billing'],
      readSql: `SELECT tags AS value FROM ${TICKETS} WHERE org_id = $1 AND id = $2`,
      readParams: (row) => [row.orgId, row.id],
    },
    invalid: {
      principal: SUPPORT,
      cases: [
        [
          `mutation { updateTicket(orgId: "${ORG1}", id: 1, data: { tags: ["a"] }) { id } }`,
          'VALIDATION_ERROR',
        ],
        [
          `mutation { updateTicket(orgId: "${ORG1}", id: 1, data: { tags: ["a"] }, reason: " ") { id } }`,
          'VALIDATION_ERROR',
        ],
        [
          `mutation { updateTicket(orgId: "${ORG1}", id: 1, data: { subject: "x" }, reason: "r") { id } }`,
          'FIELD_NOT_ALLOWED',
        ],
        // half a composite key
        [
          'mutation { updateTicket(id: 1, data: { tags: ["a"] }, reason: "r") { id } }',
          'VALIDATION_ERROR',
        ],
        [
          `mutation { deleteTicket(orgId: "${ORG1}", id: 1, reason: "r", hard: true) { success } }`,
          'VALIDATION_ERROR',
        ],
        [
          `mutation { updateTicket(orgId: "${ORG1}", id: 1, data: { tags: 7 }, reason: "r") { id } }`,
          'VALIDATION_ERROR',
        ],
      ],
    },
    async outOfScope(sql) {
      const pick = async (where: string, params: unknown[]) =>
        (
          await sql<{ id: number }>(
            `SELECT id FROM ${TICKETS} WHERE ${where} ORDER BY id LIMIT 1`,
            params,
          )
        )[0]!.id;
      const urgent = `deleted_at IS NULL AND priority IN ('high', 'urgent')`;
      const foreign = await pick(`org_id = $1 AND ${urgent}`, [ORG2]);
      const own = await pick(`org_id = $1 AND ${urgent}`, [ORG1]);
      // ids repeat across organizations: organization 1's ticket with organization 2's urgent id
      // is one support does not read (low or normal), or absent
      const lowWithForeignId = await pick(
        `org_id = $1 AND deleted_at IS NULL AND priority IN ('low', 'normal')`,
        [ORG1],
      );
      const deleted = await pick('org_id = $1 AND deleted_at IS NOT NULL', [ORG1]);
      const update = (org: string, id: number, data: string, who = SUPPORT) =>
        [
          who,
          `mutation { updateTicket(orgId: "${org}", id: ${id}, data: ${data}, reason: "r") { id } }`,
        ] as const;
      return [
        [...update(ORG2, foreign, '{ tags: ["x"] }'), 'NOT_FOUND|TENANT_SCOPE_VIOLATION'],
        [...update(ORG1, lowWithForeignId, '{ tags: ["x"] }'), 'NOT_FOUND'],
        [...update(ORG1, deleted, '{ tags: ["x"] }'), 'NOT_FOUND'],
        [...update(ORG1, own, `{ orgId: "${ORG2}" }`), 'TENANT_SCOPE_VIOLATION'],
        [...update(ORG1, own, '{ priority: "low" }', AGENT), 'FIELD_NOT_ALLOWED'],
        [...update(ORG1, own, '{ tags: ["x"] }', VIEWER), 'WRITE_DISABLED'],
        [
          AGENT,
          `mutation { deleteTicket(orgId: "${ORG1}", id: ${own}, reason: "r") { success } }`,
          // the agent has a Mutation type (updateTicket) without this field
          'WRITE_DISABLED|FIELD_NOT_ALLOWED',
        ],
        [
          ADMIN,
          `mutation { createLabel(data: { name: "x", color: "#000", orgId: "${ORG2}" }, reason: "r") { id } }`,
          'TENANT_SCOPE_VIOLATION',
        ],
      ];
    },
    softDelete: {
      requester: SUPPORT,
      approver: ADMIN,
      model: 'Ticket',
      pickSql: `SELECT org_id::text AS "orgId", id FROM ${TICKETS}
                  WHERE org_id = '${ORG1}' AND deleted_at IS NULL AND priority IN ('high', 'urgent') ORDER BY id DESC LIMIT 1`,
      mutation: (row, reason) =>
        `mutation { deleteTicket(orgId: "${row.orgId}", id: ${row.id}, reason: ${JSON.stringify(reason)}) { success } }`,
      read: (row) => `{ row: ticket(orgId: "${row.orgId}", id: ${row.id}) { id } }`,
      deletedSql: `SELECT deleted_at IS NOT NULL AS deleted FROM ${TICKETS} WHERE org_id = $1 AND id = $2`,
      params: (row) => [row.orgId, row.id],
    },
    mcpUpdate: {
      principal: AGENT,
      model: 'Ticket',
      pickSql: `SELECT org_id::text AS "orgId", id FROM ${TICKETS} WHERE org_id = '${ORG1}' AND deleted_at IS NULL ORDER BY id LIMIT 1`,
      id: (row) => ({ orgId: row.orgId, id: row.id }),
      data: { tags: ['mobile'] },
    },
  },
};
