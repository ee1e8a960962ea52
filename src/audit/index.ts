export { AuditLog, type AuditLogOptions, AuditUnavailableError } from './audit-log.js';
export { type CallFacts, decisionsFor, entryFor } from './entries.js';
export {
  type AuditEntry,
  type AuditRecord,
  canonicalJson,
  chainHash,
  digestMatches,
  GENESIS_HASH,
  resultDigest,
  sanitizeInputs,
  type VerifyResult,
  verifyChain,
} from './record.js';
export {
  type AuditSink,
  JsonlAuditSink,
  MemoryAuditSink,
  SqlAuditSink,
  writeChained,
} from './sinks.js';
