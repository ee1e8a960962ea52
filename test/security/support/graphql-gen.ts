// Random GraphQL documents a principal may send (root lists, single rows, aggregates, the view;
// nested relations with where/orderBy/first; aliases, named and inline fragments, @skip/@include),
// their rendering, the budgets they use, and the response SQL says they must get.
import fc from 'fast-check';
import type { FragmentDefinitionNode, SelectionSetNode } from 'graphql';
import { Kind, Lexer, parse, Source, TokenKind } from 'graphql';
import { FilterArbitraries, someOf, type Where } from './filters.js';
import {
  expectedValue,
  filterableFields,
  MODELS,
  type ModelName,
  type Principal,
  type RelationSpec,
  readableModels,
  relationsOf,
  selectableFields,
} from './spec.js';
import {
  aggregateTruth,
  childIds,
  customerOrderTotals,
  listIds,
  type OrderBy,
  type Truth,
} from './truth.js';

export const DEFAULT_TAKE = 25;
export const MAX_TAKE = 100;
/** The example's budgets (examples/saas/policy.ts on top of the prod profile). */
export const BUDGETS = {
  maxIncludeDepth: 2,
  maxSelectedFields: 40,
  maxComplexity: 100_000,
  maxDepth: 10,
  maxAliases: 15,
  maxDirectives: 10,
  maxTokens: 2000,
};

interface Common {
  /** The response key: the alias, or the field name. */
  key: string;
  alias?: string;
  /** Set while rendering: `@skip(if: true)` / `@include(if: false)` drop the field. */
  directive?: string;
  dropped?: boolean;
}
export type Sel =
  | (Common & { kind: 'field'; field: string })
  | (Common & { kind: 'typename' })
  | (Common & { kind: 'one'; relation: RelationSpec; children: Sel[] })
  | (Common & {
      kind: 'many';
      relation: RelationSpec;
      where: Where | null;
      orderBy: OrderBy | null;
      first: number | null;
      children: Sel[];
    });

export interface ConnectionSelection {
  totalCount: boolean;
  nodes: Sel[] | null;
  edges: Sel[] | null;
  pageInfo: string[];
}

export type Root =
  | (Common & {
      kind: 'list';
      model: ModelName;
      where: Where | null;
      orderBy: OrderBy | null;
      first: number | null;
      select: ConnectionSelection;
    })
  | (Common & { kind: 'single'; model: ModelName; id: number; children: Sel[] })
  | (Common & {
      kind: 'aggregate';
      model: ModelName;
      where: Where | null;
      count: boolean;
      measures: { op: 'sum' | 'avg' | 'min' | 'max'; fields: string[] }[];
    })
  | (Common & { kind: 'raw'; text: string })
  | (Common & {
      kind: 'view';
      where: Where | null;
      orderBy: OrderBy | null;
      first: number | null;
      fields: string[];
      totalCount: boolean;
      pageInfo: string[];
    });

export interface DocSpec {
  roots: Root[];
  /** Drives rendering choices (aliases, fragments, directives, literal vs variable). */
  seed: number;
}

const PAGE_INFO = ['hasNextPage', 'hasPreviousPage', 'startCursor', 'endCursor'];
const VIEW_FIELDS = ['id', 'name', 'tier', 'orderCount', 'lifetimeCents'];

/** Numeric fields a role can aggregate: Int fields it reads unredacted. */
export function numericFields(principal: Principal, model: ModelName): string[] {
  return filterableFields(principal.role, model).filter(
    (field) => MODELS[model].fields[field]!.type === 'Int',
  );
}

export class DocArbitraries {
  readonly filters: FilterArbitraries;
  readonly #selections = new Map<string, fc.Arbitrary<Sel[]>>();

  constructor(
    readonly truth: Truth,
    readonly principal: Principal,
  ) {
    this.filters = new FilterArbitraries(truth, principal);
  }

  /** A first argument: mostly small, sometimes absent (the default 25). */
  first(max: number): fc.Arbitrary<number | null> {
    return fc.oneof(
      { weight: 1, arbitrary: fc.constant(null) },
      { weight: 4, arbitrary: fc.integer({ min: 1, max }) },
    );
  }

