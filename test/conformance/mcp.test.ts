// Pins /mcp against the official MCP conformance suite (@modelcontextprotocol/conformance, pinned) run
// on the real `ormai serve` with a token: every scenario that applies passes with no warning, the rest
// end exactly as mcp-baseline.json explains; the rebinding probe it sends is refused and recorded, and
// `ormai audit verify` accepts the chain afterwards.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AuthProxy, startAuthProxy } from '../helpers/auth-proxy.js';
import { CONFIG, runCliAsync, type ServedCli, serve } from '../helpers/cli.js';

const ROOT = resolve(import.meta.dirname, '../..');
const RUNNER = join(
  ROOT,
  'node_modules',
  '@modelcontextprotocol',
  'conformance',
  'dist',
  'index.js',
);

interface Baseline {
  package: string;
  suite: string;
  scenarios: Record<string, { outcome: 'failure' | 'warning'; reason: string }>;
}
const BASELINE = JSON.parse(
  readFileSync(join(import.meta.dirname, 'mcp-baseline.json'), 'utf8'),
) as Baseline;

interface Check {
  id: string;
  status: string;
  errorMessage?: string;
  details?: unknown;
}

/** Runs the conformance CLI without blocking this process (the auth proxy lives in it). */
function runRunner(args: string[], cwd: string): Promise<{ status: number | null; out: string }> {
  const child = spawn(process.execPath, [RUNNER, ...args], {
    cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (chunk) => {
    out += chunk;
  });
  child.stderr.on('data', (chunk) => {
    out += chunk;
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), 150_000);
  return new Promise((done) =>
    child.once('close', (status) => {
      clearTimeout(timer);
      done({ status, out });
    }),
  );
}

/** The checks of each scenario, from the runner's `server-<scenario>-<timestamp>/checks.json`. */
function readResults(dir: string): Map<string, Check[]> {
  const results = new Map<string, Check[]>();
  for (const entry of readdirSync(dir)) {
    const scenario = /^server-(.+)-\d{4}-\d{2}-\d{2}T[\d-]+Z$/.exec(entry)?.[1];
    const file = join(dir, entry, 'checks.json');
    if (scenario && existsSync(file)) {
      results.set(scenario, JSON.parse(readFileSync(file, 'utf8')) as Check[]);
    }
  }
  return results;
}

/** failure > warning > pass; a scenario that ran no check at all is not a pass. */
function outcomeOf(checks: Check[] | undefined): string {
  if (!checks) return 'missing';
  if (checks.some((check) => check.status === 'FAILURE')) return 'failure';
  if (checks.some((check) => check.status === 'WARNING')) return 'warning';
  return checks.some((check) => check.status === 'SUCCESS') ? 'pass' : 'no checks';
}

describe('the MCP conformance suite against ormai serve', () => {
  const cwd = mkdtempSync(join(tmpdir(), 'ormai-mcp-conformance-'));
  let served: ServedCli | undefined;
  let proxy: AuthProxy | undefined;

  beforeAll(async () => {
    served = await serve(cwd);
    // the runner sends no credentials: the proxy adds an agent's token, leaving Host and Origin
    proxy = await startAuthProxy(new URL(served.url).origin, served.tokenOf(1, 'agent'));
  }, 180_000);

  afterAll(async () => {
    await proxy?.close();
    served?.child.kill('SIGKILL');
    rmSync(cwd, { recursive: true, force: true });
  });

  it('passes every scenario that applies; the others end as the baseline explains', async () => {
    const listed = await runRunner(['list', '--server'], cwd);
    const scenarios = [...listed.out.matchAll(/^\s+- (\S+)/gm)].map((match) => match[1]!);
    expect(scenarios.length).toBeGreaterThan(20);

    const out = join(cwd, 'conformance-results');
    const run = await runRunner(
      ['server', '--url', `${proxy!.url}/mcp`, '--suite', BASELINE.suite, '-o', out],
      cwd,
    );
    const results = readResults(out);
    const outcomes = Object.fromEntries(
      scenarios.map((scenario) => [scenario, outcomeOf(results.get(scenario))]),
    );
    const expected = Object.fromEntries(
      scenarios.map((scenario) => [scenario, BASELINE.scenarios[scenario]?.outcome ?? 'pass']),
    );
    const surprises = scenarios
      .filter((scenario) => outcomes[scenario] !== expected[scenario])
      .map((scenario) => {
        const checks = (results.get(scenario) ?? []).filter((c) => c.status !== 'SUCCESS');
        return `${scenario}: ${outcomes[scenario]}, expected ${expected[scenario]} ${JSON.stringify(checks)}`;
      });
    expect(outcomes, `${surprises.join('\n')}\n${run.out.slice(-3000)}`).toEqual(expected);
    // the baseline holds only scenarios the suite still has
    expect(Object.keys(BASELINE.scenarios).filter((name) => !scenarios.includes(name))).toEqual([]);

    const checks = [...results.values()].flat();
    const applying = scenarios.filter((scenario) => !BASELINE.scenarios[scenario]);
    const count = (status: string, among: string[]) =>
      among.flatMap((s) => results.get(s) ?? []).filter((check) => check.status === status).length;
    console.info(
      `MCP conformance (${BASELINE.package}, suite ${BASELINE.suite}): ${scenarios.length} scenarios; ` +
        `${applying.length} apply (${applying.join(', ')}): ${count('SUCCESS', applying)} checks passed, ` +
        `${count('FAILURE', applying)} failed, ${count('WARNING', applying)} warnings; ` +
        `baseline: ${Object.keys(BASELINE.scenarios).length} (${checks.length} checks in all)`,
    );
  }, 200_000);

  it('recorded the rebinding probe it refused, and the audit chain verifies', async () => {
    expect(await served!.stop()).toBe(0);
    const records = readFileSync(join(cwd, '.ormai', 'audit.jsonl'), 'utf8')
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map(
        (line) =>
          JSON.parse(line) as {
            surface: string;
            error_code: string | null;
            reason: string | null;
            principal_sub: string | null;
            inputs: { origin?: string | null } | null;
          },
      );
    const probes = records.filter((record) => record.inputs?.origin === 'http://evil.example.com');
    expect(probes).toHaveLength(1);
    expect(probes[0]).toMatchObject({
      surface: 'mcp',
      error_code: 'VALIDATION_ERROR',
      principal_sub: null,
    });
    expect(probes[0]!.reason).toMatch(/^origin: /);

    for (const args of [[], ['--jsonl', join(cwd, '.ormai', 'audit.jsonl')]]) {
      const verify = await runCliAsync(cwd, ['audit', 'verify', '--config', CONFIG, ...args], {
        timeoutMs: 120_000,
      });
      expect(verify.status, verify.stdout + verify.stderr).toBe(0);
      expect(verify.stdout).toMatch(/^ok: \d+ record\(s\)/m);
    }
  }, 180_000);
});
