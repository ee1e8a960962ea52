// PostGraphile v5 declares node >= 22; on Node 20 the one missing API it uses is
// Promise.withResolvers (Node 22). Imported first by server.mjs.
if (typeof Promise.withResolvers !== 'function') {
  Promise.withResolvers = function withResolvers() {
    let resolve;
    let reject;
    const promise = new this((yes, no) => {
      resolve = yes;
      reject = no;
    });
    return { promise, resolve, reject };
  };
}