  /** The selection on an object of `model`, `depth` relations below the root. */
  selection(model: ModelName, depth: number): fc.Arbitrary<Sel[]> {
    const key = `${model}:${depth}`;
    const cached = this.#selections.get(key);
    if (cached) return cached;
    const role = this.principal.role;
    const scalars = someOf(selectableFields(role, model), 1, depth === 0 ? 5 : 3).map((fields) =>
      fields.map((field): Sel => ({ kind: 'field', key: field, field })),
    );
    const relations =
      depth < BUDGETS.maxIncludeDepth
        ? someOf(relationsOf(role, model), 0, depth === 0 ? 2 : 1).chain((rels) =>
            fc.tuple(...rels.map((rel) => this.relationSel(rel, depth + 1))),
          )
        : fc.constant([] as Sel[]);
    const arbitrary = fc
      .tuple(scalars, relations, fc.integer({ min: 0, max: 9 }))
      .map(([fields, rels, typename]) => [
        ...fields,
        ...rels,
        ...(typename === 0 ? [{ kind: 'typename', key: '__typename' } as Sel] : []),
      ]);
    this.#selections.set(key, arbitrary);
    return arbitrary;
  }

  relationSel(rel: RelationSpec, depth: number): fc.Arbitrary<Sel> {
    const children = this.selection(rel.target, depth);
    if (!rel.list) {
      return children.map(
        (sel): Sel => ({ kind: 'one', key: rel.name, relation: rel, children: sel }),
      );
    }
    return fc
      .record({
        where: fc.option(this.filters.where(rel.target, 1), { nil: null }),
        orderBy: fc.option(this.filters.orderBy(rel.target), { nil: null }),
        first: this.first(10),
        children,
      })
      .map((args): Sel => ({ kind: 'many', key: rel.name, relation: rel, ...args }));
  }

  root(): fc.Arbitrary<Root> {
    const models = readableModels(this.principal.role);
    const list = fc.constantFrom(...models).chain((model) =>
      fc
        .record({
          where: fc.option(this.filters.where(model, 2), { nil: null }),
          orderBy: fc.option(this.filters.orderBy(model), { nil: null }),
          first: this.first(40),
          totalCount: fc.boolean(),
          nodes: fc.option(this.selection(model, 0), { nil: null, freq: 3 }),
          edges: fc.option(this.selection(model, 0), { nil: null }),
          pageInfo: fc.subarray(PAGE_INFO),
        })
        .map(
          ({ totalCount, nodes, edges, pageInfo, ...args }): Root => ({
            kind: 'list',
            key: MODELS[model].list,
            model,
            ...args,
            select: { totalCount, nodes, edges, pageInfo },
          }),
        ),
    );
    const single = fc.constantFrom(...models).chain((model) => {
      const ids = [...this.truth.rows.get(model)!.keys()];
      return fc
        .record({
          id: fc.oneof(
            { weight: 4, arbitrary: fc.constantFrom(...ids) },
            { weight: 1, arbitrary: fc.integer({ min: -5, max: 20_000 }) },
          ),
          children: this.selection(model, 0),
        })
        .map(({ id, children }): Root => {
          // the tenant itself by another tenant's id is a scope violation, tested as a fault
          const own = model === 'Tenant' ? this.principal.tenantId : id;
          return { kind: 'single', key: MODELS[model].single, model, id: own, children };
        });
    });
    const aggregate = fc.constantFrom(...models).chain((model) => {
      const numeric = numericFields(this.principal, model);
      return fc
        .record({
          where: fc.option(this.filters.where(model, 2), { nil: null }),
          count: fc.boolean(),
          measures: fc
            .subarray(['sum', 'avg', 'min', 'max'] as const)
            .chain((ops) =>
              fc.tuple(...ops.map((op) => someOf(numeric, 1, 3).map((fields) => ({ op, fields })))),
            ),
        })
        .map(
          (args): Root => ({
            kind: 'aggregate',
            key: `${MODELS[model].list}Aggregate`,
            model,
            ...args,
            count: args.count || args.measures.length === 0,
          }),
        );
    });
    const view = fc
      .record({
        where: fc.option(this.filters.where('Customer', 1), { nil: null }),
        orderBy: fc.option(this.filters.orderBy('Customer'), { nil: null }),
        first: this.first(30),
        fields: fc.subarray(VIEW_FIELDS, { minLength: 1 }),
        totalCount: fc.boolean(),
        pageInfo: fc.subarray(PAGE_INFO),
      })
      .map((args): Root => ({ kind: 'view', key: 'customerSummaries', ...args }));
    return fc.oneof(
      { weight: 6, arbitrary: list },
      { weight: 2, arbitrary: single },
      { weight: 2, arbitrary: aggregate },
      { weight: 1, arbitrary: view },
    );
  }

