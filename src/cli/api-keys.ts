import { Command } from 'commander';
import { DEFAULT_CONFIG_FILE, loadConfig, type OrmaiConfig } from '../config.js';
import { openDatabase } from '../db/database.js';
import { migrateOrmai } from '../db/migrate.js';
import { ormaiTables } from '../db/ormai-tables.js';
import { runtimeOptionsFromConfig } from '../runtime.js';
import { type ApiKeyRecord, ApiKeyStore, spanSeconds } from '../server/api-keys.js';

type Print = (line?: string) => void;

/**
 * Runs `work` with the API keys of the config's database: ormai's own tables only (created when
 * missing, as `ormai migrate` does), never the app's. The embedded database is one process's:
 * while `ormai serve` holds it, stop the server first (or use PostgreSQL).
 */
async function withApiKeys<T>(
  configFile: string,
  work: (store: ApiKeyStore, config: OrmaiConfig) => Promise<T>,
) {
  const config = await loadConfig(configFile);
  const options = runtimeOptionsFromConfig(config);
  const tables = ormaiTables(options.ormaiSchema);
  const db = options.databaseUrl
    ? await openDatabase({
        kind: 'postgres',
        url: options.databaseUrl,
        schema: options.schema,
        poolSize: 1,
      })
    : await openDatabase({ kind: 'pglite', dataDir: options.dataDir });
  try {
    await migrateOrmai(db.sql, tables);
    return await work(new ApiKeyStore(db.sql, tables.apiKey), config);
  } finally {
    await db.close();
  }
}

const statusOf = (key: ApiKeyRecord, now = Date.now()) =>
  key.revokedAt
    ? 'revoked'
    : key.expiresAt && key.expiresAt.getTime() <= now
      ? 'expired'
      : 'active';

const describeKey = (key: ApiKeyRecord) =>
  `sub ${key.sub}, tenant ${key.tenantId ?? '(none)'}, roles ${key.roles.join(',')}`;

/** `ormai api-key create | list | revoke`: API keys of service agents, each one principal. */
export function apiKeyCommand(print: Print): Command {
  const command = new Command('api-key').description(
    'create, list and revoke API keys for service agents (sent as Authorization: Bearer ormai_sk_…)',
  );

  command
    .command('create')
    .description('create a key for one principal and print it once (only its hash is stored)')
    .option('-c, --config <file>', 'config file', DEFAULT_CONFIG_FILE)
    .requiredOption('--sub <id>', 'the principal’s user id (sub)')
    .option('--tenant <id>', 'the principal’s tenant id')
    .requiredOption('--roles <roles>', 'comma-separated roles of the policy')
    .option('--name <name>', 'what the key is for, shown by list')
    .option('--expires <span>', 'lifetime, e.g. 30d, 12h or 90m (default: never)')
    .action(
      async (opts: {
        config: string;
        sub: string;
        tenant?: string;
        roles: string;
        name?: string;
        expires?: string;
      }) => {
        const roles = opts.roles
          .split(',')
          .map((role) => role.trim())
          .filter(Boolean);
        // checked before the database is opened: a key no request could use is not made
        const expiresAt = opts.expires
          ? new Date(Date.now() + spanSeconds(opts.expires) * 1000)
          : null;
        await withApiKeys(opts.config, async (store, config) => {
          const policyRoles = Object.keys(config.app.policy.roles ?? {});
          const unknown = roles.filter((role) => !policyRoles.includes(role));
          if (roles.length === 0 || (policyRoles.length > 0 && unknown.length > 0)) {
            throw new Error(
              `${roles.length === 0 ? '--roles names no role' : `--roles names roles the policy does not have: ${unknown.join(', ')}`}; the policy's roles are ${policyRoles.join(', ')}`,
            );
          }
          const tenantId =
            opts.tenant === undefined
              ? null
              : /^\d+$/.test(opts.tenant)
                ? Number(opts.tenant)
                : opts.tenant;
          const { key, record } = await store.create({
            sub: opts.sub,
            tenantId,
            roles,
            name: opts.name,
            expiresAt,
          });
          print(
            `created API key ${record.id}${record.name ? ` (${record.name})` : ''}: ${describeKey(record)}, expires ${record.expiresAt?.toISOString() ?? 'never'}`,
          );
          print(key);
          print('Keep it now: only its hash is stored, so it cannot be shown again.');
        });
      },
    );

  command
    .command('list')
    .description('every key: id, status, principal, name, created and expiry (never the key)')
    .option('-c, --config <file>', 'config file', DEFAULT_CONFIG_FILE)
    .action(async (opts: { config: string }) => {
      await withApiKeys(opts.config, async (store) => {
        const keys = await store.list();
        if (keys.length === 0) print('no API keys');
        for (const key of keys) {
          print(
            `${key.id} ${statusOf(key).padEnd(7)} ${describeKey(key)}${key.name ? ` "${key.name}"` : ''} created ${key.createdAt.toISOString()} expires ${key.expiresAt?.toISOString() ?? 'never'}${key.revokedAt ? ` revoked ${key.revokedAt.toISOString()}` : ''}`,
          );
        }
      });
    });

  command
    .command('revoke <id>')
    .description('revoke a key: refused from the next request on')
    .option('-c, --config <file>', 'config file', DEFAULT_CONFIG_FILE)
    .action(async (id: string, opts: { config: string }) => {
      await withApiKeys(opts.config, async (store) => {
        // the whole key names its id too (a leaked key can be revoked as it was found)
        const key = await store.revoke(/^ormai_sk_([0-9a-f]{16})_/.exec(id)?.[1] ?? id);
        if (!key) throw new Error(`no API key has the id ${id} (see \`ormai api-key list\`)`);
        print(`revoked API key ${key.id} (${describeKey(key)}) at ${key.revokedAt!.toISOString()}`);
      });
    });

  return command;
}
