// Pins the cursor codec and the keyset predicate: round trips, tamper checks, null ordering.
import { describe, expect, it } from 'vitest';
import { CursorCodec, keysetAfter, prismaOrderBy, type SortKey } from '../src/schema/cursor.js';

const keys: SortKey[] = [
  { field: 'createdAt', direction: 'desc', nullable: false },
  { field: 'salesRepId', direction: 'asc', nullable: true },
  { field: 'id', direction: 'asc', nullable: false },
];

describe('CursorCodec', () => {
  const codec = new CursorCodec('secret');
  const row = { id: 7, createdAt: new Date('2025-02-03T04:05:06.000Z'), salesRepId: null };

  it('round-trips typed values', () => {
    const cursor = codec.encode('Order', keys, row);
    expect(codec.decode('Order', keys, cursor)).toEqual([row.createdAt, null, 7]);
  });

  it('rejects tampering, another model, another order and another secret', () => {
    const cursor = codec.encode('Order', keys, row);
    const [body, mac] = cursor.split('.');
    const flipped = `${body!.slice(0, -2)}${body!.at(-2) === 'A' ? 'B' : 'A'}${body!.at(-1)}.${mac}`;
    for (const bad of [flipped, `${body}.${mac!.slice(1)}x`, `${body}`, '', 'a.b.c']) {
      expect(() => codec.decode('Order', keys, bad)).toThrow(/cursor/);
    }
    expect(() => codec.decode('Customer', keys, cursor)).toThrow(/cursor/);
    expect(() => codec.decode('Order', keys.slice(1), cursor)).toThrow(/cursor/);
    expect(() => new CursorCodec('other').decode('Order', keys, cursor)).toThrow(/cursor/);
  });
});

describe('keysetAfter', () => {
  it('builds the lexicographic successor predicate with nulls last ascending', () => {
    const when = new Date('2025-01-01T00:00:00Z');
    expect(keysetAfter(keys, [when, 3, 10])).toEqual({
      OR: [
        { AND: [{ createdAt: { lt: when } }] },
        { AND: [{ createdAt: when }, { OR: [{ salesRepId: { gt: 3 } }, { salesRepId: null }] }] },
        { AND: [{ createdAt: when }, { salesRepId: 3 }, { id: { gt: 10 } }] },
      ],
    });
    // after a null in an ascending nulls-last key only ties remain
    expect(keysetAfter(keys, [when, null, 10]).OR).toEqual([
      { AND: [{ createdAt: { lt: when } }] },
      { AND: [{ createdAt: when }, { salesRepId: null }, { id: { gt: 10 } }] },
    ]);
  });

  it('descending nullable keys put nulls first', () => {
    const desc: SortKey[] = [
      { field: 'notes', direction: 'desc', nullable: true },
      { field: 'id', direction: 'asc', nullable: false },
    ];
    expect(keysetAfter(desc, [null, 1]).OR).toEqual([
      { AND: [{ notes: { not: null } }] },
      { AND: [{ notes: null }, { id: { gt: 1 } }] },
    ]);
    expect(prismaOrderBy(desc)).toEqual([
      { notes: { sort: 'desc', nulls: 'first' } },
      { id: 'asc' },
    ]);
  });
});
