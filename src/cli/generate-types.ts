import {
  type FragmentDefinitionNode,
  type GraphQLInputType,
  type GraphQLObjectType,
  type GraphQLOutputType,
  getNamedType,
  isEnumType,
  isInputObjectType,
  isListType,
  isNonNullType,
  isObjectType,
  isScalarType,
  Kind,
  type SelectionSetNode,
} from 'graphql';

/** What a scalar is in the JSON of an answer (serialize in src/schema/scalars.ts). */
const OUTPUT_SCALARS: Record<string, string> = {
  Int: 'number',
  Float: 'number',
  Boolean: 'boolean',
  JSON: 'unknown',
};

/** What a scalar variable may be given as (parseValue in src/schema/scalars.ts). */
const INPUT_SCALARS: Record<string, string> = {
  ...OUTPUT_SCALARS,
  BigInt: 'string | number',
  Decimal: 'string | number',
};

/** `string`, `number | null`, `Array<…>`: the TypeScript of one scalar or enum, named types aside. */
function leaf(named: ReturnType<typeof getNamedType>, scalars: Record<string, string>): string {
  if (isEnumType(named)) {
    return named
      .getValues()
      .map((value) => `'${value.name}'`)
      .join(' | ');
  }
  if (isScalarType(named)) return scalars[named.name] ?? 'string';
  return 'unknown';
}

const nullable = (text: string) => `${text} | null`;

/**
 * The TypeScript type of an operation's `data` (what a domain tool returns as structuredContent):
 * fields by alias, nested selections, fragments merged, a field under `@include`/`@skip` optional.
 */
export function selectionType(
  parent: GraphQLObjectType,
  selectionSet: SelectionSetNode,
  fragments: Map<string, FragmentDefinitionNode>,
  indent = 0,
): string {
  const lines = collectFields(parent, selectionSet, fragments, false).map(
    ({ name, type, selection, optional }) => {
      const text =
        type === null ? 'string' : outputType(type, selection.selectionSet, fragments, indent + 2);
      return `${' '.repeat(indent + 2)}${propertyName(name)}${optional ? '?' : ''}: ${text};`;
    },
  );
  return lines.length === 0 ? '{}' : `{\n${lines.join('\n')}\n${' '.repeat(indent)}}`;
}

interface CollectedField {
  name: string;
  /** null for `__typename` */
  type: GraphQLOutputType | null;
  selection: { selectionSet?: SelectionSetNode | undefined };
  optional: boolean;
}

function collectFields(
  parent: GraphQLObjectType,
  selectionSet: SelectionSetNode,
  fragments: Map<string, FragmentDefinitionNode>,
  conditional: boolean,
): CollectedField[] {
  const out: CollectedField[] = [];
  for (const selection of selectionSet.selections) {
    const optional =
      conditional ||
      Boolean(
        selection.directives?.some((d) => d.name.value === 'include' || d.name.value === 'skip'),
      );
    if (selection.kind === Kind.FIELD) {
      const type =
        selection.name.value === '__typename'
          ? null
          : (parent.getFields()[selection.name.value]?.type ?? null);
      const name = selection.alias?.value ?? selection.name.value;
      addField(out, { name, type, selection, optional });
      continue;
    }
    const fragment =
      selection.kind === Kind.INLINE_FRAGMENT ? selection : fragments.get(selection.name.value);
    if (!fragment) continue;
    for (const field of collectFields(parent, fragment.selectionSet, fragments, optional)) {
      addField(out, field);
    }
  }
  return out;
}

/** The same field twice (in a fragment and beside it) is one property, its selections merged. */
function addField(out: CollectedField[], field: CollectedField): void {
  const seen = out.find((existing) => existing.name === field.name);
  if (!seen) {
    out.push(field);
    return;
  }
  seen.optional &&= field.optional;
  const [mine, theirs] = [seen.selection.selectionSet, field.selection.selectionSet];
  if (mine && theirs) {
    seen.selection = {
      selectionSet: {
        kind: Kind.SELECTION_SET,
        selections: [...mine.selections, ...theirs.selections],
      },
    };
  }
}

function outputType(
  type: GraphQLOutputType,
  selectionSet: SelectionSetNode | undefined,
  fragments: Map<string, FragmentDefinitionNode>,
  indent: number,
): string {
  if (isNonNullType(type)) return nonNullOutput(type.ofType, selectionSet, fragments, indent);
  return nullable(nonNullOutput(type, selectionSet, fragments, indent));
}

function nonNullOutput(
  type: GraphQLOutputType,
  selectionSet: SelectionSetNode | undefined,
  fragments: Map<string, FragmentDefinitionNode>,
  indent: number,
): string {
  if (isListType(type)) return `Array<${outputType(type.ofType, selectionSet, fragments, indent)}>`;
  const named = getNamedType(type);
  if (isObjectType(named) && selectionSet)
    return selectionType(named, selectionSet, fragments, indent);
  return leaf(named, OUTPUT_SCALARS);
}

/**
 * The TypeScript of a variable's type; input objects (a where input) become interfaces of their
 * own, added to `declarations` under their GraphQL name (recursive ones refer to themselves).
 */
export function inputType(type: GraphQLInputType, declarations: Map<string, string>): string {
  if (isNonNullType(type)) return nonNullInput(type.ofType, declarations);
  return nullable(nonNullInput(type, declarations));
}

function nonNullInput(type: GraphQLInputType, declarations: Map<string, string>): string {
  if (isListType(type)) return `Array<${inputType(type.ofType, declarations)}>`;
  const named = getNamedType(type);
  if (!isInputObjectType(named)) return leaf(named, INPUT_SCALARS);
  if (!declarations.has(named.name)) {
    declarations.set(named.name, '');
    const fields = Object.values(named.getFields()).map((field) => {
      const optional = !isNonNullType(field.type) || field.defaultValue !== undefined;
      return `  ${propertyName(field.name)}${optional ? '?' : ''}: ${inputType(field.type, declarations)};`;
    });
    declarations.set(named.name, `export interface ${named.name} {\n${fields.join('\n')}\n}`);
  }
  return named.name;
}

function propertyName(name: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(name) ? name : `'${name}'`;
}
