// The specs of every example app, in the order of EXAMPLE_APPS (test/helpers/runtime.ts).
import { EXAMPLE_APPS } from '../helpers/runtime.js';
import { helpdeskSpec } from './helpdesk.js';
import { saasSpec } from './saas.js';
import type { AppSpec } from './spec.js';

export const APP_SPECS: AppSpec[] = [saasSpec, helpdeskSpec];

// a new example app needs its spec here, or the guarantee suites would silently skip it
for (const app of EXAMPLE_APPS) {
  if (!APP_SPECS.some((spec) => spec.app === app)) {
    throw new Error(`test/apps has no spec for the example app ${app.name}`);
  }
}
