// findLeaks: what a response gave a principal that its policy forbids, decided against the database
// itself. A row of another tenant (by the values the response carries, matched with raw SQL on the
// app's tables), a field or model the principal's roles may not read, the raw value of a masked or
// hashed field, and a list longer than the role's page budget.

import { findTool } from '../mcp-bridge/catalog.js';
import type { CompiledModel, CompiledPolicy } from '../policy/compile-policy.js';
import type { Principal } from '../policy/principal.js';
import { redact } from '../policy/redaction.js';
import type { Runtime } from '../runtime.js';
import type { Ormai } from '../server/create-ormai.js';
import { comparableText, GroundTruth } from './ground-truth.js';
import {
  type FoundObject,
  graphqlObjects,
  mcpObjects,
  type ResponseObjects,
} from './response-objects.js';

/** One call and what it answered: a GraphQL operation's `data`, or an MCP tool's result. */
export type LeakCheckCall =
  | {
      surface: 'graphql';
      document: string;
      variables?: Record<string, unknown>;
      operationName?: string | null;
      /** The response's `data` (null or absent when it failed). */
      data: unknown;
    }
  | {
      surface: 'mcp';
      /** The tool's name as listed (`db_query`) or called (`db.query`), or a domain tool's. */
      tool: string;
      arguments: Record<string, unknown>;
      /** The tool result (`{ structuredContent, isError }`) or its `structuredContent` alone. */
      result: unknown;
    };

export interface Leak {
  kind: 'tenant' | 'denied-field' | 'raw-redacted' | 'budget';
  /** The model of the offending row or list; null when the response names none. */
  model: string | null;
  /** Where in the response: `orders.nodes[3].customer`, `data[0].email`. */
  path: string;
  message: string;
}

/** The principal a call ran for; `claims` defaults to none. */
export type LeakPrincipal = Pick<Principal, 'sub' | 'tenantId' | 'roles'> & {
  claims?: Principal['claims'];
};

/** What findLeaks reads of ormai: the gateway (schemas, policy) and the runtime (datamodel, SQL). */
export type LeakSource = Pick<Ormai, 'gateway' | 'runtime'>;

const truths = new WeakMap<object, GroundTruth>();

/** The ground truth of a runtime's database (its table lookups cached with it). */
export function truthOf(runtime: Pick<Runtime, 'db' | 'app'>): GroundTruth {
  let truth = truths.get(runtime);
  if (!truth) {
    truth = new GroundTruth(runtime.db.sql, runtime.app.datamodel, runtime.db.schema);
    truths.set(runtime, truth);
  }
  return truth;
}

export const asPrincipal = (principal: LeakPrincipal): Principal => ({
  sub: String(principal.sub),
  tenantId: principal.tenantId,
  roles: [...principal.roles],
  claims: principal.claims ?? {},
});

/** The objects and lists a call's answer holds, read with the principal's schema and policy. */
export function responseObjects(
  source: LeakSource,
  principal: Principal,
  call: LeakCheckCall,
): ResponseObjects {
  const { gateway, runtime } = source;
  const policy = gateway.policyFor(principal);
  const datamodel = runtime.app.datamodel;
  if (call.surface === 'graphql') {
    return graphqlObjects(
      gateway.schemaFor(principal),
      datamodel,
      policy,
      call.document,
      call.data,
      call.operationName,
    );
  }
  const none: ResponseObjects = { objects: [], lists: [], writes: false };
  const result = call.result as { structuredContent?: unknown; isError?: boolean } | null;
  if (result && typeof result === 'object' && result.isError) return none;
  const structured =
    result && typeof result === 'object' && 'structuredContent' in result
      ? result.structuredContent
      : result;
  const tool = findTool(
    {
      policyFor: gateway.policyFor,
      schemaFor: gateway.schemaFor,
      domainTools: runtime.app.domainTools ?? [],
    },
    principal,
    call.tool,
  );
  if (!tool) return none;
  if (tool.domain) {
    return graphqlObjects(
      gateway.schemaFor(principal),
      datamodel,
      policy,
      tool.domain.tool.document,
      structured,
    );
  }
  return mcpObjects(datamodel, policy, tool.name, call.arguments, structured);
}

