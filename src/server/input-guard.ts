import type { ASTVisitor, ValidationContext } from 'graphql';
import { OrmaiError, validationError } from '../errors.js';
import { DEFAULT_MAX_INPUT_DEPTH } from '../policy/defaults.js';

/**
 * Input no resolver could serve: nested deeper than `DEFAULT_MAX_INPUT_DEPTH` (the executor and
 * Prisma recurse over it), or a string with a NUL character (PostgreSQL text cannot hold one).
 * Refused before execution with the error that says how to fix it, never an INTERNAL_ERROR.
 */
export function variablesProblem(variables: unknown): OrmaiError | null {
  // iterative: a hostile document can nest far deeper than the call stack
  const stack: [unknown, number, string][] = [[variables, 0, '']];
  let deepest = 0;
  while (stack.length > 0) {
    const [value, depth, path] = stack.pop()!;
    if (typeof value === 'string') {
      if (value.includes('\u0000')) return nulError(path);
      continue;
    }
    if (value === null || typeof value !== 'object') continue;
    const level = depth + 1;
    deepest = Math.max(deepest, level);
    for (const [key, inner] of Object.entries(value)) {
      if (key.includes('\u0000')) return nulError(path);
      stack.push([inner, level, Array.isArray(value) ? path : key]);
    }
  }
  // the variables object itself is not a level of any argument
  return deepest - 1 > DEFAULT_MAX_INPUT_DEPTH ? depthError(deepest - 1) : null;
}

/** The same limits for values written in the document. */
export function inputLiteralRule(context: ValidationContext): ASTVisitor {
  let depth = 0;
  let deepest = 0;
  // the argument or input field a string is the value of
  const names: string[] = [];
  const named = {
    enter: (node: { name: { value: string } }) => {
      names.push(node.name.value);
    },
    leave: () => {
      names.pop();
    },
  };
  const enter = () => {
    depth += 1;
    deepest = Math.max(deepest, depth);
  };
  const leave = () => {
    depth -= 1;
  };
  return {
    ObjectValue: { enter, leave },
    ListValue: { enter, leave },
    Argument: named,
    ObjectField: named,
    StringValue(node) {
      if (node.value.includes('\u0000')) context.reportError(nulError(names.at(-1) ?? ''));
    },
    Document: {
      leave() {
        if (deepest > DEFAULT_MAX_INPUT_DEPTH) context.reportError(depthError(deepest));
      },
    },
  };
}

function depthError(requested: number) {
  return new OrmaiError(
    'QUERY_BUDGET_EXCEEDED',
    `input values nest ${requested} levels deep; the limit is ${DEFAULT_MAX_INPUT_DEPTH}`,
    {
      retryable: true,
      hints: ['nest filters less deeply: AND/OR lists take many conditions side by side'],
      details: { budget: 'max_input_depth', limit: DEFAULT_MAX_INPUT_DEPTH, requested },
    },
  );
}

function nulError(field: string) {
  return validationError(
    `${field ? `${field}: ` : ''}a string contains a NUL character (\\u0000), which text cannot hold`,
    field,
    ['remove the NUL character'],
  );
}
