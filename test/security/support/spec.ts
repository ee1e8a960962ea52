// The example's datamodel and policy (examples/saas/policy.ts plus ormai's default deny globs),
// written out independently of src/ so the security suite checks the server against the policy as
// documented rather than against its own compilation of it.
import { hashValue, maskValue } from '../../../src/policy/redaction.js';

export const ROLES = ['admin', 'support', 'sales', 'agent'] as const;
export type Role = (typeof ROLES)[number];
export const TENANTS = [1, 2, 3] as const;

export type ModelName = 'Tenant' | 'User' | 'Customer' | 'Product' | 'Order' | 'OrderItem';
export const MODEL_NAMES: ModelName[] = [
  'Tenant',
  'User',
  'Customer',
  'Product',
  'Order',
  'OrderItem',
];
export type ScalarType = 'Int' | 'String' | 'DateTime' | 'Boolean';

export interface FieldSpec {
  type: ScalarType;
  nullable: boolean;
}

export interface ModelSpec {
  fields: Record<string, FieldSpec>;
  /** The column every row is scoped by (Tenant scopes by its own id). */
  tenantField: string;
  softDelete: boolean;
  /** GraphQL root names. */
  list: string;
  single: string;
}

const f = (type: ScalarType, nullable = false): FieldSpec => ({ type, nullable });

export const MODELS: Record<ModelName, ModelSpec> = {
  Tenant: {
    fields: { id: f('Int'), slug: f('String'), name: f('String'), plan: f('String') },
    tenantField: 'id',
    softDelete: false,
    list: 'tenants',
    single: 'tenant',
  },
  User: {
    fields: {
      id: f('Int'),
      tenantId: f('Int'),
      email: f('String'),
      name: f('String'),
      role: f('String'),
      passwordHash: f('String'),
      apiKey: f('String', true),
      createdAt: f('DateTime'),
    },
    tenantField: 'tenantId',
    softDelete: false,
    list: 'users',
    single: 'user',
  },
  Customer: {
    fields: {
      id: f('Int'),
      tenantId: f('Int'),
      name: f('String'),
      email: f('String'),
      phone: f('String', true),
      ssn: f('String', true),
      tier: f('String'),
      createdAt: f('DateTime'),
      deletedAt: f('DateTime', true),
    },
    tenantField: 'tenantId',
    softDelete: true,
    list: 'customers',
    single: 'customer',
  },
  Product: {
    fields: {
      id: f('Int'),
      tenantId: f('Int'),
      sku: f('String'),
      name: f('String'),
      priceCents: f('Int'),
      costCents: f('Int'),
      active: f('Boolean'),
    },
    tenantField: 'tenantId',
    softDelete: false,
    list: 'products',
    single: 'product',
  },
  Order: {
    fields: {
      id: f('Int'),
      tenantId: f('Int'),
      customerId: f('Int'),
      salesRepId: f('Int', true),
      status: f('String'),
      totalCents: f('Int'),
      notes: f('String', true),
      createdAt: f('DateTime'),
      updatedAt: f('DateTime'),
      deletedAt: f('DateTime', true),
    },
    tenantField: 'tenantId',
    softDelete: true,
    list: 'orders',
    single: 'order',
  },
  OrderItem: {
    fields: {
      id: f('Int'),
      tenantId: f('Int'),
      orderId: f('Int'),
      productId: f('Int'),
      quantity: f('Int'),
      unitPriceCents: f('Int'),
    },
    tenantField: 'tenantId',
    softDelete: false,
    list: 'orderItems',
    single: 'orderItem',
  },
};

export interface RelationSpec {
  name: string;
  from: ModelName;
  target: ModelName;
  list: boolean;
  /** parent.localField = child.targetField */
  localField: string;
  targetField: string;
}

const one = (from: ModelName, name: string, target: ModelName, fk: string): RelationSpec => ({
  name,
  from,
  target,
  list: false,
  localField: fk,
  targetField: 'id',
});
const many = (from: ModelName, name: string, target: ModelName, fk: string): RelationSpec => ({
  name,
  from,
  target,
  list: true,
  localField: 'id',
  targetField: fk,
});

export const RELATIONS: RelationSpec[] = [
  many('Tenant', 'users', 'User', 'tenantId'),
  many('Tenant', 'customers', 'Customer', 'tenantId'),
  many('Tenant', 'products', 'Product', 'tenantId'),
  many('Tenant', 'orders', 'Order', 'tenantId'),
  many('Tenant', 'orderItems', 'OrderItem', 'tenantId'),
  one('User', 'tenant', 'Tenant', 'tenantId'),
  many('User', 'salesOrders', 'Order', 'salesRepId'),
  one('Customer', 'tenant', 'Tenant', 'tenantId'),
  many('Customer', 'orders', 'Order', 'customerId'),
  one('Product', 'tenant', 'Tenant', 'tenantId'),
  many('Product', 'orderItems', 'OrderItem', 'productId'),
  one('Order', 'tenant', 'Tenant', 'tenantId'),
  one('Order', 'customer', 'Customer', 'customerId'),
  one('Order', 'salesRep', 'User', 'salesRepId'),
  many('Order', 'items', 'OrderItem', 'orderId'),
  one('OrderItem', 'tenant', 'Tenant', 'tenantId'),
  one('OrderItem', 'order', 'Order', 'orderId'),
  one('OrderItem', 'product', 'Product', 'productId'),
];

