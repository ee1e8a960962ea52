// Q1–Q4 as each endpoint is asked them, and how each answer is brought to one shape so the bench
// can check that every endpoint returns the same rows before it times them.

import { Translator } from '../../src/mcp-bridge/translate.js';
import type { CompiledPolicy } from '../../src/policy/compile-policy.js';
import { maskValue } from '../../src/policy/redaction.js';
import type { RequestSpec } from './load.js';

export type EndpointName =
  | 'ormai'
  | 'hand-written'
  | 'postgraphile'
  | 'no-policy'
  | 'ormai MCP'
  | 'ormai GraphQL'
  | 'ormai+audit'
  | 'ormai+budget'
  | 'ormai (tsx)';

export interface Variant {
  endpoint: EndpointName;
  /** Which server process answers it. */
  server: 'ormai' | 'hand-written' | 'postgraphile' | 'no-policy';
  request: RequestSpec;
  /** The answer in the common shape (throws when the answer is an error). */
  normalize(body: any): unknown;
}

export interface QueryDefinition {
  id: 'Q1' | 'Q2' | 'Q3' | 'Q4';
  title: string;
  /** Relation levels under the root (orders → items → product is 2). */
  nestingDepth: number;
  variants: Variant[];
}

const graphql = (token: string, query: string, variables?: Record<string, unknown>) => ({
  method: 'POST' as const,
  path: '/graphql',
  headers: {
    'content-type': 'application/json',
    accept: 'application/graphql-response+json, application/json',
    authorization: `Bearer ${token}`,
  },
  body: JSON.stringify(variables ? { query, variables } : { query }),
});

const get = (token: string, path: string) => ({
  method: 'GET' as const,
  path,
  headers: { authorization: `Bearer ${token}` },
});

const dataOf = (body: any) => {
  if (body?.errors?.length) throw new Error(`GraphQL errors: ${JSON.stringify(body.errors)}`);
  if (!body?.data) throw new Error(`no data: ${JSON.stringify(body).slice(0, 300)}`);
  return body.data;
};

const ORDER_FIELDS =
  'id status totalCents customer { name email phone } items { quantity product { name } }';
const PGL_ORDER_FIELDS =
  'rowId status totalCents customerByCustomerId { name maskedEmail maskedPhone } orderItemsByOrderId(orderBy: PRIMARY_KEY_ASC) { nodes { quantity productByProductId { name } } }';

const fromPostGraphile = (order: any) =>
  order && {
    id: order.rowId,
    status: order.status,
    totalCents: order.totalCents,
    customer: order.customerByCustomerId && {
      name: order.customerByCustomerId.name,
      email: order.customerByCustomerId.maskedEmail,
      phone: order.customerByCustomerId.maskedPhone,
    },
    items: order.orderItemsByOrderId.nodes.map((item: any) => ({
      quantity: item.quantity,
      product: item.productByProductId && { name: item.productByProductId.name },
    })),
  };

// The no-policy server has no row scope: its queries name the tenant (and for orders the
// soft-delete filter) themselves, on the orders and their items, so its SQL has the predicates
// ormai's scope adds (bench/README.md: where its plan still differs). It returns what the agent may
// not see — raw email and phone, a soft-deleted customer — so its answer is brought to the agent's
// view for the comparison (masked with maskValue, a deleted customer null): the same rows, then.
const NO_POLICY_WHERE = { where: { tenantId: { equals: 1 }, deletedAt: { isNull: true } } };
const NO_POLICY_ORDER_FIELDS =
  'id status totalCents customer { name email phone deletedAt } items(where: { tenantId: { equals: 1 } }) { quantity product { name } }';
const asAgentSees = (order: any) =>
  order && {
    ...order,
    customer:
      order.customer && order.customer.deletedAt === null
        ? {
            name: order.customer.name,
            email: maskValue(order.customer.email),
            phone: maskValue(order.customer.phone),
          }
        : null,
  };

/** Q4's db.query call: Q1 as far as an MCP include reaches (one level: items carry productId). */
export const Q4_ARGUMENTS = {
  model: 'Order',
  select: ['id', 'status', 'totalCents'],
  take: 50,
  include: [
    { relation: 'customer', select: ['name', 'email', 'phone'] },
    { relation: 'items', select: ['quantity', 'productId'] },
  ],
};

