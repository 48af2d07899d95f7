/**
 * examples/train.ts on a run directory that another trainer holds: a second `--resume` or
 * `--overwrite` fails at once, before loading MNIST, naming the lock file and the holder (and
 * removes nothing); once the holder is killed, `--resume` takes its stale lock over with a warning
 * and finishes the run.
 */
import assert from "node:assert/strict";

const script = new URL("../examples/train.ts", import.meta.url).pathname;
const SMALL = ["--model", "cnn", "--backend", "wasm", "--batch", "16", "--train-eval-size", "16"];
const SIZES = ["--train-size", "64", "--valid-size", "16", "--test-size", "16"];

function train(args: string[], env: Record<string, string> = {}) {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", script, ...args],
    env: { NO_COLOR: "1", ...env },
    stdout: "piped",
    stderr: "piped",
  });
}

async function exists(path: string): Promise<boolean> {
  return await Deno.stat(path).then(() => true, () => false);
}

Deno.test({
  name:
    "CLI: a second trainer on a held run directory fails naming the lock; after a kill, --resume takes over",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "rnnspn-cli-lock-" });
    const first = train([...SMALL, ...SIZES, "--epochs", "40", "--out", dir]).spawn();
    // Hold on until the first has written an epoch's checkpoint (it holds the lock from the start).
    const deadline = Date.now() + 120_000;
    while (Date.now() < deadline && !(await exists(`${dir}/checkpoints`))) {
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(await exists(`${dir}/run.lock`), "the running trainer holds run.lock");
    const holder = JSON.parse(await Deno.readTextFile(`${dir}/run.lock`));
    assert.equal(holder.pid, first.pid);

    for (const args of [["--resume", dir], [...SMALL, ...SIZES, "--out", dir, "--overwrite"]]) {
      // MNIST_DIR points nowhere: the refusal comes before the data is loaded.
      const second = await train(args, { MNIST_DIR: `${dir}/no-mnist-here` }).output();
      const err = new TextDecoder().decode(second.stderr);
      assert.equal(second.code, 1, `${args.join(" ")}: ${err}`);
      assert.match(
        err,
        new RegExp(
          `^train\\.ts: ${dir} is in use by process ${first.pid} on host .*: lock file ${dir}/run\\.lock`,
        ),
      );
      assert.ok(!/ENOENT/.test(err), err);
      assert.ok(await exists(`${dir}/checkpoints`), "--overwrite removed nothing of the running trainer");
    }

    first.kill("SIGKILL");
    await first.status;
    await first.stdout.cancel();
    await first.stderr.cancel();
    assert.ok(await exists(`${dir}/run.lock`), "a killed trainer leaves its lock behind");
    const resumed = await train(["--resume", dir, "--epochs", "2"]).output();
    const err = new TextDecoder().decode(resumed.stderr);
    assert.equal(resumed.code, 0, err);
    assert.match(err, new RegExp(`taking over the stale lock ${dir}/run\\.lock of process ${first.pid}`));
    assert.ok(!(await exists(`${dir}/run.lock`)), "released at the end");

    // A kill between the last checkpoint and the metrics write leaves metrics.jsonl a line short:
    // --resume of the finished run rewrites it from the checkpoint's history.
    const metrics = await Deno.readTextFile(`${dir}/metrics.jsonl`);
    assert.equal(metrics.trim().split("\n").length, 2);
    await Deno.writeTextFile(`${dir}/metrics.jsonl`, metrics.split("\n")[0] + "\n");
    const repaired = await train(["--resume", dir, "--epochs", "2"]).output();
    assert.equal(repaired.code, 0, new TextDecoder().decode(repaired.stderr));
    assert.match(
      new TextDecoder().decode(repaired.stderr),
      /metrics\.jsonl \(1 line\(s\)\) did not match .* rewritten/,
    );
    assert.equal(await Deno.readTextFile(`${dir}/metrics.jsonl`), metrics);

    // run.json edited (another data set): refused naming the field, before any epoch; nothing changes.
    const runJson = await Deno.readTextFile(`${dir}/run.json`);
    await Deno.writeTextFile(`${dir}/run.json`, runJson.replace('"train": 64', '"train": 48'));
    const edited = await train(["--resume", dir, "--epochs", "3"]).output();
    const editedErr = new TextDecoder().decode(edited.stderr);
    assert.equal(edited.code, 1, editedErr);
    assert.match(
      editedErr,
      /^train\.ts: resume: run\.data\.sizes\.train: 48 vs 64 \(run\.json vs the checkpoint .*epoch-0002\)/m,
    );
    assert.equal(await Deno.readTextFile(`${dir}/metrics.jsonl`), metrics);
    await Deno.remove(dir, { recursive: true });
  },
});
