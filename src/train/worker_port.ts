/**
 * The two ends of a Worker, the same in every runtime: web Workers where the runtime has them
 * (Deno, browsers), `node:worker_threads` where it does not (Node). Only what the data-parallel
 * protocol uses: post a message (with transfers), receive messages and errors, terminate.
 *
 * @module
 */

/** The main thread's handle on a Worker. */
export interface WorkerHandle {
  /** Posts `message`, transferring the buffers in `transfer`. */
  post(message: unknown, transfer?: Transferable[]): void;
  /** Sets the one receiver of the Worker's messages and of its uncaught errors (as text). */
  listen(onMessage: (data: unknown) => void, onError: (message: string) => void): void;
  /** Stops the Worker. */
  terminate(): void;
}

/** A Worker's handle on its parent. */
export interface ParentPort {
  /** Posts `message` to the parent. */
  post(message: unknown): void;
  /** Sets the one receiver of the parent's messages. */
  listen(onMessage: (data: unknown) => void): void;
}

interface NodeWorker {
  postMessage(message: unknown, transfer?: readonly unknown[]): void;
  on(event: "message", listener: (data: unknown) => void): void;
  on(event: "error", listener: (error: Error) => void): void;
  removeAllListeners(event: string): void;
  terminate(): Promise<number>;
}

/**
 * `url`, or its `.js` twin when `url` names a `.ts` file that is not there but the twin is: JSR
 * serves Node a per-file JavaScript transpile, which renames imports but not a Worker's URL.
 */
async function jsTwin(url: URL): Promise<URL> {
  if (url.protocol !== "file:" || !url.pathname.endsWith(".ts")) return url;
  const { existsSync } = await import("node:fs");
  const twin = new URL(url.href.replace(/\.ts$/, ".js"));
  return !existsSync(url) && existsSync(twin) ? twin : url;
}

/**
 * Starts the module at `url` as a Worker: a module web Worker where `globalThis.Worker` exists,
 * else a `node:worker_threads` Worker (which runs ES modules when the file is one: `.mjs`, or `.js`
 * under a `package.json` with `"type": "module"`).
 */
export async function startWorker(url: URL): Promise<WorkerHandle> {
  if (typeof globalThis.Worker === "function") {
    const worker = new Worker(url, { type: "module" });
    return {
      post: (message, transfer = []) => worker.postMessage(message, transfer),
      listen: (onMessage, onError) => {
        worker.onmessage = (e: MessageEvent) => onMessage(e.data);
        worker.onerror = (e: ErrorEvent) => {
          e.preventDefault();
          onError(e.message);
        };
      },
      terminate: () => worker.terminate(),
    };
  }
  let threads: { Worker: new (url: URL) => NodeWorker };
  try {
    threads = await import("node:worker_threads") as unknown as typeof threads;
  } catch (error) {
    throw new Error(
      `this runtime has neither a global Worker nor node:worker_threads (${(error as Error).message})`,
    );
  }
  const worker = new threads.Worker(await jsTwin(url));
  return {
    post: (message, transfer = []) => worker.postMessage(message, transfer),
    listen: (onMessage, onError) => {
      worker.removeAllListeners("message");
      worker.removeAllListeners("error");
      worker.on("message", onMessage);
      worker.on("error", (error) => onError(error.message));
    },
    terminate: () => void worker.terminate(),
  };
}

/**
 * The current Worker's parent: the global scope in a web Worker (returned synchronously, so that
 * the receiver is set before the module's first `await` and no early message is missed),
 * `parentPort` of `node:worker_threads` in Node (whose port queues messages until a listener is
 * set).
 */
export function parentPort(): ParentPort | Promise<ParentPort> {
  const scope = globalThis as unknown as {
    postMessage?: (message: unknown) => void;
    onmessage: ((e: MessageEvent) => void) | null;
  };
  // A window has postMessage too, but this runs only inside Workers.
  if (typeof scope.postMessage === "function") {
    return {
      post: (message) => scope.postMessage!(message),
      listen: (onMessage) => {
        scope.onmessage = (e: MessageEvent) => onMessage(e.data);
      },
    };
  }
  return import("node:worker_threads").then((threads) => {
    const port = (threads as unknown as {
      parentPort: {
        postMessage(message: unknown): void;
        on(event: "message", listener: (data: unknown) => void): void;
      } | null;
    }).parentPort;
    if (!port) throw new Error("parentPort: not running inside a Worker");
    return {
      post: (message) => port.postMessage(message),
      listen: (onMessage) => port.on("message", onMessage),
    };
  });
}