  doc(): fc.Arbitrary<DocSpec> {
    return fc
      .record({
        roots: fc.array(this.root(), { minLength: 1, maxLength: 3 }),
        seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
      })
      .map(({ roots, seed }) => {
        // two roots on the same field need distinct response keys
        const seen = new Set<string>();
        roots.forEach((root, i) => {
          if (seen.has(root.key)) {
            root.alias = `r${i}`;
            root.key = root.alias;
          }
          seen.add(root.key);
        });
        return { roots, seed };
      });
  }
}

/** mulberry32, so a document renders the same way for the same seed. */
export function prng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A value as a GraphQL literal: JSON's string escapes are GraphQL's; orderBy directions are enums. */
export function literal(value: unknown, enums = false): string {
  if (value === null || value === undefined) return 'null';
  if (Array.isArray(value)) return `[${value.map((item) => literal(item, enums)).join(', ')}]`;
  if (typeof value === 'object') {
    return `{ ${Object.entries(value)
      .map(([key, inner]) => `${key}: ${literal(inner, enums)}`)
      .join(', ')} }`;
  }
  if (enums && typeof value === 'string') return value;
  return JSON.stringify(value);
}

export interface Rendered {
  text: string;
  variables: Record<string, unknown>;
  /** The variable holding each list root's after cursor. */
  afterVariables: Map<Root, string>;
  aliases: number;
  directives: number;
}

