// The public API of ormai, as a list you can read.
export type { DomainTool, OrmaiApp, PrismaClientOptions, PrismaLifecycle } from './app.js';
export {
  DEFAULT_CONFIG_FILE,
  defineConfig,
  loadConfig,
  type OrmaiConfig,
  type OrmaiPaths,
} from './config.js';
export { plannerBudgetAdapter } from './data-access/index.js';
export {
  type Database,
  type DatabaseOptions,
  databaseOverPrisma,
  EmbeddedDatabaseDamagedError,
  openDatabase,
  type RawSqlClient,
  type SqlDriver,
} from './db/database.js';
export { EmbeddedDatabaseInUseError, type EmbeddedLockHolder } from './db/embedded-lock.js';
export {
  MigrationChecksumError,
  migrate,
  migrateOrmai,
  readMigrations,
} from './db/migrate.js';
export { DEFAULT_ORMAI_SCHEMA, type OrmaiTables, ormaiTables } from './db/ormai-tables.js';
export { type ErrorCode, OrmaiError, type OrmaiErrorOptions } from './errors.js';
export { PolicyBuilder, RoleBuilder } from './policy/builder.js';
export { checkPolicy, type Finding, formatFinding } from './policy/check-policy.js';
export {
  type CompiledModel,
  type CompiledPolicy,
  type CompiledRelation,
  compilePolicy,
  type PolicyEngine,
} from './policy/compile-policy.js';
export type { Datamodel } from './policy/datamodel.js';
export { DEFAULT_BUDGETS, DEFAULT_DENY_GLOBS, PROFILE_BUDGETS } from './policy/defaults.js';
export { describeSchema, type SchemaDescription } from './policy/describe.js';
export { explainPolicy } from './policy/explain.js';
export type { Principal } from './policy/principal.js';
export { hashValue, maskValue, type Redaction } from './policy/redaction.js';
export { rowScope } from './policy/row-scope.js';
export {
  type Budgets,
  definePolicy,
  type Policy,
  policySchema,
  type ViewPolicy,
} from './policy/types.js';
export { readPrismaSchema } from './prisma/read-schema.js';
export { openRuntime, type Runtime, type RuntimeOptions } from './runtime.js';
export {
  type ApprovalDecision,
  type ApprovalGate,
  type ApprovalInput,
  approvalCallback,
  autoApprove,
  queueApprovals,
} from './schema/approval-gate.js';
export { type BuildSchemaOptions, buildSchema } from './schema/build-schema.js';
export type { OrmaiContext } from './schema/context.js';
export type { NamingOptions } from './schema/naming.js';
export { verifySchema } from './schema/verify-schema.js';
export { principalFromAuthorization, signToken, verifyToken } from './server/auth.js';
export {
  type CreateOrmaiOptions,
  createOrmai,
  type Ormai,
  type ReloadResult,
} from './server/create-ormai.js';
export { createGateway, type Gateway, type GatewayOptions } from './server/gateway.js';
export type { ReloadableApp } from './server/hot-reload.js';
export {
  listen,
  type RunningServer,
  startHttpServer,
  toNodeHandler,
} from './server/http-server.js';
export { createRouter, DEFAULT_PATHS, type FetchHandler } from './server/router.js';
