#!/usr/bin/env node
// The `ormai` command: the compiled CLI (`npm run build` writes dist/).
import { existsSync } from 'node:fs';

const main = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(main)) {
  console.error('ormai: dist/ is missing; run `npm run build` first');
  process.exit(1);
}
await import(main.href);
