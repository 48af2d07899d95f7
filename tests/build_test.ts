/**
 * `deno task build`'s output, built into a temporary folder: the browser module is self-contained
 * (tfjs inlined, no bare import left, its Worker and the three tfjs `.wasm` files beside it), the
 * Node build keeps tfjs as npm imports and pins it in package.json, both point `DataParallelStep`
 * at their own Worker module, and both hold the pretrained model where `PRETRAINED_URL` resolves and
 * type declarations beside the module. (Running and type-checking them is the Node, consumer and
 * browser test groups' job.)
 */
import assert from "node:assert/strict";
import { readdir, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { buildBrowser, buildNode, WASM_FILES } from "../build/build.ts";

/** Specifiers of the static and dynamic imports in a bundle (string literals only). */
function importsOf(code: string): string[] {
  const found = new Set<string>();
  for (const m of code.matchAll(/(?:\bfrom|\bimport)\s*\(?\s*"([^"]+)"/g)) found.add(m[1]);
  return [...found];
}

Deno.test("deno task build: dist/browser and dist/node hold what the runtimes need", async () => {
  const out = await Deno.makeTempDir({ prefix: "rnnspn-build-" });
  try {
    await buildBrowser(out);
    await buildNode(out, false);

    const browser = join(out, "browser");
    assert.deepEqual(
      (await readdir(browser)).sort(),
      ["pretrained", "rnnspn.d.ts", "rnnspn.js", "rnnspn_worker.js", "types", ...WASM_FILES].sort(),
    );
    const module = await readFile(join(browser, "rnnspn.js"), "utf8");
    // Only node: builtins may stay (behind feature detection, never reached in a browser); tfjs and
    // the on-demand webgpu package are inlined.
    const imports = importsOf(module);
    assert.ok(imports.includes("node:fs/promises"), `the scan finds imports: ${imports}`);
    assert.deepEqual(imports.filter((s) => !s.startsWith("node:")), []);
    assert.ok(module.includes('"./rnnspn_worker.js"'), "DataParallelStep points at rnnspn_worker.js");
    assert.ok(!module.includes("data_parallel_worker.ts"));

    const node = join(out, "node");
    const files = await readdir(node);
    assert.ok(files.includes("rnnspn.js") && files.includes("rnnspn_worker.js"), files.join(", "));
    const code = (await Promise.all(
      files.filter((f) => f.endsWith(".js")).map((f) => readFile(join(node, f), "utf8")),
    )).join("\n");
    const bare = importsOf(code).filter((s) => !s.startsWith("node:") && !s.startsWith("./"));
    assert.deepEqual(bare.sort(), [
      "@tensorflow/tfjs",
      "@tensorflow/tfjs-backend-wasm",
      "@tensorflow/tfjs-backend-webgpu",
    ]);
    // src/tf_prelude.ts runs before tfjs: a module of its own, imported first where tfjs is imported.
    assert.ok(files.includes("tf_prelude.js"), files.join(", "));
    for (const name of files.filter((f) => f.endsWith(".js"))) {
      const text = await readFile(join(node, name), "utf8");
      if (/^import (\* as \w+ from )?"@tensorflow\/tfjs";$/m.test(text)) {
        assert.ok(
          text.startsWith('import "./tf_prelude.js";\n'),
          `${name} imports tfjs before tf_prelude.js`,
        );
      }
    }
    const pkg = JSON.parse(await readFile(join(node, "package.json"), "utf8"));
    assert.equal(pkg.type, "module");
    assert.deepEqual(pkg.exports["."], { types: "./rnnspn.d.ts", default: "./rnnspn.js" });
    assert.deepEqual(pkg.dependencies, {
      "@tensorflow/tfjs": "4.22.0",
      "@tensorflow/tfjs-backend-wasm": "4.22.0",
    });
    assert.equal(pkg.peerDependenciesMeta["@tensorflow/tfjs-backend-webgpu"].optional, true);

    for (const dir of [browser, node]) {
      // PRETRAINED_URL is "./pretrained/rnn-spn-ds3/model.json" against the module: the same bytes there.
      for (const name of ["rnn-spn-ds3/model.json", "rnn-spn-ds3/weights.bin", "rnn-spn-ds3.json"]) {
        assert.deepEqual(
          await readFile(join(dir, "pretrained", name)),
          await readFile(new URL(name, new URL("../src/models/pretrained/", import.meta.url))),
          `${dir}/pretrained/${name}`,
        );
      }
      // Declarations: rnnspn.d.ts re-exports types/build/rnnspn.d.ts, and relative specifiers name .js files.
      assert.match(
        await readFile(join(dir, "rnnspn.d.ts"), "utf8"),
        /export \* from "\.\/types\/build\/rnnspn\.js";/,
      );
      const mod = await readFile(join(dir, "types", "mod.d.ts"), "utf8");
      assert.match(
        mod,
        /export \{ loadPretrained, PRETRAINED_URL, type PretrainedOptions \} from "\.\/src\/models\/pretrained\.js";/,
      );
      assert.doesNotMatch(mod, /from "\.[^"]*\.ts"/);
      const save = await readFile(join(dir, "types", "src", "models", "base.d.ts"), "utf8");
      assert.match(save, /save\(target: ModelSource\): Promise<tf\.io\.SaveResult>;/);
    }
  } finally {
    await rm(out, { recursive: true, force: true });
  }
});
