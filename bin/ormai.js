#!/usr/bin/env node
// The `ormai` command: runs the TypeScript CLI through tsx (the generated Prisma client is .ts).
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