/** Renders a document: arguments inline or as variables, selections directly or in fragments. */
export function render(doc: DocSpec): Rendered {
  const random = prng(doc.seed);
  const chance = (p: number) => random() < p;
  const declarations: string[] = [];
  const variables: Record<string, unknown> = {};
  const fragments: string[] = [];
  const afterVariables = new Map<Root, string>();
  let counter = 0;
  let aliases = 0;
  let directives = 0;

  const arg = (name: string, value: unknown, type: string, enums = false) => {
    if (value === undefined) return '';
    if (chance(0.5)) return `${name}: ${literal(value, enums)}`;
    counter += 1;
    const variable = `v${counter}`;
    declarations.push(`$${variable}: ${type}`);
    variables[variable] = value;
    return `${name}: $${variable}`;
  };
  const args = (parts: string[]) => {
    const kept = parts.filter(Boolean);
    return kept.length ? `(${kept.join(', ')})` : '';
  };
  const head = (node: Common, name: string) => {
    node.directive = undefined;
    node.dropped = false;
    if (node.alias === undefined && node.key === name && chance(0.12)) {
      node.alias = `a${++counter}`;
      node.key = node.alias;
    }
    if (node.alias !== undefined) aliases += 1;
    let directive = '';
    if (directives < 6 && chance(0.06)) {
      directives += 1;
      const options = [
        ['@include(if: true)', false],
        ['@skip(if: false)', false],
        ['@skip(if: true)', true],
        ['@include(if: false)', true],
      ] as const;
      const [text, dropped] = options[Math.floor(random() * options.length)]!;
      node.directive = text;
      node.dropped = dropped;
      directive = ` ${text}`;
    }
    return { prefix: node.alias !== undefined ? `${node.alias}: ${name}` : name, directive };
  };
  /** A selection set, some of it in inline fragments or named fragments on `type`. */
  const selectionSet = (type: string, parts: string[]) => {
    const direct: string[] = [];
    const inline: string[] = [];
    const named: string[] = [];
    for (const part of parts) {
      const roll = random();
      (roll < 0.1 ? inline : roll < 0.2 ? named : direct).push(part);
    }
    if (direct.length === 0 && inline.length === 0 && named.length === 0) return '{ }';
    if (inline.length)
      direct.push(`... ${chance(0.5) ? `on ${type} ` : ''}{ ${inline.join(' ')} }`);
    if (named.length) {
      counter += 1;
      const name = `F${counter}`;
      fragments.push(`fragment ${name} on ${type} { ${named.join(' ')} }`);
      direct.push(`...${name}`);
    }
    return `{ ${direct.join(' ')} }`;
  };
  const sels = (model: ModelName, list: Sel[]): string =>
    selectionSet(
      model,
      list.map((sel) => {
        if (sel.kind === 'typename') return '__typename';
        const name = sel.kind === 'field' ? sel.field : sel.relation.name;
        const { prefix, directive } = head(sel, name);
        if (sel.kind === 'field') return `${prefix}${directive}`;
        if (sel.kind === 'one')
          return `${prefix}${directive} ${sels(sel.relation.target, sel.children)}`;
        const target = sel.relation.target;
        return `${prefix}${args([
          sel.where === null ? '' : arg('where', sel.where, `${target}WhereInput`),
          sel.orderBy === null ? '' : arg('orderBy', sel.orderBy, `[${target}OrderByInput!]`, true),
          sel.first === null ? '' : arg('first', sel.first, 'Int'),
        ])}${directive} ${sels(target, sel.children)}`;
      }),
    );
  const after = (root: Root) => {
    counter += 1;
    const variable = `after${counter}`;
    declarations.push(`$${variable}: String`);
    variables[variable] = null;
    afterVariables.set(root, variable);
    return `after: $${variable}`;
  };

  const roots = doc.roots.map((root) => {
    const alias = root.alias !== undefined ? `${root.alias}: ` : '';
    if (root.alias !== undefined) aliases += 1;
    switch (root.kind) {
      case 'raw':
        return `${alias}${root.text}`;
      case 'list': {
        const { model, select } = root;
        const parts: string[] = [];
        if (select.totalCount) parts.push('totalCount');
        if (select.nodes) parts.push(`nodes ${sels(model, select.nodes)}`);
        if (select.edges) parts.push(`edges { cursor node ${sels(model, select.edges)} }`);
        if (select.pageInfo.length) parts.push(`pageInfo { ${select.pageInfo.join(' ')} }`);
        if (parts.length === 0) parts.push('totalCount');
        return `${alias}${MODELS[model].list}${args([
          root.where === null ? '' : arg('where', root.where, `${model}WhereInput`),
          root.orderBy === null
            ? ''
            : arg('orderBy', root.orderBy, `[${model}OrderByInput!]`, true),
          root.first === null ? '' : arg('first', root.first, 'Int'),
          after(root),
        ])} ${selectionSet(`${model}Connection`, parts)}`;
      }
      case 'single':
        return `${alias}${MODELS[root.model].single}${args([arg('id', root.id, 'Int!')])} ${sels(root.model, root.children)}`;
      case 'aggregate': {
        const parts = [
          ...(root.count ? ['count'] : []),
          ...root.measures.map((m) => `${m.op} { ${m.fields.join(' ')} }`),
        ];
        return `${alias}${MODELS[root.model].list}Aggregate${args([
          root.where === null ? '' : arg('where', root.where, `${root.model}WhereInput`),
        ])} { ${parts.join(' ')} }`;
      }
      default: {
        const parts = [`nodes { ${root.fields.join(' ')} }`];
        if (root.totalCount) parts.push('totalCount');
        if (root.pageInfo.length) parts.push(`pageInfo { ${root.pageInfo.join(' ')} }`);
        return `${alias}customerSummaries${args([
          root.where === null ? '' : arg('where', root.where, 'CustomerWhereInput'),
          root.orderBy === null
            ? ''
            : arg('orderBy', root.orderBy, '[CustomerOrderByInput!]', true),
          root.first === null ? '' : arg('first', root.first, 'Int'),
          after(root),
        ])} { ${parts.join(' ')} }`;
      }
    }
  });
  const operation = `query Fuzz${declarations.length ? `(${declarations.join(', ')})` : ''} { ${roots.join(' ')} }`;
  return {
    text: [operation, ...fragments].join('\n'),
    variables,
    afterVariables,
    aliases,
    directives,
  };
}

export interface BudgetUse {
  includeDepth: number;
  selectedFields: number;
  complexity: number;
  aliases: number;
  directives: number;
  depth: number;
  tokens: number;
}

