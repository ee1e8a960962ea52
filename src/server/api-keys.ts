import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { SqlDriver } from '../db/database.js';
import type { Principal } from '../policy/principal.js';
import { unauthenticated } from './auth-errors.js';

/**
 * API keys for service agents: `ormai_sk_<id>_<secret>`, sent as `Authorization: Bearer <key>`.
 * The table keeps the SHA-256 of each key, never the key: a key is looked up by its id, then its
 * hash compared in constant time. Each key is one principal (sub, tenant, roles); it can expire
 * and be revoked. Nothing is cached: every request reads the key's row by its primary key, so a
 * revoked key is refused on the very next request, on every replica.
 */
export const API_KEY_PREFIX = 'ormai_sk_';
const KEY_SHAPE = /^ormai_sk_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;

export const isApiKey = (token: string) => token.startsWith(API_KEY_PREFIX);

/** A key as listed: everything but the key itself, which exists only in what `create` returned. */
export interface ApiKeyRecord {
  id: string;
  name: string | null;
  sub: string;
  tenantId: string | number | null;
  roles: string[];
  createdAt: Date;
  expiresAt: Date | null;
  revokedAt: Date | null;
}

export interface NewApiKey {
  sub: string;
  tenantId: string | number | null;
  roles: string[];
  name?: string | undefined;
  /** When it stops working; never when absent. */
  expiresAt?: Date | null | undefined;
}

interface ApiKeyRow {
  id: string;
  name: string | null;
  key_hash: string;
  sub: string;
  tenant_id: string | number | null;
  roles: string[];
  created_at: Date | string;
  expires_at: Date | string | null;
  revoked_at: Date | string | null;
}

const hashOf = (key: string) => createHash('sha256').update(key).digest();
const dateOf = (value: Date | string | null) => (value === null ? null : new Date(value));

const recordOf = (row: ApiKeyRow): ApiKeyRecord => ({
  id: row.id,
  name: row.name,
  sub: row.sub,
  tenantId: row.tenant_id,
  roles: row.roles,
  createdAt: new Date(row.created_at),
  expiresAt: dateOf(row.expires_at),
  revokedAt: dateOf(row.revoked_at),
});

const KEY_HINT =
  'send Authorization: Bearer ormai_sk_…, a key `ormai api-key create` printed; `ormai api-key list` shows which keys exist';

/** The keys of one `ormai_api_key` table. */
export class ApiKeyStore {
  constructor(
    private readonly sql: SqlDriver,
    /** The qualified table name (`ormaiTables().apiKey`). */
    private readonly table: string,
  ) {}

  /** A new key: returned once, stored only as its hash. */
  async create(input: NewApiKey): Promise<{ key: string; record: ApiKeyRecord }> {
    const id = randomBytes(8).toString('hex');
    const key = `${API_KEY_PREFIX}${id}_${randomBytes(32).toString('base64url')}`;
    const [row] = await this.sql.query<ApiKeyRow>(
      `INSERT INTO ${this.table} (id, name, key_hash, sub, tenant_id, roles, expires_at)
       VALUES ($1, $2, $3, $4, $5::jsonb, $6::jsonb, $7) RETURNING *`,
      [
        id,
        input.name ?? null,
        hashOf(key).toString('hex'),
        input.sub,
        JSON.stringify(input.tenantId),
        JSON.stringify(input.roles),
        input.expiresAt ? input.expiresAt.toISOString() : null,
      ],
    );
    return { key, record: recordOf(row!) };
  }

  /** Every key, oldest first (revoked and expired ones too: the list is also a record). */
  async list(): Promise<ApiKeyRecord[]> {
    const rows = await this.sql.query<ApiKeyRow>(
      `SELECT * FROM ${this.table} ORDER BY created_at, id`,
    );
    return rows.map(recordOf);
  }

  /** Revokes a key now; undefined when no key has that id. Revoking twice keeps the first time. */
  async revoke(id: string): Promise<ApiKeyRecord | undefined> {
    const [row] = await this.sql.query<ApiKeyRow>(
      `UPDATE ${this.table} SET revoked_at = COALESCE(revoked_at, now()) WHERE id = $1 RETURNING *`,
      [id],
    );
    return row ? recordOf(row) : undefined;
  }

  /** The principal of a key; AUTHENTICATION_REQUIRED (401) when it is unknown, revoked or expired. */
  async principalOf(key: string): Promise<Principal> {
    const shape = KEY_SHAPE.exec(key);
    if (!shape) throw unauthenticated('the API key is malformed', KEY_HINT);
    const [row] = await this.sql.query<ApiKeyRow>(`SELECT * FROM ${this.table} WHERE id = $1`, [
      shape[1],
    ]);
    // an unknown id and a wrong secret get the same answer: the id alone proves nothing
    const stored = row ? Buffer.from(row.key_hash, 'hex') : undefined;
    const given = hashOf(key);
    if (!row || stored!.length !== given.length || !timingSafeEqual(stored!, given)) {
      throw unauthenticated('the API key is not valid', KEY_HINT);
    }
    if (row.revoked_at !== null) {
      throw unauthenticated(
        `the API key ${row.id} was revoked`,
        'ask for a new key (`ormai api-key create`)',
      );
    }
    const expires = dateOf(row.expires_at);
    if (expires && expires.getTime() <= Date.now()) {
      throw unauthenticated(
        `the API key ${row.id} expired at ${expires.toISOString()}`,
        'ask for a new key (`ormai api-key create`)',
      );
    }
    return {
      sub: row.sub,
      tenantId: row.tenant_id,
      roles: row.roles,
      claims: { sub: row.sub, tenantId: row.tenant_id, roles: row.roles, apiKeyId: row.id },
    };
  }
}

/** `30d`, `12h`, `90m`, `3600s`, `2w`, `1y` → seconds. */
export function spanSeconds(span: string): number {
  const match =
    /^(\d+) ?(s|secs?|seconds?|m|mins?|minutes?|h|hrs?|hours?|d|days?|w|weeks?|y|yrs?|years?)$/i.exec(
      span.trim(),
    );
  if (!match) {
    throw new Error(`--expires takes a span like 30d, 12h or 90m (got ${JSON.stringify(span)})`);
  }
  const unit = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800, y: 31_557_600 }[
    match[2]![0]!.toLowerCase() as 's'
  ];
  return Number(match[1]) * unit;
}
