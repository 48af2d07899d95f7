/**
 * examples/visualize.ts on the user's own images: any file name is drawn in the caption, a PNG whose
 * header claims another size (a 40000×40000 "PNG bomb" included) is refused from its header before
 * it is decoded, and an --out folder that does not exist is refused before any work. Each refusal is
 * one line naming the input, exit code 2, nothing written.
 */
import assert from "node:assert/strict";
import { decode, encode } from "fast-png";
import { runExample } from "./_example.ts";

const ARGS = ["--model", "random", "--backend", "cpu"];

function grey100(): Uint8Array {
  const data = new Uint8Array(100 * 100).map((_, i) => (i * 7) % 256);
  return encode({ width: 100, height: 100, data, channels: 1, depth: 8 });
}

/** A small PNG whose IHDR says `w × h` (its pixel data is that of a 1×1 image). */
function bomb(w: number, h: number): Uint8Array {
  const png = encode({ width: 1, height: 1, data: new Uint8Array([0]), channels: 1, depth: 8 }).slice();
  const view = new DataView(png.buffer);
  view.setUint32(16, w);
  view.setUint32(20, h);
  return png;
}

Deno.test({
  name:
    "visualize.ts --image: any file name is drawn; a PNG bomb and a missing --out folder are one line, exit 2",
  sanitizeResources: false,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "rnnspn-visualize-" });
    const name = "Nimbus_é (1).png"; // letters the old font lacked, lower case, non-ASCII, brackets
    await Deno.writeFile(`${dir}/${name}`, grey100());
    const ok = await runExample("visualize.ts", [...ARGS, "--image", name, "--out", "x.png"], dir, {});
    assert.equal(ok.code, 0, ok.stderr);
    const picture = decode(await Deno.readFile(`${dir}/x.png`));
    assert.ok(picture.width > 200 && picture.height > 200, `${picture.width}×${picture.height}`);

    await Deno.writeFile(`${dir}/bomb.png`, bomb(40000, 40000));
    const cases: [string[], RegExp][] = [
      [
        ["--image", "bomb.png", "--out", "y.png"],
        /^visualize: --image bomb\.png: the model takes 100×100 images; this one is 40000×40000$/,
      ],
      [
        ["--image", name, "--out", "missing/y.png"],
        /^visualize: --out missing\/y\.png: the folder missing does not exist$/,
      ],
    ];
    await Deno.writeTextFile(`${dir}/x.txt`, "not a png");
    cases.push([["--image", "x.txt", "--out", "y.png"], /^visualize: --image x\.txt: not a PNG file/]);
    const before = [...Deno.readDirSync(dir)].map((e) => e.name).sort();
    for (const [args, pattern] of cases) {
      const t0 = performance.now();
      const r = await runExample("visualize.ts", [...ARGS, ...args], dir, {});
      assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
      assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
      assert.match(r.stderr.trim(), pattern);
      assert.ok(performance.now() - t0 < 30_000);
    }
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name).sort(), before, "nothing written");
    await Deno.remove(dir, { recursive: true });
  },
});
