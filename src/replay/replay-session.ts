import type { OrmaiConfig } from '../config.js';
import { openRuntime, runtimeOptionsFromConfig } from '../runtime.js';
import { createOrmai, type Ormai } from '../server/create-ormai.js';
import { createLogger } from '../server/logger.js';
import { StartupError } from '../startup-error.js';
import type { CallResult } from './recorded-call.js';
import { rollbackAdapter, SequenceKeeper } from './rollback-adapter.js';

/**
 * Cursors are signed with the JWT secret: without a configured one, a replay signs with this, so
 * that two replays return the same cursors (a recorded cursor verifies only under the secret of
 * the server that issued it).
 */
const REPLAY_JWT_SECRET = 'ormai-replay-cursor-secret-not-for-tokens';

export interface ReplaySessionOptions {
  /** A PostgreSQL URL to replay against instead of the config's database. */
  databaseUrl?: string;
  env?: NodeJS.ProcessEnv;
  log?: (line: string) => void;
}

/** ormai over a database every write of which is rolled back, and how to put it back after a call. */
export interface ReplaySession {
  ormai: Ormai;
  /** Puts back what a call left outside its transaction: sequences, a queued approval request. */
  afterCall(result: CallResult | undefined): Promise<void>;
  close(): Promise<void>;
}

/**
 * Opens the config's app for a replay: the database prepared as `ormai serve` would (migrated, the
 * example seeded when empty), then served through a Prisma client whose transactions all roll
 * back. Nothing is audited and no rate limit is counted: the calls are not anyone's.
 */
export async function openReplaySession(
  config: OrmaiConfig,
  options: ReplaySessionOptions = {},
): Promise<ReplaySession> {
  const env: NodeJS.ProcessEnv = {
    ...(options.env ?? process.env),
    ...(options.databaseUrl ? { DATABASE_URL: options.databaseUrl } : {}),
  };
  if (!env.ORMAI_JWT_SECRET && !config.auth?.jwtSecret) env.ORMAI_JWT_SECRET = REPLAY_JWT_SECRET;
  const runtime = await openRuntime(config.app, {
    ...runtimeOptionsFromConfig(config, env),
    ...(options.log ? { log: options.log } : {}),
  });
  try {
    if (!runtime.db.adapter || !config.app.createPrismaClient) {
      throw new StartupError(
        'REPLAY_UNSUPPORTED',
        `the app ${config.app.name} gives ormai no PrismaClient to replay through`,
        { hints: ['set app.createPrismaClient in the config'] },
      );
    }
    const prisma = config.app.createPrismaClient(rollbackAdapter(runtime.db.adapter)) as never;
    const ormai = await createOrmai(
      {
        ...config,
        // prepared above; a migration run through this client would roll back
        database: { ...config.database, applyMigrations: false },
        audit: { ...config.audit, sinks: [] },
        rateLimits: undefined,
        metrics: { ...config.metrics, enabled: false },
      },
      // the client is over the runtime's adapter, which plans every budgeted read
      { prisma, plannedAdapter: true, env, logger: createLogger('silent') },
    );
    const sequences = new SequenceKeeper(runtime.db.sql, runtime.db.schema);
    await sequences.save();
    return {
      ormai,
      async afterCall(result) {
        await sequences.restore();
        // a queued approval request is written outside any transaction
        if (result?.approval_id) {
          await runtime.db.sql.query(
            `DELETE FROM ${runtime.tables.approvalRequest} WHERE id = $1`,
            [result.approval_id],
          );
        }
      },
      async close() {
        try {
          await ormai.close();
          await (prisma as { $disconnect?: () => Promise<void> }).$disconnect?.();
        } finally {
          await runtime.close();
        }
      },
    };
  } catch (error) {
    await runtime.close();
    throw error;
  }
}
