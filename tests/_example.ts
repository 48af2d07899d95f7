/**
 * Runs an example script (`examples/<script>`) as its own Deno process, for the command-line tests:
 * only `env` (plus `NO_COLOR`) reaches it, so MNIST_DIR is whatever the test says.
 */
const root = new URL("..", import.meta.url).pathname;

/** `deno run -A examples/<script> ...args` in `cwd`: exit code and decoded output. */
export async function runExample(
  script: string,
  args: string[],
  cwd: string,
  env: Record<string, string>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${root}examples/${script}`, ...args],
    cwd,
    env: { NO_COLOR: "1", ...env },
    stdout: "piped",
    stderr: "piped",
  }).output();
  return {
    code: out.code,
    stdout: new TextDecoder().decode(out.stdout),
    stderr: new TextDecoder().decode(out.stderr),
  };
}