export type Access =
  | { kind: 'allow' }
  | { kind: 'deny' }
  | { kind: 'mask'; pattern?: string }
  | { kind: 'hash' };

interface RoleRules {
  hidden?: ModelName[];
  deny?: Partial<Record<ModelName, string[]>>;
  mask?: Partial<Record<ModelName, Record<string, string | undefined>>>;
  hash?: Partial<Record<ModelName, string[]>>;
  /** Row ownership: the field compared with the principal's sub. */
  owner?: Partial<Record<ModelName, string>>;
}

/** `*password*`, `*api_key*`/`*apikey*` and friends: denied to every role. */
const DENIED_FOR_ALL: Partial<Record<ModelName, string[]>> = { User: ['passwordHash', 'apiKey'] };

const RULES: Record<Role, RoleRules> = {
  admin: {},
  support: {
    mask: { Customer: { ssn: '****{last4}' } },
    deny: { Product: ['costCents'] },
  },
  sales: {
    owner: { Order: 'salesRepId' },
    deny: { Customer: ['ssn'], Product: ['costCents'] },
    mask: { Customer: { phone: undefined } },
    hash: { User: ['email'] },
  },
  agent: {
    hidden: ['User'],
    deny: { Customer: ['ssn'], Product: ['costCents'] },
    mask: { Customer: { email: undefined, phone: undefined } },
  },
};

/** The default hash salt (the example policy sets none). */
export const HASH_SALT = 'ormai';

export function readableModels(role: Role): ModelName[] {
  return MODEL_NAMES.filter((model) => !RULES[role].hidden?.includes(model));
}

export function canRead(role: Role, model: ModelName): boolean {
  return !RULES[role].hidden?.includes(model);
}

export function access(role: Role, model: ModelName, field: string): Access {
  const rules = RULES[role];
  if (rules.hidden?.includes(model)) return { kind: 'deny' };
  if (DENIED_FOR_ALL[model]?.includes(field) || rules.deny?.[model]?.includes(field))
    return { kind: 'deny' };
  const masks = rules.mask?.[model];
  if (masks && field in masks) {
    const pattern = masks[field];
    return pattern === undefined ? { kind: 'mask' } : { kind: 'mask', pattern };
  }
  if (rules.hash?.[model]?.includes(field)) return { kind: 'hash' };
  return { kind: 'allow' };
}

/** Fields the role can select (allowed, masked or hashed). */
export function selectableFields(role: Role, model: ModelName): string[] {
  return Object.keys(MODELS[model].fields).filter(
    (field) => access(role, model, field).kind !== 'deny',
  );
}

/** Fields the role can filter, sort and group on: returned unredacted. */
export function filterableFields(role: Role, model: ModelName): string[] {
  return Object.keys(MODELS[model].fields).filter(
    (field) => access(role, model, field).kind === 'allow',
  );
}

/** Fields that exist in the datamodel but must never reach this role raw. */
export function protectedFields(role: Role, model: ModelName): string[] {
  return Object.keys(MODELS[model].fields).filter(
    (field) => access(role, model, field).kind !== 'allow',
  );
}

export function relationsOf(role: Role, model: ModelName): RelationSpec[] {
  return RELATIONS.filter(
    (relation) => relation.from === model && canRead(role, model) && canRead(role, relation.target),
  );
}

export function relation(model: ModelName, name: string): RelationSpec | undefined {
  return RELATIONS.find((candidate) => candidate.from === model && candidate.name === name);
}

export function ownerField(role: Role, model: ModelName): string | undefined {
  return RULES[role].owner?.[model];
}

export interface Principal {
  tenantId: number;
  role: Role;
  sub: string;
}

/** Serializes a raw column value as GraphQL returns it (DateTime as ISO-8601). */
export function serialize(value: unknown): unknown {
  if (value === null || value === undefined) return null;
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'bigint') return Number(value);
  return value;
}

/** The value a role must receive for a raw column value. */
export function expectedValue(role: Role, model: ModelName, field: string, raw: unknown): unknown {
  const rule = access(role, model, field);
  if (rule.kind === 'mask') return maskValue(raw, rule.pattern);
  if (rule.kind === 'hash') return hashValue(raw, HASH_SALT);
  return serialize(raw);
}
