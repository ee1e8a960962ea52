import { createHash } from 'node:crypto';
import { canonicalJson, isDecimal, toJsonValue } from '../json-value.js';

export { canonicalJson };

/** One audit record (CONTRACT §9): one per GraphQL operation and per MCP tool call. */
export interface AuditRecord {
  /** Assigned by the sink that stores it (the table's id, a line number in a file). */
  id?: number | string;
  ts: string;
  trace_id: string;
  surface: 'graphql' | 'mcp';
  operation: string;
  model: string | null;
  principal_sub: string | null;
  tenant_id: string | null;
  roles: string[];
  inputs: unknown;
  decisions: unknown;
  row_count: number | null;
  affected_rows: number | null;
  duration_ms: number;
  outcome: 'ok' | 'error';
  error_code: string | null;
  reason: string | null;
  before: unknown;
  after: unknown;
  approval_id: string | null;
  /**
   * The version of the policy the call ran under (`PolicyEngine.version`); null or absent in
   * records written before it was recorded.
   */
  policy_version: string | null;
  /**
   * `resultDigest` of what the call returned (GraphQL: the response's `data`, null when absent;
   * MCP: the tool result's `structuredContent`); null for an MCP error result (its content
   * carries the call's trace id), a refused request, a write recorded in its transaction, and in
   * older records.
   */
  result_digest: string | null;
  prev_hash: string;
  hash: string;
  /**
   * The chain the record extends, where a store keeps several (the table: one per writing
   * process, so replicas never take turns); absent or null for a store with one chain. Like `id`
   * it is not hashed: the links bind a record to its place, and moving it breaks them.
   */
  chain_id?: string | null;
}

/** A record before it is chained: the sink sets prev_hash and hash when it stores it. */
export type AuditEntry = Omit<AuditRecord, 'id' | 'prev_hash' | 'hash' | 'chain_id'>;

export const GENESIS_HASH = '0'.repeat(64);

/**
 * The canonical content of entries already hashed: every sink hashes the same entry object (on a
 * chain of its own), and the canonical JSON is most of a hash's cost. Entries are not changed once
 * accepted.
 */
const canonicalContent = new WeakMap<AuditEntry, string>();

/** The hash chain: sha256(prev_hash + canonical JSON of the record's content). */
export function chainHash(prevHash: string, entry: AuditEntry): string {
  let content = canonicalContent.get(entry);
  if (content === undefined) {
    content = canonicalJson(contentOf(entry));
    canonicalContent.set(entry, content);
  }
  return createHash('sha256').update(prevHash).update(content).digest('hex');
}

/** The fields a hash covers: everything but the storage id, the chain and the chain fields. */
export function contentOf(record: AuditEntry | AuditRecord): AuditEntry {
  const {
    id: _id,
    prev_hash: _prev,
    hash: _hash,
    chain_id: _chain,
    ...content
  } = record as AuditRecord;
  const hashed: AuditEntry = {
    ...content,
    // timestamps compare as instants whatever a database did to their text
    ts: new Date(content.ts).toISOString(),
  };
  // columns added later are hashed only when set, so records written before them still verify
  for (const column of LATER_COLUMNS) {
    if (hashed[column] === null || hashed[column] === undefined)
      Reflect.deleteProperty(hashed, column);
  }
  return hashed;
}

const LATER_COLUMNS = ['policy_version', 'result_digest'] as const;

/**
 * The digest of a call's result: sha256 (hex) of its JSON as the answer carries it, keys in the
 * order the operation selected them. What is digested: a GraphQL response's `data` (null when
 * absent), a successful MCP tool result's `structuredContent` (an error result has no digest).
 * Record, replay and diff compare these. The same operation answers with the same key order
 * whichever way it is executed (a compiled read's text is the executor's, byte for byte), so the
 * keys are not sorted: sorting cost more than the rest of a read's audit record together.
 */
export function resultDigest(value: unknown): string {
  let json: string | undefined;
  try {
    json = JSON.stringify(value);
  } catch {
    // a value JSON cannot hold as it is (a BigInt a resolver left raw)
  }
  return sha256(json ?? canonicalJson(value));
}

/** `resultDigest` of a value whose `JSON.stringify` the caller has already (the response's). */
export function digestOfJson(json: string): string {
  return sha256(json);
}

/**
 * Whether a recorded digest is this result's: as `resultDigest` has it, or as earlier versions
 * recorded it (sha256 of the canonical JSON, keys sorted).
 */
export function digestMatches(recorded: string, value: unknown): boolean {
  return recorded === resultDigest(value) || recorded === sha256(canonicalJson(value));
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/**
 * The entry with every free-form part as plain JSON: BigInt and Decimal values as decimal strings,
 * Bytes as base64, dates as ISO strings (as GraphQL returns them), so every sink can store it and
 * its hash reads the same after a round trip through JSON.
 */
export function asJsonEntry(entry: AuditEntry): AuditEntry {
  return {
    ...entry,
    inputs: toJsonValue(entry.inputs) ?? null,
    decisions: toJsonValue(entry.decisions) ?? null,
    before: toJsonValue(entry.before) ?? null,
    after: toJsonValue(entry.after) ?? null,
  };
}

const SECRET_KEY =
  /password|passwd|secret|token|api_?key|apikey|credential|ssn|card|cvv|jwt|session|authorization/i;

/** Inputs as recorded: values under secret-looking keys become "[REDACTED]" at any depth; email is kept. */
export function sanitizeInputs(value: unknown, depth = 0): unknown {
  if (depth > 20) return '[TRUNCATED]';
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Date || value instanceof Uint8Array || isDecimal(value))
    return toJsonValue(value);
  if (Array.isArray(value)) return value.map((item) => sanitizeInputs(item, depth + 1));
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>).map(([key, inner]) => [
        key,
        SECRET_KEY.test(key) ? '[REDACTED]' : sanitizeInputs(inner, depth + 1),
      ]),
    );
  }
  return value;
}

export interface VerifyResult {
  ok: boolean;
  checked: number;
  /** How many chains the records form (one per `chain_id`). */
  chains: number;
  /** The first record whose link is broken, and why. */
  broken?: { id: number | string; reason: string };
}

/**
 * Walks the records in storage order, each chain on its own (records with one `chain_id`, or all
 * of them in a store with one chain): each record's prev_hash must be the hash of the record before
 * it on its chain (the genesis hash for a chain's first), and its hash must match its content. An
 * edited record fails its own hash; a deleted, reordered or moved one breaks the next link.
 */
export function verifyChain(records: Iterable<AuditRecord>): VerifyResult {
  const heads = new Map<string | null, string>();
  let checked = 0;
  for (const record of records) {
    const id = record.id ?? checked + 1;
    const chain = record.chain_id ?? null;
    if (record.prev_hash !== (heads.get(chain) ?? GENESIS_HASH)) {
      return {
        ok: false,
        checked,
        chains: heads.size,
        broken: {
          id,
          reason:
            'prev_hash does not match the previous record: a record before it is missing or was changed',
        },
      };
    }
    if (chainHash(record.prev_hash, contentOf(record)) !== record.hash) {
      return {
        ok: false,
        checked,
        chains: heads.size,
        broken: { id, reason: 'hash does not match its content: the record was changed' },
      };
    }
    heads.set(chain, record.hash);
    checked++;
  }
  return { ok: true, checked, chains: heads.size };
}
