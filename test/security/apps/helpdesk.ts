// The helpdesk example (examples/helpdesk) for the security suite: its anchors are the table of
// examples/helpdesk/README.md; its cross-tenant rows follow the single-column foreign keys the
// database lets point into another organization (assignee, label, comment author, customer label).
import { fileURLToPath } from 'node:url';
import { helpdeskApp } from '../../../examples/helpdesk/app.js';
import { orgId } from '../../../examples/helpdesk/seed.js';
import type { TenantId } from '../support/app-model.js';
import type { SecurityAppSpec, SqlFn } from '../support/app-spec.js';
import type { Truth } from '../support/truth.js';

async function addCrossTenantRows(sql: SqlFn): Promise<void> {
  const first = async <T = string>(text: string, params: unknown[] = []) => {
    const [row] = await sql<{ id: T }>(text, params);
    if (!row) throw new Error(`no row for ${text}`);
    return row.id;
  };
  const [one, two] = [orgId(1), orgId(2)];
  const ticket = await first<number>(
    'SELECT id FROM "public"."tickets" WHERE org_id = $1 AND deleted_at IS NULL ORDER BY id',
    [one],
  );
  const otherUser = await first(
    'SELECT id::text AS id FROM "public"."users" WHERE org_id = $1 ORDER BY id',
    [two],
  );
  const otherLabel = await first<number>(
    'SELECT id FROM "public"."labels" WHERE org_id = $1 ORDER BY id',
    [two],
  );
  const customer = await first<number>(
    'SELECT id FROM "public"."customers" WHERE org_id = $1 ORDER BY id',
    [one],
  );
  // a ticket of org 1 assigned to a user of org 2, labelled with a label of org 2
  await sql('UPDATE "public"."tickets" SET assignee_id = $3::uuid WHERE org_id = $1 AND id = $2', [
    one,
    ticket,
    otherUser,
  ]);
  await sql(
    'INSERT INTO "public"."ticket_labels" (org_id, ticket_id, label_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING',
    [one, ticket, otherLabel],
  );
  // a comment on it written by that user, and a customer of org 1 with org 2's label
  await sql(
    `INSERT INTO "public"."comments" (ticket_org_id, ticket_id, author_id, body, internal)
     VALUES ($1, $2, $3::uuid, 'cross-organization author', false)`,
    [one, ticket, otherUser],
  );
  await sql(
    'INSERT INTO "public"."_CustomerLabels" ("A", "B") VALUES ($1, $2) ON CONFLICT DO NOTHING',
    [customer, otherLabel],
  );
}

/** A tenant's users: those of the same app role when the seed has any, else all of them. */
function subs(truth: Truth, tenant: TenantId, role: string): string[] {
  const users = [...truth.rows.get('User')!.values()].filter((user) => user.orgId === tenant);
  const same = users.filter((user) => user.role === role);
  return (same.length ? same : users).map((user) => String(user.id));
}

export const helpdeskSpec: SecurityAppSpec = {
  app: helpdeskApp,
  schemaPath: fileURLToPath(
    new URL('../../../examples/helpdesk/prisma/schema.prisma', import.meta.url),
  ),
  subs,
  addCrossTenantRows,
  anchors: {
    complete: true,
    hidden: { agent: ['Event'], viewer: ['Customer', 'Event'] },
    fields: {
      admin: { 'User.passwordHash': 'deny' },
      agent: {
        'User.passwordHash': 'deny',
        'User.email': 'hash',
        'Customer.phone': 'deny',
        'Customer.email': 'mask',
        'Ticket.attachmentChecksum': 'deny',
        'Ticket.internalNotes': 'deny',
      },
      support: { 'User.passwordHash': 'deny', 'Customer.phone': 'mask' },
      viewer: {
        'User.passwordHash': 'deny',
        'User.email': 'deny',
        'Ticket.attachmentChecksum': 'deny',
        'Ticket.internalNotes': 'deny',
        'Ticket.refundAmount': 'deny',
        'Ticket.metadata': 'deny',
      },
    },
    owners: {},
  },
};
