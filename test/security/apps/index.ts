// The example apps the security suite runs on; SECURITY_APPS=saas,helpdesk picks some of them
// (`npm run test:security -- --app helpdesk`).
import type { SecurityAppSpec } from '../support/app-spec.js';
import { helpdeskSpec } from './helpdesk.js';
import { saasSpec } from './saas.js';

const ALL: SecurityAppSpec[] = [saasSpec, helpdeskSpec];

const chosen = process.env.SECURITY_APPS?.split(',').filter(Boolean);

export const SECURITY_APPS: SecurityAppSpec[] = chosen
  ? ALL.filter((spec) => chosen.includes(spec.app.name))
  : ALL;
