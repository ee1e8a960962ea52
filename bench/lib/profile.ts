// Summarises a V8 CPU profile (node --cpu-prof) of a server under load: self time by function and
// by where the code lives (a package under node_modules, a file of ormai's src, node internals).
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

export interface ProfileSummary {
  /** Sampled time, idle excluded. */
  busyMs: number;
  idlePercent: number;
  byLocation: { location: string; percent: number }[];
  byFunction: { fn: string; location: string; percent: number }[];
  /** Share of busy samples with a frame of this location anywhere on the stack. */
  inclusiveByLocation: { location: string; percent: number }[];
  /** ormai's own functions (src/), by share of busy samples with them on the stack. */
  inclusiveOwn: { fn: string; location: string; percent: number }[];
}

export function locationOf(url: string, functionName: string): string {
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  let path = decodeURIComponent(url.replace(/^file:\/\//, ''));
  // compiled servers (lib/compiled-servers.ts): ormai's dist/ reads as its src/, the transpiled
  // bench and example files as the files they came from
  const mirror = path.indexOf('/node_modules/.cache/ormai-bench/');
  if (mirror >= 0) path = `/${path.slice(mirror + '/node_modules/.cache/ormai-bench/'.length)}`;
  const dist = path.indexOf('/dist/');
  if (dist >= 0 && !path.includes('/node_modules/')) return `src/${path.slice(dist + 6)}`;
  const modules = path.lastIndexOf('/node_modules/');
  if (modules >= 0) {
    const parts = path.slice(modules + '/node_modules/'.length).split('/');
    return parts[0]!.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]!;
  }
  if (path.startsWith('node:')) return 'node internals';
  const repo = path.indexOf('/src/');
  if (repo >= 0) return path.slice(repo + 1);
  const bench = path.indexOf('/bench/');
  if (bench >= 0) return path.slice(bench + 1);
  const examples = path.indexOf('/examples/');
  if (examples >= 0) return path.slice(examples + 1);
  return path;
}

export function summarizeProfile(file: string, top = 15): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as {
    nodes: ProfileNode[];
    samples: number[];
    timeDeltas: number[];
  };
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes)
    for (const child of node.children ?? []) parent.set(child, node.id);
  // samples inside the inspector call that stops the profiler are the profiler's, not the server's
  const profilerOwn = (id: number) => {
    for (let node: number | undefined = id; node !== undefined; node = parent.get(node)) {
      const { functionName, url } = byId.get(node)!.callFrame;
      if (url === 'node:inspector' && functionName === 'post') return true;
    }
    return false;
  };
  const samples = profile.samples
    .map((id, i) => ({ id, us: Math.max(0, profile.timeDeltas[i] ?? 0) }))
    .filter((sample) => !profilerOwn(sample.id));
  const self = new Map<number, number>();
  for (const { id, us } of samples) self.set(id, (self.get(id) ?? 0) + us);
  let idle = 0;
  let busy = 0;
  const locations = new Map<string, number>();
  const functions = new Map<string, { fn: string; location: string; us: number }>();
  for (const [id, us] of self) {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    if (functionName === '(idle)') {
      idle += us;
      continue;
    }
    busy += us;
    const location = locationOf(url, functionName);
    locations.set(location, (locations.get(location) ?? 0) + us);
    const fn = `${functionName || '(anonymous)'}${url ? `:${lineNumber + 1}` : ''}`;
    const key = `${location} ${fn}`;
    const entry = functions.get(key) ?? { fn, location, us: 0 };
    entry.us += us;
    functions.set(key, entry);
  }
  // inclusive: every location and ormai function on the stack of each sample, once per sample
  const inclusiveLocations = new Map<string, number>();
  const inclusiveFunctions = new Map<string, { fn: string; location: string; us: number }>();
  for (const { id, us } of samples) {
    if (byId.get(id)?.callFrame.functionName === '(idle)') continue;
    const seenLocations = new Set<string>();
    const seenFunctions = new Set<string>();
    for (let node: number | undefined = id; node !== undefined; node = parent.get(node)) {
      const { functionName, url, lineNumber } = byId.get(node)!.callFrame;
      if (!url && functionName === '(root)') continue;
      const location = locationOf(url, functionName);
      seenLocations.add(location);
      if (location.startsWith('src/')) {
        const fn = `${functionName || '(anonymous)'}:${lineNumber + 1}`;
        const key = `${location} ${fn}`;
        if (!seenFunctions.has(key)) {
          seenFunctions.add(key);
          const entry = inclusiveFunctions.get(key) ?? { fn, location, us: 0 };
          entry.us += us;
          inclusiveFunctions.set(key, entry);
        }
      }
    }
    for (const location of seenLocations)
      inclusiveLocations.set(location, (inclusiveLocations.get(location) ?? 0) + us);
  }
  const percent = (us: number) => Math.round((us / busy) * 1000) / 10;
  return {
    busyMs: Math.round(busy / 1000),
    idlePercent: Math.round((idle / (idle + busy)) * 1000) / 10,
    byLocation: [...locations]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([location, us]) => ({ location, percent: percent(us) })),
    byFunction: [...functions.values()]
      .sort((a, b) => b.us - a.us)
      .slice(0, top)
      .map(({ fn, location, us }) => ({ fn, location, percent: percent(us) })),
    inclusiveByLocation: [...inclusiveLocations]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([location, us]) => ({ location, percent: percent(us) })),
    inclusiveOwn: [...inclusiveFunctions.values()]
      .sort((a, b) => b.us - a.us)
      .slice(0, top)
      .map(({ fn, location, us }) => ({ fn, location, percent: percent(us) })),
  };
}