/** What a document uses of each budget, counted the way the contract describes each one. */
export function budgetUse(doc: DocSpec, rendered: Rendered): BudgetUse {
  let includeDepth = 0;
  const multiplier = (first: number | null) => Math.max(1, first ?? DEFAULT_TAKE);
  // fields count once per appearance; skipped ones too (budgets are checked before execution)
  const walk = (list: Sel[], depth: number): { complexity: number; selected: number } => {
    let complexity = 0;
    let selected = 0;
    for (const sel of list) {
      if (sel.kind === 'field') {
        complexity += 1;
        selected += 1;
      } else if (sel.kind === 'typename') {
        complexity += 1;
      } else {
        includeDepth = Math.max(includeDepth, depth + 1);
        const inner = walk(sel.children, depth + 1);
        selected += inner.selected;
        complexity += 1 + (sel.kind === 'many' ? multiplier(sel.first) : 1) * inner.complexity;
      }
    }
    return { complexity, selected };
  };
  let complexity = 0;
  let selected = 0;
  for (const root of doc.roots) {
    if (root.kind === 'raw') continue;
    if (root.kind === 'list') {
      const { select } = root;
      let inner = 0;
      const parts = [
        select.totalCount,
        select.nodes !== null,
        select.edges !== null,
        select.pageInfo.length > 0,
      ];
      if (select.totalCount || !parts.some(Boolean)) {
        inner += 1;
        selected += 1;
      }
      if (select.nodes) {
        const nodes = walk(select.nodes, 0);
        inner += 1 + nodes.complexity;
        selected += nodes.selected;
      }
      if (select.edges) {
        const node = walk(select.edges, 0);
        inner += 1 + (1 + 1 + node.complexity);
        selected += 1 + node.selected;
      }
      if (select.pageInfo.length) {
        inner += 1 + select.pageInfo.length;
        selected += select.pageInfo.length;
      }
      complexity += 1 + multiplier(root.first) * inner;
    } else if (root.kind === 'single') {
      const inner = walk(root.children, 0);
      complexity += 1 + inner.complexity;
      selected += inner.selected;
    } else if (root.kind === 'aggregate') {
      let inner = root.count ? 1 : 0;
      selected += root.count ? 1 : 0;
      for (const measure of root.measures) {
        inner += 1 + measure.fields.length;
        selected += measure.fields.length;
      }
      complexity += 1 + inner;
    } else {
      let inner = 1 + root.fields.length;
      selected += root.fields.length;
      if (root.totalCount) {
        inner += 1;
        selected += 1;
      }
      if (root.pageInfo.length) {
        inner += 1 + root.pageInfo.length;
        selected += root.pageInfo.length;
      }
      complexity += 1 + multiplier(root.first) * inner;
    }
  }
  return {
    includeDepth,
    selectedFields: selected,
    complexity,
    aliases: rendered.aliases,
    directives: rendered.directives,
    depth: armorDepth(rendered.text),
    tokens: tokenCount(rendered.text),
  };
}

/** Query depth as graphql-armor counts it: a field, an inline fragment or a spread (twice) nests. */
export function armorDepth(text: string): number {
  const document = parse(text);
  const fragments = new Map(
    document.definitions
      .filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION)
      .map((d) => [d.name.value, d]),
  );
  const setDepth = (set: SelectionSetNode | undefined, parent: number): number => {
    let depth = parent;
    for (const child of set?.selections ?? []) {
      if (child.kind === Kind.FRAGMENT_SPREAD) {
        const fragment = fragments.get(child.name.value)!;
        depth = Math.max(depth, parent + 2 + setDepth(fragment.selectionSet, 0));
      } else {
        depth = Math.max(depth, setDepth(child.selectionSet, parent + 1));
      }
    }
    return depth;
  };
  let deepest = 0;
  for (const definition of document.definitions) {
    if (definition.kind === Kind.OPERATION_DEFINITION)
      deepest = Math.max(deepest, setDepth(definition.selectionSet, 0));
  }
  return deepest;
}

export function tokenCount(text: string): number {
  const lexer = new Lexer(new Source(text));
  let count = 0;
  for (let token = lexer.advance(); token.kind !== TokenKind.EOF; token = lexer.advance()) count++;
  return count;
}

/**
 * Budgets a document exceeds, by the name its QUERY_BUDGET_EXCEEDED error gives. `near` (0..1)
 * also lists as possible the budgets used above that share of their limit: a fault added as raw
 * text uses some budget this count does not see.
 */
