// One program holding two copies of TensorFlow.js: this project's own (tfjs-core 4.21.0, resolved from
// here) and the one dist/node resolves. Run by tests/node/tfjs_copies.test.mjs with this folder as the
// working directory, as `node mix.mjs theirs-first|ours-first|own-engine`; prints one JSON line.
//   theirs-first: this project's tfjs is imported before the library (the order that printed 343
//     "already registered" lines);
//   ours-first: the library first, then this project's tfjs;
//   own-engine: as ours-first, but this project's tfjs is loaded while tfjs's global slots are empty,
//     so it makes an engine of its own (as a copy on another global object would): its tensors'
//     data is not in the library's engine.
const order = process.argv[2];
const library = new URL("../../../dist/node/rnnspn.js", import.meta.url).href;

async function theirs() {
  const tfc = await import("@tensorflow/tfjs-core");
  await import("@tensorflow/tfjs-backend-cpu");
  await tfc.setBackend("cpu");
  return tfc;
}

let lib, tfc;
if (order === "theirs-first") {
  tfc = await theirs();
  lib = await import(library);
} else {
  lib = await import(library);
  const saved = { engine: globalThis._tfengine, globals: globalThis._tfGlobals };
  if (order === "own-engine") delete globalThis._tfengine, delete globalThis._tfGlobals;
  tfc = await theirs();
  if (order === "own-engine") {
    Object.assign(globalThis, { _tfengine: saved.engine, _tfGlobals: saved.globals });
  }
}
await lib.selectBackend("cpu");

const values = Array.from({ length: 2 * 9 * 7 }, (_, i) => Math.sin(i));
const thetas = [1.1, 0.2, -0.1, -0.3, 0.9, 0.2, 0.8, 0, 0.3, 0.1, 1, -0.2];
const result = { versions: { theirs: tfc.version_core, ours: lib.tf.version_core } };
try {
  const own = lib.spatialTransform(lib.tf.tensor4d(values, [2, 9, 7, 1]), lib.tf.tensor2d(thetas, [2, 6]));
  const foreign = lib.spatialTransform(tfc.tensor4d(values, [2, 9, 7, 1]), tfc.tensor2d(thetas, [2, 6]));
  const a = own.dataSync(), b = foreign.dataSync();
  result.maxDiff = Math.max(...a.map((v, i) => Math.abs(v - b[i])));
  result.size = a.length;
} catch (error) {
  result.error = error.message;
}
try {
  const model = new lib.RecurrentAttention({ steps: 2, downsampleFactor: 4, seed: 1 });
  const digits = model.predict(tfc.zeros([1, 100, 100, 1])).digits;
  result.predicted = digits.shape;
} catch (error) {
  result.predictError = error.message;
}
console.log(JSON.stringify(result));
