// Two copies of TensorFlow.js in one Node program: a project's own tfjs-core 4.21.0
// (tests/node/second_tfjs, installed by `npm ci --prefix tests/node/second_tfjs`) beside the 4.22.0 that
// dist/node resolves. Each case runs tests/node/second_tfjs/mix.mjs in a process of its own (module
// load order and tfjs's global state are the point), with that project as the working directory.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { repoPath } from "./_helpers.mjs";

const project = repoPath("tests/node/second_tfjs/");

function mix(order) {
  if (!existsSync(`${project}node_modules/@tensorflow/tfjs-core`)) {
    throw new Error("the second tfjs copy is not installed: run `npm ci --prefix tests/node/second_tfjs`");
  }
  const run = spawnSync(process.execPath, ["mix.mjs", order], { cwd: project, encoding: "utf8" });
  assert.equal(run.status, 0, run.stderr);
  const lines = (run.stdout + run.stderr).split("\n");
  return {
    result: JSON.parse(run.stdout.trim().split("\n").at(-1)),
    registered: lines.filter((l) => /already registered/.test(l)).length,
    notes: lines.filter((l) => l.startsWith("@rnnspn/core:")),
  };
}

/** The parts every message about two copies must have: both versions, both places, the fix. */
function namesCopiesAndFix(text) {
  assert.match(
    text,
    /this library's @tensorflow\/tfjs-core 4\.22\.0 \(file:\/\/.*\/dist\/node\/node_modules\//,
  );
  assert.match(text, /resolves @tensorflow\/tfjs-core 4\.21\.0 \(.*tests\/node\/second_tfjs\/node_modules\//);
  assert.match(text, /npm dedupe/);
  assert.match(text, /import \{ tf \} from "@rnnspn\/core"/);
}

test("their tfjs first: no 'already registered' flood, one line naming both copies; their tensors work", () => {
  const { result, registered, notes } = mix("theirs-first");
  assert.deepEqual(result.versions, { theirs: "4.21.0", ours: "4.22.0" });
  assert.equal(registered, 0, "tfjs's duplicate-kernel warnings (343 lines before src/tf_prelude.ts)");
  assert.equal(notes.length, 1, notes.join("\n"));
  assert.match(notes[0], /another copy of TensorFlow\.js was loaded before this library's/);
  namesCopiesAndFix(notes[0]);
  // One shared engine: spatialTransform on their tensors equals it on the library's, bit for bit.
  assert.equal(result.error, undefined);
  assert.equal(result.size, 126);
  assert.equal(result.maxDiff, 0);
  assert.deepEqual(result.predicted, [1, 2]);
});

test("the library first, then their tfjs: no warnings at all, their tensors work", () => {
  const { result, registered, notes } = mix("ours-first");
  assert.equal(registered, 0);
  assert.deepEqual(notes, []);
  assert.equal(result.error, undefined);
  assert.equal(result.maxDiff, 0);
  assert.deepEqual(result.predicted, [1, 2]);
});

test("a copy with an engine of its own: a clear error naming both copies and the fix", () => {
  const { result } = mix("own-engine");
  assert.match(
    result.error,
    /^spatialTransform: image is a tf\.Tensor of another copy of TensorFlow\.js with an engine of its own/,
  );
  namesCopiesAndFix(result.error);
  assert.match(
    result.predictError,
    /^RecurrentAttention: images is a tf\.Tensor of another copy of TensorFlow\.js/,
  );
});
