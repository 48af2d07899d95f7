// The Node consumer check (.ci/run, after `npm ci` here and `npm install --no-save` of the packed
// dist/node): `tsc --strict` over consumer.ts with library declarations checked too (no skipLibCheck),
// then the compiled consumer run from the repository root. tfjs-layers' own declarations do not pass
// strict mode (TS2411/TS2420 in @tensorflow/tfjs-layers, with or without this library), so errors
// there are counted and reported, not failed on; an error anywhere else (consumer.ts, @rnnspn/core's
// declarations) fails. Prints "consumer: …" lines; exits 1 on any failure.
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const here = fileURLToPath(new URL(".", import.meta.url));
const root = fileURLToPath(new URL("../../../", import.meta.url));

const tsc = spawnSync(process.execPath, [
  `${here}node_modules/typescript/bin/tsc`,
  "-p",
  here,
  "--pretty",
  "false",
], {
  cwd: here,
  encoding: "utf8",
});
const errors = (tsc.stdout + tsc.stderr).split("\n").filter((line) => /error TS\d+/.test(line));
const tfjs = errors.filter((line) => line.startsWith("node_modules/@tensorflow/"));
const ours = errors.filter((line) => !tfjs.includes(line));
const version = spawnSync(process.execPath, [`${here}node_modules/typescript/bin/tsc`, "--version"], {
  encoding: "utf8",
}).stdout.trim();
console.log(
  `consumer: tsc --strict (${version}): ${ours.length} errors in consumer.ts and @rnnspn/core's declarations; ` +
    `${tfjs.length} in tfjs's own declarations (not strict-clean upstream; ignored)`,
);
for (const line of ours) console.log(`  ${line}`);
if (tsc.error || errors.length === 0 && tsc.status !== 0) {
  console.log(`consumer: tsc did not run cleanly (status ${tsc.status}): ${tsc.error ?? tsc.stderr}`);
  process.exit(1);
}
if (ours.length > 0) process.exit(1);

const run = spawnSync(process.execPath, [`${here}out/consumer.js`], { cwd: root, stdio: "inherit" });
process.exit(run.status === 0 ? 0 : 1);
