// The hand-written baseline: node:http and the example's generated Prisma client on the same pool
// ormai opens (openDatabase), doing by hand what ormai's policy does for the agent role — HS256 JWT
// verification (jose), the tenant filter and soft-delete filter on every row it returns (the
// customer and products of an order included), and the agent's masking of customer email and
// phone (maskValue). Answers in the shape of ormai's GraphQL responses so the bench can compare.
// Routes: GET /orders (Q1: 50 orders with customer and items → product), GET /orders/:id (Q2),
// GET /orders/by-status (Q3: count and sum of totalCents per status).
// Env: DATABASE_URL, BENCH_JWT_SECRET.
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { jwtVerify } from 'jose';
import { saasApp } from '../../examples/saas/app.js';
import type { PrismaClient } from '../../examples/saas/generated/prisma/client.js';
import { maskValue } from '../../src/policy/redaction.js';
import { openBaseline, serveBench } from './common.js';

const { counts, key, db } = await openBaseline();
const prisma = saasApp.createPrismaClient!(db.adapter, {}) as unknown as PrismaClient;

const orderSelect = (tenantId: number) =>
  ({
    id: true,
    status: true,
    totalCents: true,
    customer: {
      select: { name: true, email: true, phone: true, tenantId: true, deletedAt: true },
    },
    items: {
      where: { tenantId },
      orderBy: { id: 'asc' },
      select: { quantity: true, product: { select: { name: true, tenantId: true } } },
    },
  }) as const;

type OrderRow = Awaited<
  ReturnType<typeof prisma.order.findMany<{ select: ReturnType<typeof orderSelect>; take: number }>>
>[number];

/** A to-one row of another tenant, or soft-deleted, is null — as ormai resolves it. */
const present = (tenantId: number, order: OrderRow) => ({
  id: order.id,
  status: order.status,
  totalCents: order.totalCents,
  customer:
    order.customer.tenantId === tenantId && order.customer.deletedAt === null
      ? {
          name: order.customer.name,
          email: maskValue(order.customer.email),
          phone: maskValue(order.customer.phone),
        }
      : null,
  items: order.items.map((item) => ({
    quantity: item.quantity,
    product: item.product.tenantId === tenantId ? { name: item.product.name } : null,
  })),
});

async function tenantOf(authorization: string | undefined): Promise<number | null> {
  const match = authorization ? /^Bearer\s+(\S+)\s*$/i.exec(authorization) : null;
  if (!match) return null;
  try {
    const { payload } = await jwtVerify(match[1]!, key, { algorithms: ['HS256'] });
    const roles = Array.isArray(payload.roles) ? payload.roles : [];
    // this endpoint implements the agent's policy only
    if (!roles.includes('agent') || typeof payload.tenantId !== 'number') return null;
    return payload.tenantId;
  } catch {
    return null;
  }
}

const send = (res: ServerResponse, status: number, body: unknown) =>
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));

async function route(path: string, tenantId: number): Promise<unknown> {
  if (path === '/orders') {
    const orders = await prisma.order.findMany({
      where: { tenantId, deletedAt: null },
      orderBy: { id: 'asc' },
      take: 50,
      select: orderSelect(tenantId),
    });
    return { data: { orders: { nodes: orders.map((order) => present(tenantId, order)) } } };
  }
  if (path === '/orders/by-status') {
    const groups = await prisma.order.groupBy({
      by: ['status'],
      where: { tenantId, deletedAt: null },
      _count: { _all: true },
      _sum: { totalCents: true },
      orderBy: { status: 'asc' },
    });
    return {
      data: {
        ordersGroupBy: groups.map((group) => ({
          key: { status: group.status },
          count: group._count._all,
          sum: { totalCents: group._sum.totalCents },
        })),
      },
    };
  }
  const id = /^\/orders\/(\d+)$/.exec(path)?.[1];
  if (id) {
    const order = await prisma.order.findFirst({
      where: { id: Number(id), tenantId, deletedAt: null },
      select: orderSelect(tenantId),
    });
    return { data: { order: order ? present(tenantId, order) : null } };
  }
  return undefined;
}

const server = createServer((req, res) => {
  void (async () => {
    try {
      const tenantId = await tenantOf(req.headers.authorization);
      if (tenantId === null) return send(res, 401, { error: 'AUTHENTICATION_REQUIRED' });
      const body = await route((req.url ?? '/').split('?')[0]!, tenantId);
      if (body === undefined) return send(res, 404, { error: 'NOT_FOUND' });
      send(res, 200, body);
    } catch (error) {
      console.error(error);
      if (!res.headersSent) send(res, 500, { error: 'INTERNAL_ERROR' });
    }
  })();
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const { port } = server.address() as AddressInfo;

serveBench(`http://127.0.0.1:${port}`, counts, async () => {
  server.close();
  server.closeAllConnections();
  await prisma.$disconnect();
  await db.close();
});
