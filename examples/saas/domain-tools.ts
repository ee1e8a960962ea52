import type { DomainTool } from '../../src/app.js';

/** Named operations the example serves as MCP tools beside db.*; they run under the caller's policy. */
export const saasDomainTools: DomainTool[] = [
  {
    name: 'orders.recent_for_customer',
    description: "A customer's most recent orders with their items, newest first.",
    document: `query RecentOrdersForCustomer($customerId: Int!, $first: Int = 10) {
  orders(where: { customerId: { equals: $customerId } }, orderBy: [{ createdAt: DESC }], first: $first) {
    nodes { id status totalCents createdAt items { quantity unitPriceCents product { name } } }
  }
}`,
  },
  {
    name: 'customers.top_by_revenue',
    description:
      'The customers with the highest order revenue (sum of totalCents), with their order counts.',
    document: `query TopCustomersByRevenue($first: Int = 10) {
  ordersGroupBy(by: [customerId], orderBy: [{ sum: { totalCents: DESC } }], first: $first) {
    key { customerId }
    count
    sum { totalCents }
  }
}`,
  },
];
