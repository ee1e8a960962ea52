// Opens one example app for a security test file: the test app, its cross-tenant rows, the model
// derived from its datamodel and policy, and the ground truth read from its database.
import fc from 'fast-check';
import { beforeAll } from 'vitest';
import { type DatabaseKind, type TestApp, useTestApp } from '../../helpers/runtime.js';
import { AppModel, type Principal } from './app-model.js';
import type { SecurityAppSpec } from './app-spec.js';
import { Truth } from './truth.js';

export interface SecurityApp {
  app: TestApp;
  model: AppModel;
  truth: Truth;
}

/** Registers beforeAll hooks and returns a handle filled in by them. */
export function useSecurityApp(kind: DatabaseKind, spec: SecurityAppSpec): SecurityApp {
  const app = useTestApp(kind, { app: spec.app });
  const handle = { app } as SecurityApp;
  beforeAll(async () => {
    await spec.addCrossTenantRows?.(app.sql);
    handle.model = await AppModel.load(spec, app.sql);
    handle.truth = await Truth.load(handle.model, app);
  }, 120_000);
  return handle;
}

/** A random principal: a tenant, one role, and a sub the app's spec gives that role there. */
export function principalArb(truth: Truth): fc.Arbitrary<Principal> {
  const { model } = truth;
  return fc
    .record({
      tenantId: fc.constantFrom(...truth.tenants),
      role: fc.constantFrom(...model.roles),
      pick: fc.nat(),
    })
    .map(({ tenantId, role, pick }) => {
      const pool = model.spec.subs(truth, tenantId, role);
      return { tenantId, role, sub: pool.length ? pool[pick % pool.length]! : '1' };
    });
}

/** The principal as the server's tokens carry it. */
export const asServerPrincipal = (p: Principal) => ({
  sub: p.sub,
  tenantId: p.tenantId,
  roles: [p.role],
});
