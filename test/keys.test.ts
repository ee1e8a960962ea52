// Pins row keys: compound primary keys, a @@unique as the key, uuid/cuid/BigInt ids and uuid tenants, on the single-row field, cursors, writes and MCP.
import { describe, expect, it } from 'vitest';
import { Translator } from '../src/mcp-bridge/translate.js';
import { compilePolicy } from '../src/policy/compile-policy.js';
import { describeSchema } from '../src/policy/describe.js';
import { buildSchema } from '../src/schema/build-schema.js';
import { keysApp } from './fixtures/keys-app/app.js';
import { connectMcp } from './helpers/mcp.js';
import { DATABASE_KINDS, query, type TestApp, useTestApp } from './helpers/runtime.js';

const ORG_A = '0a0a0a0a-0000-4000-8000-00000000000a';
const ORG_B = '0b0b0b0b-0000-4000-8000-00000000000b';
const admin = (tenantId = ORG_A, sub = '1') => ({ sub, tenantId, roles: ['admin'] });
// past Number.MAX_SAFE_INTEGER: a JSON number would round them
const EVENT_IDS = ['9007199254740993', '9007199254740994', '9007199254740995'];
const B_EVENT = '9007199254740997';

async function seed(app: TestApp) {
  await app.sql(`INSERT INTO "Org" (id, name) VALUES ($1, 'A'), ($2, 'B')`, [ORG_A, ORG_B]);
  for (const org of [ORG_A, ORG_B]) {
    // the same ticket numbers in both organizations: only the compound key tells them apart
    for (let id = 1; id <= 7; id++) {
      await app.sql(`INSERT INTO "Ticket" ("orgId", id, title, status) VALUES ($1, $2, $3, $4)`, [
        org,
        id,
        `${org === ORG_A ? 'A' : 'B'}-${id}`,
        id % 2 ? 'open' : 'closed',
      ]);
    }
  }
  for (const [day, seq, org] of [
    ['mon', 1, ORG_A],
    ['mon', 2, ORG_A],
    ['mon', 3, ORG_B],
    ['tue', 1, ORG_A],
    ['tue', 2, ORG_A],
    ['wed', 1, ORG_B],
    ['wed', 2, ORG_A],
  ] as const) {
    await app.sql(`INSERT INTO "Shift" (day, seq, "orgId", label) VALUES ($1, $2, $3, 'x')`, [
      day,
      seq,
      org,
    ]);
  }
  for (const id of EVENT_IDS)
    await app.sql(`INSERT INTO "Event" (id, "orgId", kind) VALUES ($1, $2, 'seen')`, [id, ORG_A]);
  await app.sql(`INSERT INTO "Event" (id, "orgId", kind) VALUES ($1, $2, 'seen')`, [
    B_EVENT,
    ORG_B,
  ]);
  await app.sql(
    `INSERT INTO "Note" (id, "orgId", body) VALUES ('cknote0a1', $1, 'a1'), ('cknote0a2', $1, 'a2'), ('cknote0b1', $2, 'b1')`,
    [ORG_A, ORG_B],
  );
  for (const [org, user, role] of [
    [ORG_A, 'u1', 'owner'],
    [ORG_A, 'u2', 'member'],
    [ORG_A, 'u3', 'member'],
    [ORG_B, 'u1', 'owner'],
  ]) {
    await app.sql(`INSERT INTO "Membership" ("orgId", "userRef", role) VALUES ($1, $2, $3)`, [
      org,
      user,
      role,
    ]);
  }
}

/** Every page of a list, following endCursor, with the rows in the order served. */
async function walk(
  app: TestApp,
  list: string,
  selection: string,
  options: { orderBy?: string; first?: number } = {},
) {
  const rows: any[] = [];
  let after: string | null = null;
  for (let page = 0; page < 50; page++) {
    const data = await query(
      app,
      admin(),
      `query ($after: String) { ${list}(first: ${options.first ?? 2}, after: $after${
        options.orderBy ? `, orderBy: ${options.orderBy}` : ''
      }) { nodes { ${selection} } pageInfo { hasNextPage endCursor } } }`,
      { after },
    );
    const { nodes, pageInfo } = data[list];
    // a page announced by hasNextPage is never empty
    if (after !== null) expect(nodes.length).toBeGreaterThan(0);
    rows.push(...nodes);
    if (!pageInfo.hasNextPage) return rows;
    after = pageInfo.endCursor;
  }
  throw new Error(`${list}: more than 50 pages`);
}

