import type { Plugin } from 'graphql-yoga';
import { budgetError } from '../schema/budget-rules.js';

/** graphql's parser stops a document past `maxTokens` with this syntax error. */
const TOKEN_LIMIT = /^Syntax Error: Document contains more th[ae]n (\d+) tokens/;

/**
 * The parse-time token guard: graphql's own parser stops counting at `maxTokens` (a huge document
 * costs nothing to refuse), answered as the max_tokens budget. It is graphql's `parse` option, not a
 * parser of a package of its own: a CommonJS guard (graphql-armor's) loads graphql through
 * `require`, which a loader can hand a second copy whose errors fail `instanceof GraphQLError`
 * and come out as INTERNAL_ERROR. Parsed documents are cached across principals, so `maxTokens` is
 * the most generous role's; each role set's own limit is checked at validation (budget-rules.ts).
 */
export function tokenLimitPlugin(maxTokens: number): Plugin {
  return {
    onParse({ parseFn, setParseFn }) {
      setParseFn((source, options) => {
        try {
          return parseFn(source, { ...options, maxTokens });
        } catch (error) {
          if (!TOKEN_LIMIT.test(String((error as Error | null)?.message))) throw error;
          throw budgetError('max_tokens', maxTokens, maxTokens + 1);
        }
      });
    },
  };
}
