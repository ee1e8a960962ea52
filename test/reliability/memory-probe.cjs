// Preloaded into the server by the reliability suite (NODE_OPTIONS=--require): on SIGUSR2 it runs
// a full garbage collection and writes process.memoryUsage() to ORMAI_MEMORY_PROBE_FILE, so the
// suite can tell live memory from heap V8 merely keeps. Instrumentation only; ormai knows nothing of it.
const { writeFileSync } = require('node:fs');
const { setFlagsFromString } = require('node:v8');
const { runInNewContext } = require('node:vm');

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc');
const file = process.env.ORMAI_MEMORY_PROBE_FILE;

process.on('SIGUSR2', () => {
  gc();
  const usage = process.memoryUsage();
  writeFileSync(file, JSON.stringify({ ...usage, at: Date.now() }));
});
