import { renderGraphiQL } from '@graphql-yoga/render-graphiql';
import type { GraphiQLOptions } from 'graphql-yoga';

const DEFAULT_QUERY = `# Paste a dev token printed by \`npm start\` into Headers below:
#   { "Authorization": "Bearer <token>" }
# Every row you can reach belongs to the token's tenant, and the schema
# (see Docs) is the one the token's roles may read.
query RecentOrders {
  orders(first: 5, orderBy: [{ createdAt: DESC }]) {
    totalCount
    nodes {
      id
      status
      totalCents
      customer { name email }
    }
    pageInfo { hasNextPage endCursor }
  }
}
`;

/** GraphiQL as ormai serves it: Headers open with a placeholder for the token. */
export function graphiqlOptions(appName: string): GraphiQLOptions {
  return {
    title: `ormai · ${appName}`,
    defaultQuery: DEFAULT_QUERY,
    headers: JSON.stringify({ Authorization: 'Bearer <paste a dev token here>' }, null, 2),
    defaultEditorToolsVisibility: 'headers',
  };
}

// GraphiQL fetches the schema once, with the Headers of that moment: a token pasted later would
// leave Docs at "Error fetching schema" until its refresh button is found. The schema depends on
// the token (its roles), so this presses that button whenever the Headers text settles on a new
// value, and while the schema cannot be fetched, Docs says where a token that works comes from.
// It reads the page as rendered (GraphiQL takes no callbacks through yoga's JSON options).
const REFETCH_ON_HEADERS = `
(() => {
  const HEADERS = '[data-uri$="request-headers.json"] .view-lines';
  const REFETCH = 'button[aria-label^="Re-fetch GraphQL schema"]';
  const NOTE = 'The schema is the one your token\\'s roles may read. Paste a dev token printed at start by ormai serve (npm start) into Headers as { "Authorization": "Bearer <token>" }; Docs loads as soon as you do.';
  let fetchedWith = null;
  let timer;
  const refetch = () => {
    const button = document.querySelector(REFETCH);
    if (button && !button.disabled) button.click();
    else setTimeout(refetch, 250);
  };
  const settle = () => {
    const text = document.querySelector(HEADERS)?.textContent ?? '';
    if (text.trim() !== '') {
      // the first text seen is what GraphiQL fetched the schema with on load
      if (fetchedWith !== null && text !== fetchedWith) refetch();
      fetchedWith = text;
    }
    const error = document.querySelector('.graphiql-doc-explorer-error');
    if (error && !error.querySelector('.ormai-token-note')) {
      const note = document.createElement('p');
      note.className = 'ormai-token-note';
      note.textContent = NOTE;
      error.append(note);
    }
  };
  new MutationObserver(() => {
    clearTimeout(timer);
    timer = setTimeout(settle, 400);
  }).observe(document.body, { childList: true, subtree: true, characterData: true });
})();
`;

/** yoga's bundled GraphiQL (offline: no script or stylesheet from another host) and the script above. */
export function renderOrmaiGraphiQL(options: GraphiQLOptions): string {
  const page = renderGraphiQL(options);
  const at = page.lastIndexOf('</body>');
  return `${page.slice(0, at)}<script>${REFETCH_ON_HEADERS}</script>\n${page.slice(at)}`;
}