/**
 * What an answer gave the principal that its policy forbids, each with its path: rows of another
 * tenant, denied fields or models, raw values of masked or hashed fields, lists over `maxTake`.
 *
 * A row need not carry its key: it belongs to another tenant when no row of the principal's tenant
 * holds the values it carries (all together, or any one of them) while a row of another tenant
 * does — a fact of the database, so nothing is reported on a guess. For a write's answer only the
 * key is compared (the row may have changed since, or been rolled back). Run it while the database
 * holds what the call saw.
 */
export async function findLeaks(
  ormai: LeakSource,
  principal: LeakPrincipal,
  call: LeakCheckCall,
): Promise<Leak[]> {
  const who = asPrincipal(principal);
  const policy = ormai.gateway.policyFor(who);
  const found = responseObjects(ormai, who, call);
  const leaks: Leak[] = [];
  leaks.push(...budgetLeaks(found, policy));
  leaks.push(...deniedLeaks(found, who));
  const truth = truthOf(ormai.runtime);
  leaks.push(...(await redactedLeaks(found, policy, truth)));
  // the tenant scope is the same for every role: read from the policy compiled for all of them
  const engine = ormai.runtime.policy;
  const scopes = engine.forRoles(engine.declaredRoles).models;
  leaks.push(...(await tenantLeaks(found, scopes, who.tenantId, truth)));
  return leaks;
}

function budgetLeaks(found: ResponseObjects, policy: CompiledPolicy): Leak[] {
  const limit = policy.budgets.maxTake;
  return found.lists
    .filter((list) => list.length > limit)
    .map((list) => ({
      kind: 'budget' as const,
      model: list.model,
      path: list.path,
      message: `${list.length} rows in one list, over the budget of ${limit} (maxTake)`,
    }));
}

function deniedLeaks(found: ResponseObjects, principal: Principal): Leak[] {
  const roles = principal.roles.join(', ') || '(none)';
  const leaks: Leak[] = [];
  for (const object of found.objects) {
    if (object.hiddenModel) {
      leaks.push({
        kind: 'denied-field',
        model: object.model,
        path: object.path,
        message: `a row of ${object.model}, a model the roles ${roles} may not read`,
      });
    }
    for (const field of object.denied) {
      leaks.push({
        kind: 'denied-field',
        model: object.model,
        path: joinField(object.path, field),
        message: `${object.model}.${field}, a field the roles ${roles} may not read`,
      });
    }
  }
  return leaks;
}

const joinField = (path: string, field: string) => (path ? `${path}.${field}` : field);

/**
 * A masked or hashed field whose value is some row's raw value of that column (and not what the
 * redaction makes of it). A field whose redaction differs row by row (`byRole`: plain on the rows
 * one role sees, masked on the others) is left out: a raw value may be its right answer.
 */
async function redactedLeaks(
  found: ResponseObjects,
  policy: CompiledPolicy,
  truth: GroundTruth,
): Promise<Leak[]> {
  const candidates = new Map<string, { object: FoundObject; field: string; text: string }[]>();
  for (const object of found.objects) {
    const compiled = policy.models.get(object.model);
    if (!compiled) continue;
    for (const [field, value] of Object.entries(object.values)) {
      const rule = compiled.fields.get(field);
      if (!rule?.redaction || rule.byRole || value === null || value === undefined) continue;
      const text = typeof value === 'object' ? JSON.stringify(value) : String(value);
      // a value its own redaction leaves unchanged says nothing (`**`, `****`)
      if (redact(text, rule.redaction, policy.hashKey) === text) continue;
      const key = `${object.model}\u0000${field}`;
      candidates.set(key, [...(candidates.get(key) ?? []), { object, field, text }]);
    }
  }
  const leaks: Leak[] = [];
  for (const [key, items] of candidates) {
    const [model, field] = key.split('\u0000') as [string, string];
    const column = await truth.column(model, field);
    if (!column) continue;
    const texts = [...new Set(items.map((item) => item.text))].filter(
      (text) => comparableText(text, column) != null,
    );
    const raw = await truth.rawValuesAmong(model, field, texts);
    for (const item of items) {
      if (!raw.has(item.text)) continue;
      leaks.push({
        kind: 'raw-redacted',
        model,
        path: joinField(item.object.path, field),
        message: `${model}.${field} is ${policy.models.get(model)!.fields.get(field)!.redaction!.kind}ed for these roles, but the answer holds a raw value of it`,
      });
    }
  }
  return leaks;
}