export function defineQueries(options: {
  token: string;
  /** Q2's order: visible to the token's tenant. */
  orderId: number;
  /** The agent's compiled policy: Q4's GraphQL side is what the MCP bridge translates to. */
  agentPolicy: CompiledPolicy;
}): QueryDefinition[] {
  const { token, orderId } = options;
  const q4 = new Translator(options.agentPolicy).query(Q4_ARGUMENTS);
  return [
    {
      id: 'Q1',
      title: '50 orders with customer and items → product (tenant 1, agent)',
      nestingDepth: 2,
      variants: [
        {
          endpoint: 'ormai',
          server: 'ormai',
          request: graphql(token, `query Q1 { orders(first: 50) { nodes { ${ORDER_FIELDS} } } }`),
          normalize: (body) => dataOf(body).orders.nodes,
        },
        {
          endpoint: 'hand-written',
          server: 'hand-written',
          request: get(token, '/orders'),
          normalize: (body) => dataOf(body).orders.nodes,
        },
        {
          endpoint: 'postgraphile',
          server: 'postgraphile',
          request: graphql(
            token,
            `query Q1 { allOrders(first: 50, orderBy: PRIMARY_KEY_ASC) { nodes { ${PGL_ORDER_FIELDS} } } }`,
          ),
          normalize: (body) => dataOf(body).allOrders.nodes.map(fromPostGraphile),
        },
        {
          endpoint: 'no-policy',
          server: 'no-policy',
          request: graphql(
            token,
            `query Q1($where: OrderWhereInput) { orders(first: 50, where: $where) { nodes { ${NO_POLICY_ORDER_FIELDS} } } }`,
            NO_POLICY_WHERE,
          ),
          normalize: (body) => dataOf(body).orders.nodes.map(asAgentSees),
        },
      ],
    },
    {
      id: 'Q2',
      title: `one order by id (${orderId}) with customer and items → product`,
      nestingDepth: 2,
      variants: [
        {
          endpoint: 'ormai',
          server: 'ormai',
          request: graphql(token, `query Q2 { order(id: ${orderId}) { ${ORDER_FIELDS} } }`),
          normalize: (body) => dataOf(body).order,
        },
        {
          endpoint: 'hand-written',
          server: 'hand-written',
          request: get(token, `/orders/${orderId}`),
          normalize: (body) => dataOf(body).order,
        },
        {
          endpoint: 'postgraphile',
          server: 'postgraphile',
          request: graphql(
            token,
            `query Q2 { orderByRowId(rowId: ${orderId}) { ${PGL_ORDER_FIELDS} } }`,
          ),
          normalize: (body) => fromPostGraphile(dataOf(body).orderByRowId),
        },
        {
          endpoint: 'no-policy',
          server: 'no-policy',
          request: graphql(
            token,
            `query Q2 { order(id: ${orderId}) { ${NO_POLICY_ORDER_FIELDS} } }`,
          ),
          normalize: (body) => asAgentSees(dataOf(body).order),
        },
      ],
    },
    {
      id: 'Q3',
      title: 'orders grouped by status: count and sum of totalCents',
      nestingDepth: 0,
      variants: [
        {
          endpoint: 'ormai',
          server: 'ormai',
          request: graphql(
            token,
            'query Q3 { ordersGroupBy(by: [status]) { key { status } count sum { totalCents } } }',
          ),
          normalize: (body) => dataOf(body).ordersGroupBy,
        },
        {
          endpoint: 'hand-written',
          server: 'hand-written',
          request: get(token, '/orders/by-status'),
          normalize: (body) => dataOf(body).ordersGroupBy,
        },
        {
          endpoint: 'postgraphile',
          server: 'postgraphile',
          // pg-aggregates has no plain count per group: distinctCount of the key counts the rows
          request: graphql(
            token,
            'query Q3 { allOrders { groupedAggregates(groupBy: STATUS) { keys sum { totalCents } distinctCount { rowId } } } }',
          ),
          normalize: (body) =>
            dataOf(body)
              .allOrders.groupedAggregates.map((group: any) => ({
                key: { status: group.keys[0] },
                count: Number(group.distinctCount.rowId),
                sum: { totalCents: Number(group.sum.totalCents) },
              }))
              .sort((a: any, b: any) => a.key.status.localeCompare(b.key.status)),
        },
        {
          endpoint: 'no-policy',
          server: 'no-policy',
          request: graphql(
            token,
            'query Q3($where: OrderWhereInput) { ordersGroupBy(by: [status], where: $where) { key { status } count sum { totalCents } } }',
            NO_POLICY_WHERE,
          ),
          normalize: (body) => dataOf(body).ordersGroupBy,
        },
      ],
    },
    {
      id: 'Q4',
      title: 'Q1 through MCP db.query over HTTP vs the GraphQL operation it becomes',
      nestingDepth: 1,
      variants: [
        {
          endpoint: 'ormai MCP',
          server: 'ormai',
          request: {
            method: 'POST',
            path: '/mcp',
            headers: {
              'content-type': 'application/json',
              accept: 'application/json, text/event-stream',
              authorization: `Bearer ${token}`,
            },
            body: JSON.stringify({
              jsonrpc: '2.0',
              id: 1,
              method: 'tools/call',
              params: { name: 'db.query', arguments: Q4_ARGUMENTS },
            }),
          },
          normalize: (body) => {
            const result = body?.result;
            if (!result || result.isError) throw new Error(`MCP error: ${JSON.stringify(body)}`);
            return result.structuredContent.data;
          },
        },
        {
          endpoint: 'ormai GraphQL',
          server: 'ormai',
          request: graphql(token, q4.document, q4.variables),
          normalize: (body) => dataOf(body).result.nodes,
        },
      ],
    },
  ];
}
