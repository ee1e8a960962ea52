import { StartupError } from '../startup-error.js';
import { READ_TOOLS, WRITE_TOOLS } from './tools.js';

/**
 * How tools are listed: `function` names (`db_query`, accepted by the OpenAI and Anthropic tool
 * APIs, which LangChain and the AI SDK pass MCP names to unchanged) or OrmAI's `dotted` names
 * (`db.query`). tools/call accepts either; audit records and logs name the listed one.
 */
export type ToolNameStyle = 'function' | 'dotted';

export const DEFAULT_TOOL_NAME_STYLE: ToolNameStyle = 'function';

/** The tool-name pattern of the OpenAI and Anthropic APIs. */
export const FUNCTION_NAME = /^[a-zA-Z0-9_-]{1,64}$/;

/** OrmAI's name in the function-safe alphabet: every other character becomes `_`. */
export function functionName(name: string): string {
  return name.replace(/[^a-zA-Z0-9_-]/g, '_');
}

/** The name a tool (OrmAI's name) is listed under. */
export function listedName(name: string, style: ToolNameStyle): string {
  return style === 'function' ? functionName(name) : name;
}

/** The other style's name, accepted by tools/call but never listed. */
export function aliasName(name: string, style: ToolNameStyle): string {
  return style === 'function' ? name : functionName(name);
}

/**
 * Refuses, at start, tool names a model API would reject or that two tools would share once
 * made function-safe (`orders.recent` and `orders_recent` are one name to a model).
 */
export function assertToolNames(names: readonly string[]): void {
  const seen = new Map<string, string>();
  for (const name of names) {
    const safe = functionName(name);
    if (!FUNCTION_NAME.test(safe)) {
      throw new StartupError(
        'TOOL_NAME_INVALID',
        `the tool name ${JSON.stringify(name)} is ${safe.length === 0 ? 'empty' : `${safe.length} characters long as a function name (${safe})`}; model APIs take 1 to 64`,
        { hints: ['rename the domain tool in app.domainTools'], details: { tool: name } },
      );
    }
    const other = seen.get(safe);
    if (other !== undefined) {
      throw new StartupError(
        'TOOL_NAME_COLLISION',
        `the tools ${JSON.stringify(other)} and ${JSON.stringify(name)} are both ${safe} as function names`,
        {
          hints: ['rename one of the domain tools in app.domainTools'],
          details: { tools: [other, name], functionName: safe },
        },
      );
    }
    seen.set(safe, name);
  }
}

const DB_TOOL_MENTION = new RegExp(
  `\\b(${[...READ_TOOLS, ...WRITE_TOOLS].map((name) => name.replace('.', '\\.')).join('|')})\\b`,
  'g',
);

/** A text (a description, an error hint) naming db.* tools by the names they are listed under. */
export function mentionsIn(text: string, style: ToolNameStyle): string {
  return style === 'dotted' ? text : text.replace(DB_TOOL_MENTION, (name) => functionName(name));
}
