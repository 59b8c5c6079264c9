// A minimal Chrome DevTools Protocol client for a plugin started with
// NODE_OPTIONS=--inspect=127.0.0.1:0 (loopback, benchmark only): reads the
// plugin's own process.memoryUsage() and asks V8 for a full GC, so the
// resident set can be split into live heap, garbage and everything else.

export interface NodeMemory {
  rss: number;
  heapTotal: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
}

export class Inspector {
  readonly #ws: WebSocket;
  readonly #pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  #next = 1;

  private constructor(ws: WebSocket) {
    this.#ws = ws;
    ws.addEventListener('message', (ev: MessageEvent) => {
      const msg = JSON.parse(String(ev.data)) as { id?: number; result?: unknown; error?: { message: string } };
      if (msg.id === undefined) return;
      const p = this.#pending.get(msg.id);
      if (!p) return;
      this.#pending.delete(msg.id);
      if (msg.error) p.reject(new Error(msg.error.message));
      else p.resolve(msg.result);
    });
  }

  // The ws:// URL from "Debugger listening on ws://…" in the plugin's stderr.
  static async connect(stderr: () => string, timeoutMs = 10_000): Promise<Inspector> {
    const until = Date.now() + timeoutMs;
    let url: string | undefined;
    while (url === undefined) {
      url = /Debugger listening on (ws:\/\/\S+)/.exec(stderr())?.[1];
      if (url !== undefined) break;
      if (Date.now() > until) throw new Error('no inspector URL in the plugin stderr');
      await new Promise((r) => setTimeout(r, 50));
    }
    const ws = new WebSocket(url);
    await new Promise<void>((resolve, reject) => {
      ws.addEventListener('open', () => resolve());
      ws.addEventListener('error', () => reject(new Error(`cannot connect to ${url}`)));
    });
    return new Inspector(ws);
  }

  send(method: string, params: object = {}, timeoutMs = 30_000): Promise<unknown> {
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new Error(`${method}: no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#pending.set(id, {
        resolve: (v) => {
          clearTimeout(timer);
          resolve(v);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      this.#ws.send(JSON.stringify({ id, method, params }));
    });
  }

  async memoryUsage(): Promise<NodeMemory> {
    const r = (await this.send('Runtime.evaluate', { expression: 'JSON.stringify(process.memoryUsage())', returnByValue: true })) as {
      result?: { value?: unknown };
    };
    const v = r.result?.value;
    if (typeof v !== 'string') throw new Error('process.memoryUsage() did not evaluate');
    return JSON.parse(v) as NodeMemory;
  }

  async collectGarbage(): Promise<void> {
    await this.send('HeapProfiler.collectGarbage');
  }

  close(): void {
    this.#ws.close();
  }
}