/** Rows of tenant-scoped models that the database places in another tenant only. */
async function tenantLeaks(
  found: ResponseObjects,
  scopes: Map<string, CompiledModel>,
  tenantId: string | number | null,
  truth: GroundTruth,
): Promise<Leak[]> {
  const byModel = new Map<string, FoundObject[]>();
  for (const object of found.objects) {
    const scope = scopes.get(object.model);
    if (!scope || !truth.isTenantScoped(scope)) continue;
    byModel.set(object.model, [...(byModel.get(object.model) ?? []), object]);
  }
  const tenant = tenantId === null ? 'no tenant' : `tenant ${tenantId}`;
  const leaks: Leak[] = [];
  for (const [model, objects] of byModel) {
    const scope = scopes.get(model)!;
    const key = scope.primaryKey.map((field) => field.name);
    const comparable: { object: FoundObject; values: Record<string, string | null> }[] = [];
    for (const object of objects) {
      const values: Record<string, string | null> = {};
      // a write's answer may no longer be in the database as it was: only its key is compared
      const fields = found.writes ? key : Object.keys(object.values);
      for (const field of fields) {
        if (!(field in object.values)) continue;
        const column = await truth.column(model, field);
        const text = column && comparableText(object.values[field], column);
        if (text !== undefined) values[field] = text;
      }
      if (found.writes && Object.keys(values).length < key.length) continue;
      if (Object.keys(values).length > 0) comparable.push({ object, values });
    }
    const flagged = new Set<FoundObject>();
    const matches = await truth.matchRows(
      scope,
      tenantId,
      comparable.map((item) => item.values),
    );
    comparable.forEach((item, i) => {
      const match = matches[i]!;
      if (match.mine || !match.anywhere) return;
      flagged.add(item.object);
      leaks.push({
        kind: 'tenant',
        model,
        path: item.object.path,
        message: `a row of ${model} that is not ${tenant}'s: no row of ${tenant} holds ${describe(item.values)}, a row of another tenant does`,
      });
    });
    if (found.writes) continue;
    // one value no row of the tenant holds betrays a row of another (a join gone wrong mixes rows)
    const byField = new Map<string, Set<string>>();
    for (const item of comparable) {
      for (const [field, text] of Object.entries(item.values)) {
        if (text === null) continue;
        byField.set(field, (byField.get(field) ?? new Set()).add(text));
      }
    }
    for (const [field, texts] of byField) {
      const result = await truth.matchValues(scope, tenantId, field, [...texts]);
      for (const item of comparable) {
        if (flagged.has(item.object)) continue;
        const text = item.values[field];
        const match = text == null ? undefined : result.get(text);
        if (!match || match.mine || !match.anywhere) continue;
        flagged.add(item.object);
        leaks.push({
          kind: 'tenant',
          model,
          path: joinField(item.object.path, field),
          message: `${model}.${field} = ${JSON.stringify(text)} is held by rows of other tenants only, none of ${tenant}'s`,
        });
      }
    }
  }
  return leaks;
}

function describe(values: Record<string, string | null>): string {
  const text = Object.entries(values)
    .map(([field, value]) => `${field}=${JSON.stringify(value)}`)
    .join(', ');
  return text.length > 160 ? `${text.slice(0, 157)}...` : text;
}
