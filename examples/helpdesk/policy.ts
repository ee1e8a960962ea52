import type { Policy } from '../../src/policy/types.js';

/**
 * The helpdesk's policy. Organizations are the tenants: every table carries orgId (a uuid) except
 * comments, which take the tenant of their ticket. passwordHash is denied to everyone by the
 * default globs. agent and support disagree on purpose (agent: every ticket, no internal notes;
 * support: urgent and high-priority tickets only, with internal notes), so a principal holding both
 * shows how roles combine. examples/helpdesk/README.md has the table of what each role reads.
 */
export const helpdeskPolicy: Policy = {
  profile: 'prod',
  tenantField: 'orgId',
  models: {
    Organization: { tenantField: 'id' },
    // comments have a ticketOrgId column, but the ticket is what decides who sees them
    Comment: { scopeThrough: 'ticket' },
  },
  budgets: {
    // ticket → parent → requester is two relations deep
    maxIncludeDepth: 2,
    maxComplexity: 100_000,
  },
  roles: {
    admin: {},
    agent: {
      models: {
        Customer: { fields: { deny: ['phone'], mask: { email: true } } },
        Ticket: { fields: { deny: ['attachmentChecksum', 'internalNotes'] } },
        User: { fields: { hash: ['email'] } },
        Event: { hidden: true },
      },
    },
    support: {
      models: {
        Customer: { fields: { mask: { phone: true } } },
        Ticket: { rowFilter: { priority: { in: ['high', 'urgent'] } } },
      },
    },
    viewer: {
      models: {
        Customer: { hidden: true },
        User: { fields: { deny: ['email'] } },
        Ticket: {
          rowFilter: { status: { in: ['resolved', 'closed'] } },
          fields: { deny: ['attachmentChecksum', 'internalNotes', 'refundAmount', 'metadata'] },
        },
        Comment: { rowFilter: { internal: false } },
        Event: { hidden: true },
      },
    },
  },
  writes: {
    enabled: true,
    approvers: ['admin'],
    models: {
      Ticket: {
        agent: { update: { fields: ['status', 'tags'] } },
        support: {
          update: { fields: ['status', 'priority', 'assigneeId', 'tags'] },
          // soft (deletedAt), once an admin approves
          delete: { requireApproval: true },
        },
      },
      Label: {
        admin: {
          create: { fields: ['name', 'color'] },
          update: { fields: ['name', 'color'] },
          delete: { requireApproval: true, allowHardDelete: true },
        },
      },
    },
  },
  views: [
    {
      // counts over a compound-key relation (tickets) and an implicit many-to-many (labels)
      name: 'CustomerSummary',
      model: 'Customer',
      fields: ['id', 'name'],
      computed: { ticketCount: { count: 'tickets' }, labelCount: { count: 'labels' } },
    },
  ],
  audit: { readers: ['admin', 'support'] },
};
