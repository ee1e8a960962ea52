import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { OrmaiApp } from '../../src/app.js';
import { readPrismaSchema } from '../../src/prisma/read-schema.js';
import { PrismaClient } from './generated/prisma/client.js';
import { helpdeskPolicy } from './policy.js';
import {
  isSeeded,
  orgId,
  resetHelpdeskData,
  SEED_USER_ROLES,
  seedHelpdesk,
  userId,
} from './seed.js';

const here = dirname(fileURLToPath(import.meta.url));

/** The first user of each seeded role in each organization, for the dev tokens `ormai serve` prints. */
const devPrincipals = [1, 2, 3].flatMap((org) =>
  (['admin', 'agent', 'support', 'viewer'] as const).map((role) => ({
    sub: userId(org, SEED_USER_ROLES.indexOf(role) + 1),
    tenantId: orgId(org),
    roles: [role],
  })),
);

/** The helpdesk example: organizations as tenants, a composite-key ticket table, two schemas. */
export const helpdeskApp: OrmaiApp = {
  name: 'helpdesk',
  // read from the schema itself: Pothos's generated datamodel drops @@map/@map and @@schema
  datamodel: readPrismaSchema(join(here, 'prisma', 'schema.prisma')),
  migrationsDir: join(here, 'prisma', 'migrations'),
  createPrismaClient: (adapter, options) =>
    new PrismaClient({ adapter: adapter as never, ...options }) as never,
  policy: helpdeskPolicy,
  seed: { isSeeded, reset: resetHelpdeskData, run: seedHelpdesk },
  devPrincipals,
};