export function exceeded(use: BudgetUse, near = 1): { certain: string[]; possible: string[] } {
  const certain: string[] = [];
  const possible: string[] = [];
  const check = (budget: string, used: number, limit: number) => {
    if (used > limit) certain.push(budget);
    else if (used > limit * near) possible.push(budget);
  };
  check('max_include_depth', use.includeDepth, BUDGETS.maxIncludeDepth);
  check('max_selected_fields', use.selectedFields, BUDGETS.maxSelectedFields);
  check('max_aliases', use.aliases, BUDGETS.maxAliases);
  check('max_directives', use.directives, BUDGETS.maxDirectives);
  check('max_depth', use.depth, BUDGETS.maxDepth);
  check('complexity', use.complexity, BUDGETS.maxComplexity);
  // graphql-armor counts tokens while parsing; near the limit, count as either
  if (use.tokens > BUDGETS.maxTokens + 50) certain.push('max_tokens');
  else if (use.tokens > Math.min(BUDGETS.maxTokens - 50, BUDGETS.maxTokens * near))
    possible.push('max_tokens');
  return { certain, possible };
}

/** Marks a value the response must hold as a non-empty opaque cursor string. */
export const CURSOR = Symbol('cursor');
/** Marks a float compared with a relative tolerance. */
export class Approx {
  constructor(readonly value: number) {}
}

/** Builds the response data SQL says a document must get; `pages` says which page each list is on. */
export class Expectation {
  constructor(
    readonly truth: Truth,
    readonly principal: Principal,
  ) {}

  readonly #lists = new Map<Root, Promise<number[]>>();

  /** All ids a root list returns over every page, in order. */
  ids(root: Extract<Root, { kind: 'list' | 'view' }>): Promise<number[]> {
    let ids = this.#lists.get(root);
    if (!ids) {
      const model = root.kind === 'list' ? root.model : 'Customer';
      ids = listIds(this.truth, model, this.principal, root.where, root.orderBy);
      this.#lists.set(root, ids);
    }
    return ids;
  }

  async data(doc: DocSpec, pages: Map<Root, number>): Promise<Record<string, unknown>> {
    const data: Record<string, unknown> = {};
    for (const root of doc.roots) data[root.key] = await this.root(root, pages.get(root) ?? 0);
    return data;
  }

  async root(root: Root, page: number): Promise<unknown> {
    switch (root.kind) {
      case 'raw':
        throw new Error('a raw root has no expectation');
      case 'list':
      case 'view': {
        const take = root.first ?? DEFAULT_TAKE;
        const all = await this.ids(root);
        const ids = all.slice(page * take, (page + 1) * take);
        const result: Record<string, unknown> = {};
        const pageInfo = {
          hasNextPage: all.length > (page + 1) * take,
          hasPreviousPage: page > 0,
          startCursor: ids.length ? CURSOR : null,
          endCursor: ids.length ? CURSOR : null,
        };
        if (root.kind === 'view') {
          const totals = await customerOrderTotals(this.truth, ids, this.principal);
          result.nodes = ids.map((id) => {
            const row = this.truth.row('Customer', id)!;
            const total = totals.get(id)!;
            const values: Record<string, unknown> = {
              id,
              name: row.name,
              tier: row.tier,
              orderCount: total.count,
              lifetimeCents: total.sum,
            };
            return Object.fromEntries(root.fields.map((field) => [field, values[field]]));
          });
          if (root.totalCount) result.totalCount = all.length;
          if (root.pageInfo.length) result.pageInfo = pick(pageInfo, root.pageInfo);
          return result;
        }
        const { select } = root;
        const anything =
          select.totalCount || select.nodes || select.edges || select.pageInfo.length > 0;
        if (select.totalCount || !anything) result.totalCount = all.length;
        if (select.nodes) result.nodes = await this.objects(root.model, ids, select.nodes);
        if (select.edges) {
          const nodes = await this.objects(root.model, ids, select.edges);
          result.edges = nodes.map((node) => ({ cursor: CURSOR, node }));
        }
        if (select.pageInfo.length) result.pageInfo = pick(pageInfo, select.pageInfo);
        return result;
      }
      case 'single': {
        const row = this.truth.row(root.model, root.id);
        if (!this.truth.visible(root.model, row, this.principal)) return null;
        return (await this.objects(root.model, [root.id], root.children))[0];
      }
      case 'aggregate': {
        const fields = [...new Set(root.measures.flatMap((m) => m.fields))];
        const row = await aggregateTruth(
          this.truth,
          root.model,
          this.principal,
          root.where,
          fields,
        );
        const result: Record<string, unknown> = {};
        if (root.count) result.count = row.count;
        for (const measure of root.measures) {
          result[measure.op] = Object.fromEntries(
            measure.fields.map((field) => {
              const value = row[`${measure.op}_${field}`];
              if (value === null || value === undefined) return [field, null];
              return [field, measure.op === 'avg' ? new Approx(Number(value)) : Number(value)];
            }),
          );
        }
        return result;
      }
    }
  }

