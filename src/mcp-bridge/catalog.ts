import type { GraphQLSchema } from 'graphql';
import type { DomainTool } from '../app.js';
import type { CompiledPolicy } from '../policy/compile-policy.js';
import type { Principal } from '../policy/principal.js';
import { domainToolsFor, type PreparedDomainTool, prepareDomainTools } from './domain-tools.js';
import type { McpBridgeOptions } from './options.js';
import {
  aliasName,
  assertToolNames,
  DEFAULT_TOOL_NAME_STYLE,
  listedName,
  mentionsIn,
  type ToolNameStyle,
} from './tool-names.js';
import { READ_TOOLS, readTools, type ToolDefinition, WRITE_TOOLS, writeTools } from './tools.js';

/** One tool a principal is offered, under the names it is listed and called by. */
export interface CatalogEntry {
  /** OrmAI's name (`db.query`, `orders.recent_for_customer`): what the bridge runs. */
  name: string;
  /** The name it is listed under; audit records and logs use it, whichever name was called. */
  listed: string;
  /** The other style's name, accepted by tools/call but not listed. */
  alias: string;
  /** The definition as listed (name and description in the listed style). */
  definition: ToolDefinition;
  /** For a domain tool: its parsed operation. */
  domain?: PreparedDomainTool;
}

type CatalogOptions = Pick<
  McpBridgeOptions,
  'policyFor' | 'schemaFor' | 'domainTools' | 'toolNames'
>;

// Over HTTP a server is made for every request (stateless), so what depends only on the
// configuration, a compiled policy or a schema — all immutable — is computed once and shared.
const preparedCache = new WeakMap<DomainTool[], PreparedDomainTool[]>();
const policyToolsCache = new WeakMap<CompiledPolicy, ToolDefinition[]>();
const domainToolsCache = new WeakMap<
  PreparedDomainTool[],
  WeakMap<GraphQLSchema, ToolDefinition[]>
>();
const entriesCache = new WeakMap<ToolDefinition[], Map<ToolNameStyle, CatalogEntry[]>>();

/** The cached value of a key, computed on first use. */
function memo<K, V>(
  cache: { get(key: K): V | undefined; set(key: K, value: V): unknown },
  key: K,
  compute: () => V,
): V {
  let value = cache.get(key);
  if (value === undefined) {
    value = compute();
    cache.set(key, value);
  }
  return value;
}

/**
 * The domain tools parsed, and every tool name checked (no two tools one function name, none
 * longer than 64). `ormai serve` calls it at start, so a bad name stops the server there.
 */
export function preparedDomainTools(tools: DomainTool[] | undefined): PreparedDomainTool[] {
  if (!tools) return [];
  return memo(preparedCache, tools, () => {
    assertToolNames([...READ_TOOLS, ...WRITE_TOOLS, ...tools.map((tool) => tool.name)]);
    return prepareDomainTools(tools);
  });
}

function policyTools(policy: CompiledPolicy): ToolDefinition[] {
  return memo(policyToolsCache, policy, () => [...readTools(policy), ...writeTools(policy)]);
}

/** The domain tools a schema validates (validating every document is the costly part). */
function domainToolsOf(prepared: PreparedDomainTool[], schema: GraphQLSchema): ToolDefinition[] {
  const bySchema = memo(domainToolsCache, prepared, () => new WeakMap());
  return memo(bySchema, schema, () => domainToolsFor(prepared, schema));
}

/** Definitions under a style's names (cached per definitions list, which is itself cached). */
function entriesOf(
  definitions: ToolDefinition[],
  style: ToolNameStyle,
  prepared: PreparedDomainTool[],
): CatalogEntry[] {
  const byStyle = memo(entriesCache, definitions, () => new Map());
  return memo(byStyle, style, () =>
    definitions.map((definition) => {
      const listed = listedName(definition.name, style);
      const domain = prepared.find((candidate) => candidate.tool.name === definition.name);
      return {
        name: definition.name,
        listed,
        alias: aliasName(definition.name, style),
        definition: {
          ...definition,
          name: listed,
          description: mentionsIn(definition.description, style),
        },
        ...(domain ? { domain } : {}),
      };
    }),
  );
}

/**
 * The tools a principal is offered: the db.* tools its roles may use and the domain tools its
 * schema validates. They depend on the roles only, never on the tenant or the subject.
 */
export function toolCatalog(options: CatalogOptions, principal: Principal): CatalogEntry[] {
  const style = options.toolNames ?? DEFAULT_TOOL_NAME_STYLE;
  const prepared = preparedDomainTools(options.domainTools);
  const domain =
    options.schemaFor && prepared.length > 0
      ? entriesOf(domainToolsOf(prepared, options.schemaFor(principal)), style, prepared)
      : [];
  return [...entriesOf(policyTools(options.policyFor(principal)), style, prepared), ...domain];
}

/** tools/list: the tools a principal is offered, as listed. */
export function listTools(options: CatalogOptions, principal: Principal): ToolDefinition[] {
  return toolCatalog(options, principal).map((entry) => entry.definition);
}

/** The tool a name calls, by its listed name or its alias; undefined when the principal has none. */
export function findTool(
  options: CatalogOptions,
  principal: Principal,
  name: string,
): CatalogEntry | undefined {
  return toolCatalog(options, principal).find(
    (entry) => entry.listed === name || entry.alias === name,
  );
}