describe.each(DATABASE_KINDS)('row keys on %s', (kind) => {
  const app = useTestApp(kind, { app: keysApp });
  let seeded: Promise<void> | null = null;
  const ready = () => {
    seeded ??= seed(app);
    return seeded;
  };

  it('the single-row field takes every key field, typed per field', async () => {
    await ready();
    const data = await query(
      app,
      admin(),
      `{ __schema { queryType { fields { name args { name type { kind ofType { name } } } } } } }`,
    );
    const args = (name: string) =>
      data.__schema.queryType.fields
        .find((field: any) => field.name === name)
        ?.args.map(
          (arg: any) =>
            `${arg.name}: ${arg.type.ofType?.name}${arg.type.kind === 'NON_NULL' ? '!' : ''}`,
        );
    expect(args('ticket')).toEqual(['orgId: String!', 'id: Int!']);
    expect(args('shift')).toEqual(['day: String!', 'seq: Int!']);
    expect(args('membership')).toEqual(['orgId: String!', 'userRef: String!']);
    expect(args('event')).toEqual(['id: BigInt!']);
    expect(args('note')).toEqual(['id: String!']);
    expect(args('org')).toEqual(['id: String!']);
  });

  it('reads one row by its compound key, within the tenant', async () => {
    await ready();
    const one = await query(
      app,
      admin(),
      `query ($org: String!) { ticket(orgId: $org, id: 3) { orgId id title } missing: ticket(orgId: $org, id: 99) { id } }`,
      { org: ORG_A },
    );
    expect(one.ticket).toEqual({ orgId: ORG_A, id: 3, title: 'A-3' });
    expect(one.missing).toBeNull();

    // the key names another tenant: a scope mistake, said as such
    const other = await app.graphql(
      admin(),
      'query ($org: String!) { ticket(orgId: $org, id: 3) { id } }',
      { org: ORG_B },
    );
    expect(other.body.errors?.[0]?.extensions.code).toBe('TENANT_SCOPE_VIOLATION');

    // a key without the tenant field: another tenant's row is simply not there
    const shifts = await query(
      app,
      admin(),
      `{ mine: shift(day: "mon", seq: 1) { day seq orgId } theirs: shift(day: "wed", seq: 1) { day } }`,
    );
    expect(shifts.mine).toEqual({ day: 'mon', seq: 1, orgId: ORG_A });
    expect(shifts.theirs).toBeNull();

    const member = await query(
      app,
      admin(),
      `query ($org: String!) { membership(orgId: $org, userRef: "u2") { userRef role } }`,
      { org: ORG_A },
    );
    expect(member.membership).toEqual({ userRef: 'u2', role: 'member' });
  });

  it('uuid tenants, cuid and BigInt ids: one row each, BigInt as exact strings', async () => {
    await ready();
    const data = await query(
      app,
      admin(),
      `query ($a: String!, $e: BigInt!) { org(id: $a) { id name } orgs { nodes { id } }
        event(id: $e) { id kind } note(id: "cknote0a2") { id body }
        theirNote: note(id: "cknote0b1") { id } theirEvent: event(id: "${B_EVENT}") { id } }`,
      { a: ORG_A, e: EVENT_IDS[0] },
    );
    expect(data.org).toEqual({ id: ORG_A, name: 'A' });
    expect(data.orgs.nodes).toEqual([{ id: ORG_A }]);
    expect(data.event).toEqual({ id: EVENT_IDS[0], kind: 'seen' });
    expect(data.note).toEqual({ id: 'cknote0a2', body: 'a2' });
    expect(data.theirNote).toBeNull();
    expect(data.theirEvent).toBeNull();
    const other = await app.graphql(admin(), 'query ($b: String!) { org(id: $b) { id } }', {
      b: ORG_B,
    });
    expect(other.body.errors?.[0]?.extensions.code).toBe('TENANT_SCOPE_VIOLATION');
  });

  it('pages through every row exactly once: the key breaks every tie', async () => {
    await ready();
    const truth = async (sql: string) =>
      (await app.sql<Record<string, unknown>>(sql, [ORG_A])).map((row) => JSON.stringify(row));
    const served = (rows: any[], fields: string[]) =>
      rows.map((row) => JSON.stringify(Object.fromEntries(fields.map((f) => [f, row[f]]))));

    const tickets = await walk(app, 'tickets', 'orgId id');
    expect(served(tickets, ['id'])).toEqual(
      await truth(
        `SELECT id FROM "Ticket" WHERE "orgId" = $1 AND "deletedAt" IS NULL ORDER BY "orgId", id`,
      ),
    );
    // a sort with ties (status): the key fields order rows within each status
    const byStatus = await walk(app, 'tickets', 'id status', { orderBy: '[{ status: DESC }]' });
    expect(served(byStatus, ['id'])).toEqual(
      await truth(
        `SELECT id FROM "Ticket" WHERE "orgId" = $1 AND "deletedAt" IS NULL ORDER BY status DESC, "orgId", id`,
      ),
    );
    const shifts = await walk(app, 'shifts', 'day seq', { orderBy: '[{ label: ASC }]' });
    expect(served(shifts, ['day', 'seq'])).toEqual(
      await truth(`SELECT day, seq FROM "Shift" WHERE "orgId" = $1 ORDER BY label, day, seq`),
    );
    const members = await walk(app, 'memberships', 'userRef', { first: 1 });
    expect(served(members, ['userRef'])).toEqual(
      await truth(
        `SELECT "userRef" FROM "Membership" WHERE "orgId" = $1 ORDER BY "orgId", "userRef"`,
      ),
    );
    const events = await walk(app, 'events', 'id');
    expect(events.map((row) => row.id)).toEqual(
      (
        await app.sql<{ id: string }>(
          `SELECT id::text AS id FROM "Event" WHERE "orgId" = $1 ORDER BY id`,
          [ORG_A],
        )
      ).map((row) => row.id),
    );
  });

  it('writes address a row by its compound key, never the same number in another tenant', async () => {
    await ready();
    const updated = await query(
      app,
      admin(),
      `mutation ($org: String!) { updateTicket(orgId: $org, id: 2, data: { status: "pending" }, reason: "triage") { orgId id status } }`,
      { org: ORG_A },
    );
    expect(updated.updateTicket).toEqual({ orgId: ORG_A, id: 2, status: 'pending' });
    const statusOf = async (org: string, id: number) =>
      (
        await app.sql<{ status: string; deletedAt: unknown }>(
          `SELECT status, "deletedAt" FROM "Ticket" WHERE "orgId" = $1 AND id = $2`,
          [org, id],
        )
      )[0];
    expect((await statusOf(ORG_A, 2))?.status).toBe('pending');
    expect((await statusOf(ORG_B, 2))?.status).toBe('closed');

    const violation = await app.graphql(
      admin(),
      `mutation ($org: String!) { updateTicket(orgId: $org, id: 2, data: { status: "x" }, reason: "r") { id } }`,
      { org: ORG_B },
    );
    expect(violation.body.errors?.[0]?.extensions.code).toBe('TENANT_SCOPE_VIOLATION');
    expect((await statusOf(ORG_B, 2))?.status).toBe('closed');

    const deleted = await query(
      app,
      admin(),
      `mutation ($org: String!) { deleteTicket(orgId: $org, id: 7, reason: "dup") { success softDeleted } }`,
      { org: ORG_A },
    );
    expect(deleted.deleteTicket).toEqual({ success: true, softDeleted: true });
    expect((await statusOf(ORG_A, 7))?.deletedAt).not.toBeNull();
    expect((await statusOf(ORG_B, 7))?.deletedAt).toBeNull();

    // bulk ids are key objects; the missing one comes back as its key
    const bulk = await query(
      app,
      admin(),
      `mutation ($ids: [TicketKeyInput!]!) { bulkUpdateTickets(ids: $ids, data: { status: "done" }, reason: "sweep") { updatedCount success failedIds { orgId id } } }`,
      {
        ids: [
          { orgId: ORG_A, id: 1 },
          { orgId: ORG_A, id: 4 },
          { orgId: ORG_A, id: 1 },
          { orgId: ORG_A, id: 99 },
        ],
      },
    );
    expect(bulk.bulkUpdateTickets).toEqual({
      updatedCount: 2,
      success: false,
      failedIds: [{ orgId: ORG_A, id: 99 }],
    });
    expect(
      await app.sql(`SELECT "orgId", id FROM "Ticket" WHERE status = 'done' ORDER BY id`),
    ).toEqual([
      { orgId: ORG_A, id: 1 },
      { orgId: ORG_A, id: 4 },
    ]);
    const crossBulk = await app.graphql(
      admin(),
      `mutation ($ids: [TicketKeyInput!]!) { bulkUpdateTickets(ids: $ids, data: { status: "x" }, reason: "r") { updatedCount } }`,
      { ids: [{ orgId: ORG_B, id: 3 }] },
    );
    expect(crossBulk.body.errors?.[0]?.extensions.code).toBe('TENANT_SCOPE_VIOLATION');

    // a compound key without the tenant: another tenant's row is not found, and not touched
    const theirs = await app.graphql(
      admin(),
      `mutation { updateShift(day: "wed", seq: 1, data: { label: "y" }, reason: "r") { day } }`,
    );
    expect(theirs.body.errors?.[0]?.extensions.code).toBe('NOT_FOUND');
    const shifts = await query(
      app,
      admin(),
      `mutation { bulkUpdateShifts(ids: [{ day: "mon", seq: 1 }, { day: "wed", seq: 1 }], data: { label: "z" }, reason: "r") { updatedCount failedIds { day seq } } }`,
    );
    expect(shifts.bulkUpdateShifts).toEqual({
      updatedCount: 1,
      failedIds: [{ day: 'wed', seq: 1 }],
    });
    expect(await app.sql(`SELECT day, seq FROM "Shift" WHERE label <> 'x' ORDER BY day`)).toEqual([
      { day: 'mon', seq: 1 },
    ]);
    const hard = await query(
      app,
      admin(),
      `mutation { deleteShift(day: "wed", seq: 2, reason: "gone", hard: true) { success softDeleted } }`,
    );
    expect(hard.deleteShift).toEqual({ success: true, softDeleted: false });
    expect(await app.sql(`SELECT 1 FROM "Shift" WHERE day = 'wed' AND seq = 2`)).toEqual([]);

    // a model keyed by a @@unique only
    const member = await query(
      app,
      admin(),
      `mutation ($org: String!) { updateMembership(orgId: $org, userRef: "u3", data: { role: "lead" }, reason: "r") { role } }`,
      { org: ORG_A },
    );
    expect(member.updateMembership).toEqual({ role: 'lead' });
    expect(await app.sql(`SELECT "orgId", role FROM "Membership" WHERE "userRef" = 'u3'`)).toEqual([
      { orgId: ORG_A, role: 'lead' },
    ]);
  });

  it('BigInt and cuid ids through writes and an approval, exact', async () => {
    await ready();
    const updated = await query(
      app,
      admin(),
      `mutation ($id: BigInt!) { updateEvent(id: $id, data: { kind: "read" }, reason: "r") { id kind } }`,
      { id: EVENT_IDS[1] },
    );
    expect(updated.updateEvent).toEqual({ id: EVENT_IDS[1], kind: 'read' });
    expect(await app.sql(`SELECT id::text AS id FROM "Event" WHERE kind = 'read'`)).toEqual([
      { id: EVENT_IDS[1] },
    ]);

    const created = await query(
      app,
      admin(),
      `mutation { createEvent(data: { kind: "new" }, reason: "r") { id } createNote(data: { body: "hello" }, reason: "r") { id body } }`,
    );
    expect(created.createEvent.id).toMatch(/^\d+$/);
    const note = await query(app, admin(), `query ($id: String!) { note(id: $id) { body } }`, {
      id: created.createNote.id,
    });
    expect(note.note).toEqual({ body: 'hello' });
    const noteDeleted = await query(
      app,
      admin(),
      `mutation ($id: String!) { deleteNote(id: $id, reason: "r", hard: true) { success } }`,
      { id: created.createNote.id },
    );
    expect(noteDeleted.deleteNote).toEqual({ success: true });

    // three ids wait for an approver: the BigInt ids survive the stored request exactly
    const asked = await app.graphql(
      admin(),
      `mutation ($ids: [BigInt!]!) { bulkUpdateEvents(ids: $ids, data: { kind: "archived" }, reason: "r") { updatedCount } }`,
      { ids: [EVENT_IDS[0], EVENT_IDS[2], B_EVENT] },
    );
    const error = asked.body.errors?.[0];
    expect(error?.extensions.code).toBe('WRITE_APPROVAL_REQUIRED');
    const approved = await query(
      app,
      admin(ORG_A, '2'),
      `mutation ($id: ID!) { approveRequest(id: $id) { status result } }`,
      { id: error?.extensions.details.approval_id },
    );
    expect(approved.approveRequest.status).toBe('approved');
    expect(approved.approveRequest.result).toMatchObject({
      updatedCount: 2,
      failedIds: [B_EVENT],
    });
    expect(
      await app.sql(`SELECT id::text AS id FROM "Event" WHERE kind = 'archived' ORDER BY id`),
    ).toEqual([{ id: EVENT_IDS[0] }, { id: EVENT_IDS[2] }]);
  });

  it('MCP names rows by their key: a value, or an object of a compound key', async () => {
    await ready();
    const mcp = await connectMcp(app, admin());
    try {
      const got = await mcp.call('db.get', { model: 'Ticket', id: { orgId: ORG_A, id: 3 } });
      expect(got.structured).toMatchObject({ found: true, data: { orgId: ORG_A, id: 3 } });
      const scalar = await mcp.call('db.get', { model: 'Ticket', id: 3 });
      expect(scalar.isError).toBe(true);
      expect(scalar.structured.error).toMatchObject({ code: 'VALIDATION_ERROR' });
      expect(scalar.structured.error.retry_hints.join(' ')).toContain('"orgId"');
      const partial = await mcp.call('db.get', { model: 'Ticket', id: { orgId: ORG_A } });
      expect(partial.structured.error).toMatchObject({
        code: 'VALIDATION_ERROR',
        details: { field: 'id.id' },
      });
      const crossed = await mcp.call('db.get', { model: 'Ticket', id: { orgId: ORG_B, id: 3 } });
      expect(crossed.structured.error.code).toBe('TENANT_SCOPE_VIOLATION');

      const event = await mcp.call('db.get', { model: 'Event', id: EVENT_IDS[0] });
      expect(event.structured).toMatchObject({ found: true, data: { id: EVENT_IDS[0] } });
      const member = await mcp.call('db.get', {
        model: 'Membership',
        id: { orgId: ORG_A, userRef: 'u1' },
      });
      expect(member.structured).toMatchObject({ found: true, data: { role: 'owner' } });

      const described = await mcp.call('db.describe_schema', { model: 'Ticket' });
      expect(described.structured.models.Ticket.key).toEqual(['orgId', 'id']);
      expect(described.structured.models.Ticket.fields.id.primaryKey).toBe(true);

      // cursors over a compound key, through the tool
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const page: any = await mcp.call('db.query', {
          model: 'Shift',
          take: 2,
          order_by: [{ field: 'orgId' }],
          ...(cursor ? { cursor } : {}),
        });
        seen.push(...page.structured.data.map((row: any) => `${row.day}/${row.seq}`));
        cursor = page.structured.next_cursor;
      } while (cursor);
      const truth = await app.sql<{ key: string }>(
        `SELECT day || '/' || seq AS key FROM "Shift" WHERE "orgId" = $1 ORDER BY day, seq`,
        [ORG_A],
      );
      expect(seen).toEqual(truth.map((row) => row.key));

      const update = await mcp.call('db.update', {
        model: 'Ticket',
        id: { orgId: ORG_A, id: 6 },
        data: { title: 'renamed' },
        reason: 'r',
      });
      expect(update.structured).toMatchObject({ success: true, data: { id: 6, title: 'renamed' } });
      expect(await app.sql(`SELECT "orgId" FROM "Ticket" WHERE title = 'renamed'`)).toEqual([
        { orgId: ORG_A },
      ]);

      const bulk = await mcp.call('db.bulk_update_by_ids', {
        model: 'Shift',
        ids: [
          { day: 'tue', seq: 1 },
          { day: 'mon', seq: 3 },
        ],
        data: { label: 'mcp' },
        reason: 'r',
      });
      expect(bulk.structured).toEqual({
        updated_count: 1,
        success: false,
        failed_ids: [{ day: 'mon', seq: 3 }],
      });
      // BigInt ids travel as strings, and come back exact
      const bigBulk = await mcp.call('db.bulk_update_by_ids', {
        model: 'Event',
        ids: [EVENT_IDS[1], B_EVENT],
        data: { kind: 'mcp' },
        reason: 'r',
      });
      expect(bigBulk.structured).toEqual({
        updated_count: 1,
        success: false,
        failed_ids: [B_EVENT],
      });
      const notes = await mcp.call('db.bulk_update_by_ids', {
        model: 'Note',
        ids: ['cknote0a1', 'cknote0b1'],
        data: { body: 'x' },
        reason: 'r',
      });
      expect(notes.isError).toBe(true);
      expect(notes.structured.error.code).toBe('WRITE_DISABLED');
      const created = await mcp.call('db.create', {
        model: 'Ticket',
        data: { id: 50, title: 'new', status: 'open' },
        reason: 'r',
      });
      expect(created.structured).toMatchObject({ success: true, id: { orgId: ORG_A, id: 50 } });
    } finally {
      await mcp.close();
    }
  });
});