  /** The objects for these row ids (visible ones), with their nested relations. */
  async objects(model: ModelName, ids: number[], sels: Sel[]): Promise<Record<string, unknown>[]> {
    const nested = new Map<Sel, Map<number, unknown>>();
    for (const sel of sels) {
      if (sel.dropped) continue;
      if (sel.kind === 'one') {
        const rel = sel.relation;
        const targets = new Map<number, number | null>();
        for (const id of ids) {
          const key = this.truth.row(model, id)![rel.localField];
          const target = key === null ? undefined : this.truth.row(rel.target, Number(key));
          targets.set(
            id,
            target && this.truth.visible(rel.target, target, this.principal) ? Number(key) : null,
          );
        }
        const unique = [
          ...new Set([...targets.values()].filter((id): id is number => id !== null)),
        ];
        const objects = await this.objects(rel.target, unique, sel.children);
        const byId = new Map(unique.map((id, i) => [id, objects[i]]));
        nested.set(
          sel,
          new Map(
            ids.map((id) => [id, targets.get(id) === null ? null : byId.get(targets.get(id)!)]),
          ),
        );
      } else if (sel.kind === 'many') {
        const rel = sel.relation;
        const children = await childIds(
          this.truth,
          model,
          rel.name,
          ids,
          this.principal,
          sel.where,
          sel.orderBy,
          sel.first ?? DEFAULT_TAKE,
        );
        const all = [...new Set([...children.values()].flat())];
        const objects = await this.objects(rel.target, all, sel.children);
        const byId = new Map(all.map((id, i) => [id, objects[i]]));
        nested.set(
          sel,
          new Map(ids.map((id) => [id, children.get(id)!.map((child) => byId.get(child))])),
        );
      }
    }
    return ids.map((id) => {
      const row = this.truth.row(model, id)!;
      const object: Record<string, unknown> = {};
      for (const sel of sels) {
        if (sel.dropped) continue;
        if (sel.kind === 'field')
          object[sel.key] = expectedValue(this.principal.role, model, sel.field, row[sel.field]);
        else if (sel.kind === 'typename') object[sel.key] = model;
        else object[sel.key] = nested.get(sel)!.get(id);
      }
      return object;
    });
  }
}

function pick(source: Record<string, unknown>, keys: string[]) {
  return Object.fromEntries(keys.map((key) => [key, source[key]]));
}

/** Compares a response with an expectation; returns the first difference, or null. */
export function difference(actual: unknown, expected: unknown, path = '$'): string | null {
  if (expected === CURSOR) {
    return typeof actual === 'string' && actual.length > 0
      ? null
      : `${path}: expected a cursor, got ${JSON.stringify(actual)}`;
  }
  if (expected instanceof Approx) {
    return typeof actual === 'number' &&
      Math.abs(actual - expected.value) <= 1e-6 * Math.max(1, Math.abs(expected.value))
      ? null
      : `${path}: expected ≈${expected.value}, got ${JSON.stringify(actual)}`;
  }
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual)) return `${path}: expected a list, got ${JSON.stringify(actual)}`;
    if (actual.length !== expected.length)
      return `${path}: expected ${expected.length} items, got ${actual.length}`;
    for (let i = 0; i < expected.length; i++) {
      const diff = difference(actual[i], expected[i], `${path}[${i}]`);
      if (diff) return diff;
    }
    return null;
  }
  if (expected !== null && typeof expected === 'object') {
    if (actual === null || typeof actual !== 'object' || Array.isArray(actual))
      return `${path}: expected an object, got ${JSON.stringify(actual)}`;
    const keys = Object.keys(expected);
    const extra = Object.keys(actual).filter((key) => !keys.includes(key));
    if (extra.length) return `${path}: unexpected keys ${extra.join(', ')}`;
    for (const key of keys) {
      const diff = difference(
        (actual as Record<string, unknown>)[key],
        (expected as Record<string, unknown>)[key],
        `${path}.${key}`,
      );
      if (diff) return diff;
    }
    return null;
  }
  return Object.is(actual, expected)
    ? null
    : `${path}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`;
}
