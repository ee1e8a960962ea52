import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { OrmaiApp } from '../../src/app.js';
import { readPrismaSchema } from '../../src/prisma/read-schema.js';
import { saasDomainTools } from './domain-tools.js';
import { PrismaClient } from './generated/prisma/client.js';
import { saasPolicy } from './policy.js';
import { isSeeded, resetExampleData, seedExample } from './seed.js';

const here = dirname(fileURLToPath(import.meta.url));

/** The multi-tenant example: its Prisma client, migrations, seed and policy. */
export const saasApp: OrmaiApp = {
  name: 'saas',
  // read from the schema itself: Pothos's generated datamodel leaves out table and column names,
  // without which a read cannot be compiled into one statement (src/data-access/json-read.ts)
  datamodel: readPrismaSchema(join(here, 'prisma', 'schema.prisma')),
  migrationsDir: join(here, 'prisma', 'migrations'),
  createPrismaClient: (adapter, options) =>
    new PrismaClient({ adapter: adapter as never, ...options }) as never,
  policy: saasPolicy,
  domainTools: saasDomainTools,
  seed: { isSeeded, reset: resetExampleData, run: seedExample },
  devPrincipals: [
    { sub: '1', tenantId: 1, roles: ['admin'] },
    { sub: '3', tenantId: 1, roles: ['support'] },
    { sub: '6', tenantId: 1, roles: ['sales'] },
    { sub: '1', tenantId: 1, roles: ['agent'] },
    { sub: '11', tenantId: 2, roles: ['admin'] },
    { sub: '13', tenantId: 2, roles: ['support'] },
    { sub: '16', tenantId: 2, roles: ['sales'] },
    { sub: '11', tenantId: 2, roles: ['agent'] },
    { sub: '21', tenantId: 3, roles: ['admin'] },
    { sub: '23', tenantId: 3, roles: ['support'] },
    { sub: '26', tenantId: 3, roles: ['sales'] },
    { sub: '21', tenantId: 3, roles: ['agent'] },
  ],
};
