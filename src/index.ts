// The public API of ormai, as a list you can read.
export type { OrmaiApp, PrismaClientOptions, PrismaLifecycle } from './app.js';
export { DEFAULT_CONFIG_FILE, defineConfig, loadConfig, type OrmaiConfig } from './config.js';
export {
  type Database,
  type DatabaseOptions,
  openDatabase,
  type SqlDriver,
} from './db/database.js';
export { MigrationChecksumError, migrate, readMigrations } from './db/migrate.js';
export { type ErrorCode, OrmaiError, type OrmaiErrorOptions } from './errors.js';
export {
  type CompiledModel,
  type CompiledPolicy,
  type CompiledRelation,
  compilePolicy,
} from './policy/compile-policy.js';
export type { Datamodel } from './policy/datamodel.js';
export { DEFAULT_BUDGETS, DEFAULT_DENY_GLOBS } from './policy/defaults.js';
export type { Principal } from './policy/principal.js';
export { rowScope } from './policy/row-scope.js';
export { type Policy, policySchema } from './policy/types.js';
export { openRuntime, type Runtime, type RuntimeOptions } from './runtime.js';
export { type BuildSchemaOptions, buildSchema } from './schema/build-schema.js';
export type { OrmaiContext } from './schema/context.js';
export type { NamingOptions } from './schema/naming.js';
export { principalFromAuthorization, signToken, verifyToken } from './server/auth.js';
export { createGateway, type Gateway, type GatewayOptions } from './server/gateway.js';
export { type RunningServer, startHttpServer } from './server/http-server.js';