describe('the key of a model without @id', () => {
  // a unique over a nullable column names no row: several rows may share its null. Prisma itself
  // refuses such a model, but a database view (or a datamodel read from elsewhere) can have one.
  const datamodel = {
    datamodel: {
      models: {
        Reading: {
          primaryKey: null,
          uniqueIndexes: [{ name: null, fields: ['sensor', 'takenAt'] }],
          fields: [
            field('tenantId', 'Int'),
            field('sensor', 'String'),
            { ...field('takenAt', 'DateTime'), isRequired: false },
            field('value', 'Float'),
          ],
        },
        Sample: {
          primaryKey: null,
          uniqueIndexes: [{ name: 'bySensorAndNo', fields: ['sensor', 'no'] }],
          fields: [field('tenantId', 'Int'), field('sensor', 'String'), field('no', 'Int')],
        },
      },
    },
  };
  const compiled = compilePolicy({}, datamodel);
  if (!compiled.ok) throw new Error(compiled.message);
  const policy = compiled.value.forRoles([]);

  it('a @@unique of required fields is the key, under its Prisma name', () => {
    const sample = policy.models.get('Sample')!;
    expect(sample.primaryKey.map((f) => f.name)).toEqual(['sensor', 'no']);
    expect(sample.primaryKeyName).toBe('bySensorAndNo');
    const schema = buildSchema({
      datamodel: { datamodel: { models: { Sample: datamodel.datamodel.models.Sample } } },
      policy: { ...policy, models: new Map([['Sample', sample]]) },
      cursorSecret: 'x',
    });
    expect(
      schema
        .getQueryType()!
        .getFields()
        .sample?.args.map((arg) => `${arg.name}: ${arg.type}`),
    ).toEqual(['sensor: String!', 'no: Int!']);
  });

  it('with neither a key nor a usable unique: no key, no get, and a clear refusal', () => {
    expect(policy.models.get('Reading')?.primaryKey).toEqual([]);
    const described = describeSchema(policy, 'Reading');
    if (!described.ok) throw new Error(described.message);
    expect(described.value.models.Reading).toMatchObject({
      key: [],
      operations: ['query', 'aggregate'],
    });
    expect(() => new Translator(policy).get({ model: 'Reading', id: 1 })).toThrow(
      expect.objectContaining({
        code: 'VALIDATION_ERROR',
        message: 'Reading has no primary key or unique, so no single row can be named',
      }),
    );
  });
});

function field(name: string, type: string) {
  return {
    name,
    type,
    kind: 'scalar',
    isRequired: true,
    isList: false,
    isId: false,
    isUnique: false,
  };
}
