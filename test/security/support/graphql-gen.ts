// Random GraphQL documents a principal may send (root lists, single rows, aggregates, the view;
// nested relations with where/orderBy/first; aliases, named and inline fragments, @skip/@include),
// their rendering, the budgets they use, and the response SQL says they must get.
import fc from 'fast-check';
import type { FragmentDefinitionNode, SelectionSetNode } from 'graphql';
import { Kind, Lexer, parse, Source, TokenKind } from 'graphql';
import type { CompiledView } from '../../../src/policy/compile-policy.js';
import type { Budgets } from '../../../src/policy/types.js';
import { modelNames } from '../../../src/schema/naming.js';
import {
  type AppModel,
  ExactDecimal,
  type FieldInfo,
  type Principal,
  type RelationInfo,
} from './app-model.js';
import { FilterArbitraries, someOf, type Where } from './filters.js';
import {
  Approx,
  aggregateTruth,
  childKeys,
  listKeys,
  type OrderBy,
  type Row,
  relatedTotals,
  type Truth,
} from './truth.js';

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
  | (Common & { kind: 'one'; relation: RelationInfo; children: Sel[] })
  | (Common & {
      kind: 'many';
      relation: RelationInfo;
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
      model: string;
      where: Where | null;
      orderBy: OrderBy | null;
      first: number | null;
      select: ConnectionSelection;
    })
  | (Common & { kind: 'single'; model: string; id: Row; children: Sel[] })
  | (Common & {
      kind: 'aggregate';
      model: string;
      where: Where | null;
      count: boolean;
      measures: { op: 'sum' | 'avg' | 'min' | 'max'; fields: string[] }[];
    })
  | (Common & { kind: 'raw'; text: string })
  | (Common & {
      kind: 'view';
      view: CompiledView;
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

/** The GraphQL type of an argument holding a value of this field. */
export function graphqlType(field: FieldInfo): string {
  return (
    {
      Int: 'Int',
      Float: 'Float',
      Boolean: 'Boolean',
      DateTime: 'DateTime',
      BigInt: 'BigInt',
      Decimal: 'Decimal',
    }[field.type] ?? 'String'
  );
}

/** A view's list root (`customerSummaries`). */
export const viewList = (view: CompiledView) => modelNames(view.name).list;

/** The fields a view's rows offer the role: its plain fields and its computed values. */
export const viewFields = (view: CompiledView) => [
  ...view.fields.map((field) => field.name),
  ...view.computed.map((computed) => computed.name),
];

export class DocArbitraries {
  readonly filters: FilterArbitraries;
  readonly budgets: Budgets;
  readonly #selections = new Map<string, fc.Arbitrary<Sel[]>>();

  constructor(
    readonly truth: Truth,
    readonly principal: Principal,
  ) {
    this.filters = new FilterArbitraries(truth, principal);
    this.budgets = truth.model.budgets(principal.role);
  }

  get app(): AppModel {
    return this.truth.model;
  }

  /** A first argument: mostly small, sometimes absent (the default). */
  first(max: number): fc.Arbitrary<number | null> {
    return fc.oneof(
      { weight: 1, arbitrary: fc.constant(null) },
      { weight: 4, arbitrary: fc.integer({ min: 1, max }) },
    );
  }

  /** The selection on an object of `model`, `depth` relations below the root. */
  selection(model: string, depth: number): fc.Arbitrary<Sel[]> {
    const key = `${model}:${depth}`;
    const cached = this.#selections.get(key);
    if (cached) return cached;
    const role = this.principal.role;
    const scalars = someOf(this.app.selectableFields(role, model), 1, depth === 0 ? 5 : 3).map(
      (fields) => fields.map((field): Sel => ({ kind: 'field', key: field, field })),
    );
    const relations =
      depth < this.budgets.maxIncludeDepth
        ? someOf(this.app.relationsOf(role, model), 0, depth === 0 ? 2 : 1).chain((rels) =>
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

  relationSel(rel: RelationInfo, depth: number): fc.Arbitrary<Sel> {
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

  /** A key of `model`: mostly one of its rows, sometimes one that may not exist. */
  keyOf(model: string): fc.Arbitrary<Row> {
    const info = this.app.model(model);
    const rows = this.truth.keysNamingTenant(model, this.principal.tenantId);
    const root = this.app.tenantRoot();
    // the tenant itself by another tenant's key is a scope violation, tested as a fault
    if (root?.name === model) return fc.constant({ [root.key[0]!]: this.principal.tenantId });
    const made = fc.tuple(
      ...info.key.map((name) => {
        const field = info.fields.get(name)!;
        if (name === info.tenantField) return fc.constant(this.principal.tenantId as unknown);
        if (field.type === 'Int')
          return fc.integer({ min: -5, max: 20_000 }) as fc.Arbitrary<unknown>;
        if (field.type === 'BigInt') return fc.bigInt({ min: 0n, max: 2n ** 62n }).map(String);
        return fc.uuid() as fc.Arbitrary<unknown>;
      }),
    );
    return fc.oneof(
      {
        weight: 4,
        arbitrary: fc.constantFrom(...rows).map((key) => this.truth.keyValues(model, key)),
      },
      {
        weight: 1,
        arbitrary: made.map((values) =>
          Object.fromEntries(info.key.map((name, i) => [name, values[i]])),
        ),
      },
    );
  }

  root(): fc.Arbitrary<Root> {
    const role = this.principal.role;
    const models = this.app.readableModels(role);
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
            key: this.app.model(model).list,
            model,
            ...args,
            select: { totalCount, nodes, edges, pageInfo },
          }),
        ),
    );
    const single = fc.constantFrom(...models).chain((model) =>
      fc.record({ id: this.keyOf(model), children: this.selection(model, 0) }).map(
        ({ id, children }): Root => ({
          kind: 'single',
          key: this.app.model(model).single,
          model,
          id,
          children,
        }),
      ),
    );
    const aggregated = models.filter((model) => this.app.numericFields(role, model).length > 0);
    const aggregate = fc.constantFrom(...models).chain((model) => {
      const numeric = this.app.numericFields(role, model);
      return fc
        .record({
          where: fc.option(this.filters.where(model, 2), { nil: null }),
          count: fc.boolean(),
          measures: numeric.length
            ? fc
                .subarray(['sum', 'avg', 'min', 'max'] as const)
                .chain((ops) =>
                  fc.tuple(
                    ...ops.map((op) => someOf(numeric, 1, 3).map((fields) => ({ op, fields }))),
                  ),
                )
            : fc.constant([] as { op: 'sum' | 'avg' | 'min' | 'max'; fields: string[] }[]),
        })
        .map(
          (args): Root => ({
            kind: 'aggregate',
            key: `${this.app.model(model).list}Aggregate`,
            model,
            ...args,
            count: args.count || args.measures.length === 0,
          }),
        );
    });
    const views = [...this.app.compiled(role).views.values()];
    const view = views.length
      ? fc.constantFrom(...views).chain((chosen) =>
          fc
            .record({
              where: fc.option(this.filters.where(chosen.model, 1), { nil: null }),
              orderBy: fc.option(this.filters.orderBy(chosen.model), { nil: null }),
              first: this.first(30),
              fields: fc.subarray(viewFields(chosen), { minLength: 1 }),
              totalCount: fc.boolean(),
              pageInfo: fc.subarray(PAGE_INFO),
            })
            .map((args): Root => ({ kind: 'view', key: viewList(chosen), view: chosen, ...args })),
        )
      : null;
    return fc.oneof(
      { weight: 6, arbitrary: list },
      { weight: 2, arbitrary: single },
      { weight: aggregated.length ? 2 : 1, arbitrary: aggregate },
      ...(view ? [{ weight: 1, arbitrary: view }] : []),
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

/** Whether a where input names an enum field anywhere (through relations and AND/OR/NOT). */
function mentionsEnum(app: AppModel, model: string, where: unknown): boolean {
  if (!where || typeof where !== 'object') return false;
  return Object.entries(where).some(([key, value]) => {
    if (key === 'AND' || key === 'OR' || key === 'NOT')
      return (value as unknown[] | null)?.some((item) => mentionsEnum(app, model, item)) ?? false;
    const relation = app.relation(model, key);
    if (relation)
      return Object.values(value ?? {}).some((inner) => mentionsEnum(app, relation.target, inner));
    return app.model(model).fields.get(key)?.isEnum ?? false;
  });
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
export function render(doc: DocSpec, app: AppModel): Rendered {
  const random = prng(doc.seed);
  const chance = (p: number) => random() < p;
  const declarations: string[] = [];
  const variables: Record<string, unknown> = {};
  const fragments: string[] = [];
  const afterVariables = new Map<Root, string>();
  let counter = 0;
  let aliases = 0;
  let directives = 0;

  const arg = (name: string, value: unknown, type: string, enums = false, inline = true) => {
    if (value === undefined) return '';
    if (chance(0.5) && inline) return `${name}: ${literal(value, enums)}`;
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
  // an enum value is a bare name in a literal, a string in variables: where inputs with enum
  // values travel as variables, so the document reads the same whichever way the schema types them
  const where = (model: string, value: Where) =>
    arg('where', value, `${model}WhereInput`, false, !mentionsEnum(app, model, value));
  const sels = (model: string, list: Sel[]): string =>
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
          sel.where === null ? '' : where(target, sel.where),
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
        return `${alias}${app.model(model).list}${args([
          root.where === null ? '' : where(model, root.where),
          root.orderBy === null
            ? ''
            : arg('orderBy', root.orderBy, `[${model}OrderByInput!]`, true),
          root.first === null ? '' : arg('first', root.first, 'Int'),
          after(root),
        ])} ${selectionSet(`${model}Connection`, parts)}`;
      }
      case 'single':
        return `${alias}${app.model(root.model).single}${args(
          Object.entries(root.id).map(([name, value]) =>
            arg(name, value, `${graphqlType(app.field(root.model, name))}!`),
          ),
        )} ${sels(root.model, root.children)}`;
      case 'aggregate': {
        const parts = [
          ...(root.count ? ['count'] : []),
          ...root.measures.map((m) => `${m.op} { ${m.fields.join(' ')} }`),
        ];
        return `${alias}${app.model(root.model).list}Aggregate${args([
          root.where === null ? '' : where(root.model, root.where),
        ])} { ${parts.join(' ')} }`;
      }
      default: {
        const parts = [`nodes { ${root.fields.join(' ')} }`];
        if (root.totalCount) parts.push('totalCount');
        if (root.pageInfo.length) parts.push(`pageInfo { ${root.pageInfo.join(' ')} }`);
        const model = root.view.model;
        return `${alias}${viewList(root.view)}${args([
          root.where === null ? '' : where(model, root.where),
          root.orderBy === null
            ? ''
            : arg('orderBy', root.orderBy, `[${model}OrderByInput!]`, true),
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
export function budgetUse(doc: DocSpec, rendered: Rendered, budgets: Budgets): BudgetUse {
  let includeDepth = 0;
  const multiplier = (first: number | null) => Math.max(1, first ?? budgets.defaultTake);
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
export function exceeded(
  use: BudgetUse,
  budgets: Budgets,
  near = 1,
): { certain: string[]; possible: string[] } {
  const certain: string[] = [];
  const possible: string[] = [];
  const check = (budget: string, used: number, limit: number) => {
    if (used > limit) certain.push(budget);
    else if (used > limit * near) possible.push(budget);
  };
  check('max_include_depth', use.includeDepth, budgets.maxIncludeDepth);
  check('max_selected_fields', use.selectedFields, budgets.maxSelectedFields);
  check('max_aliases', use.aliases, budgets.maxAliases);
  check('max_directives', use.directives, budgets.maxDirectives);
  check('max_depth', use.depth, budgets.maxDepth);
  check('complexity', use.complexity, budgets.maxComplexity);
  // graphql-armor counts tokens while parsing; near the limit, count as either
  if (use.tokens > budgets.maxTokens + 50) certain.push('max_tokens');
  else if (use.tokens > Math.min(budgets.maxTokens - 50, budgets.maxTokens * near))
    possible.push('max_tokens');
  return { certain, possible };
}

/** Marks a value the response must hold as a non-empty opaque cursor string. */
export const CURSOR = Symbol('cursor');

/** Builds the response data SQL says a document must get; `pages` says which page each list is on. */
export class Expectation {
  readonly take: number;

  constructor(
    readonly truth: Truth,
    readonly principal: Principal,
  ) {
    this.take = truth.model.budgets(principal.role).defaultTake;
  }

  get app(): AppModel {
    return this.truth.model;
  }

  readonly #lists = new Map<Root, Promise<string[]>>();

  /** All keys a root list returns over every page, in order. */
  keys(root: Extract<Root, { kind: 'list' | 'view' }>): Promise<string[]> {
    let keys = this.#lists.get(root);
    if (!keys) {
      const model = root.kind === 'list' ? root.model : root.view.model;
      keys = listKeys(this.truth, model, this.principal, root.where, root.orderBy);
      this.#lists.set(root, keys);
    }
    return keys;
  }

  async data(doc: DocSpec, pages: Map<Root, number>): Promise<Record<string, unknown>> {
    await this.truth.prepare(this.principal);
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
        const take = root.first ?? this.take;
        const all = await this.keys(root);
        const keys = all.slice(page * take, (page + 1) * take);
        const result: Record<string, unknown> = {};
        const pageInfo = {
          hasNextPage: all.length > (page + 1) * take,
          hasPreviousPage: page > 0,
          startCursor: keys.length ? CURSOR : null,
          endCursor: keys.length ? CURSOR : null,
        };
        if (root.kind === 'view') {
          result.nodes = await this.viewRows(root.view, keys, root.fields);
          if (root.totalCount) result.totalCount = all.length;
          if (root.pageInfo.length) result.pageInfo = pick(pageInfo, root.pageInfo);
          return result;
        }
        const { select } = root;
        const anything =
          select.totalCount || select.nodes || select.edges || select.pageInfo.length > 0;
        if (select.totalCount || !anything) result.totalCount = all.length;
        if (select.nodes) result.nodes = await this.objects(root.model, keys, select.nodes);
        if (select.edges) {
          const nodes = await this.objects(root.model, keys, select.edges);
          result.edges = nodes.map((node) => ({ cursor: CURSOR, node }));
        }
        if (select.pageInfo.length) result.pageInfo = pick(pageInfo, select.pageInfo);
        return result;
      }
      case 'single': {
        const key = this.truth.keyOf(root.model, root.id);
        if (!this.truth.visible(root.model, key, this.principal)) return null;
        return (await this.objects(root.model, [key], root.children))[0];
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
            measure.fields.map((field) => [field, row[`${measure.op}_${field}`]]),
          );
        }
        return result;
      }
    }
  }

  /** A view's rows: its fields as the role reads them, and its computed counts and sums. */
  async viewRows(view: CompiledView, keys: string[], fields: string[]) {
    const computed = new Map<string, Map<string, number>>();
    for (const item of view.computed) {
      if (!fields.includes(item.name)) continue;
      computed.set(
        item.name,
        await relatedTotals(
          this.truth,
          view.model,
          item.relation.name,
          keys,
          this.principal,
          item.kind === 'sum' ? item.field!.name : null,
        ),
      );
    }
    return keys.map((key) => {
      const row = this.truth.row(view.model, key)!;
      return Object.fromEntries(
        fields.map((field) => [
          field,
          computed.has(field)
            ? computed.get(field)!.get(key)
            : this.app.expectedValue(this.principal.role, view.model, field, row[field]),
        ]),
      );
    });
  }

  /** The objects for these row keys (visible ones), with their nested relations. */
  async objects(model: string, keys: string[], sels: Sel[]): Promise<Record<string, unknown>[]> {
    const nested = new Map<Sel, Map<string, unknown>>();
    for (const sel of sels) {
      if (sel.dropped) continue;
      if (sel.kind === 'one') {
        const rel = sel.relation;
        const targets = new Map<string, string | null>();
        for (const key of keys) {
          const target = this.truth.toOne(model, rel, key);
          targets.set(key, this.truth.visible(rel.target, target, this.principal) ? target : null);
        }
        const unique = [...new Set([...targets.values()].filter((key) => key !== null))];
        const objects = await this.objects(rel.target, unique, sel.children);
        const byKey = new Map(unique.map((key, i) => [key, objects[i]]));
        nested.set(
          sel,
          new Map(
            keys.map((key) => {
              const target = targets.get(key)!;
              return [key, target === null ? null : byKey.get(target)];
            }),
          ),
        );
      } else if (sel.kind === 'many') {
        const rel = sel.relation;
        const children = await childKeys(
          this.truth,
          model,
          rel.name,
          keys,
          this.principal,
          sel.where,
          sel.orderBy,
          sel.first ?? this.take,
        );
        const all = [...new Set([...children.values()].flat())];
        const objects = await this.objects(rel.target, all, sel.children);
        const byKey = new Map(all.map((key, i) => [key, objects[i]]));
        nested.set(
          sel,
          new Map(keys.map((key) => [key, children.get(key)!.map((child) => byKey.get(child))])),
        );
      }
    }
    return keys.map((key) => {
      const row = this.truth.row(model, key)!;
      const object: Record<string, unknown> = {};
      for (const sel of sels) {
        if (sel.dropped) continue;
        if (sel.kind === 'field')
          object[sel.key] = this.app.expectedValue(
            this.principal.role,
            model,
            sel.field,
            row[sel.field],
          );
        else if (sel.kind === 'typename') object[sel.key] = model;
        else object[sel.key] = nested.get(sel)!.get(key);
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
    const value = typeof actual === 'string' && actual.trim() !== '' ? Number(actual) : actual;
    return typeof value === 'number' &&
      Math.abs(value - expected.value) <= 1e-6 * Math.max(1, Math.abs(expected.value))
      ? null
      : `${path}: expected ≈${expected.value}, got ${JSON.stringify(actual)}`;
  }
  if (expected instanceof ExactDecimal) {
    return typeof actual === 'string' && sameDecimal(actual, expected.value)
      ? null
      : `${path}: expected the decimal string ${expected.value}, got ${JSON.stringify(actual)}`;
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

/** Two decimal strings name the same number (`12.50` and `12.5`, `-0` and `0`). */
function sameDecimal(a: string, b: string): boolean {
  const canonical = (text: string) => {
    const match = /^(-?)(\d+)(?:\.(\d+))?$/.exec(text.trim());
    if (!match) return null;
    const whole = match[2]!.replace(/^0+(?=\d)/, '');
    const fraction = (match[3] ?? '').replace(/0+$/, '');
    const body = fraction ? `${whole}.${fraction}` : whole;
    return body === '0' ? body : `${match[1]}${body}`;
  };
  const left = canonical(a);
  return left !== null && left === canonical(b);
}
