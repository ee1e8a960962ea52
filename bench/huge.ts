// Only the huge-schema dimension, without the rest of the bench (`npm run bench -- --huge` runs it
// after every other section): `npx tsx bench/huge.ts [bound,bound…]`, default bounds 20 and 50.
// Prints one JSON line per scenario (first-request wall, CPU and GC figures, heap per cached role
// set, heap after each pass) and one with the build's figures. Nothing is written to results/.
import { measureHugeSchema } from './lib/huge-schema.js';

const cacheBounds = process.argv[2]?.split(',').map(Number);
const result = await measureHugeSchema({ cacheBounds, log: (line) => console.error(line) });
for (const scenario of result.scenarios) {
  console.log(
    JSON.stringify({
      bound: scenario.cacheBound,
      firstMs: scenario.firstRequestMs,
      firstCpuMs: scenario.firstRequestCpuMs,
      firstGcMs: scenario.firstRequestGcMs,
      firstLessGcMs: scenario.firstRequestLessGcMs,
      laterMs: scenario.laterRequestMs,
      heapPerRoleSetMb: scenario.heapPerSchemaMb,
      heapMb: [scenario.heapBaseMb, scenario.heapAfterWarmMb, ...scenario.heapAfterPassesMb],
      flat: scenario.flat,
    }),
  );
}
console.log(
  JSON.stringify({
    schemaTypes: result.schemaTypes,
    compileMs: result.compileMs,
    buildMs: result.buildMs,
    flat: result.flat,
    runtime: result.runtime,
  }),
);
