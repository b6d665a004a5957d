/**
 * Subscribes to a GraphQL subscription over server-sent events (graphql-yoga's transport) and
 * collects the payloads it receives, as a browser's EventSource would.
 */
export class SseSubscription<T> {
  readonly received: T[] = [];
  /** GraphQL errors the server sent on the stream (e.g. a refused subscription). */
  readonly errors: { message: string; extensions?: Record<string, unknown> }[] = [];
  private readonly controller = new AbortController();
  private waiters: (() => void)[] = [];
  private finished = false;
  readonly ready: Promise<void>;
  /** Resolves when the server ends the stream (or it is closed here). */
  readonly ended: Promise<void>;
  private markEnded!: () => void;

  constructor(url: string, cookie: string, query: string, variables: Record<string, unknown> = {}) {
    this.ended = new Promise((resolve) => {
      this.markEnded = resolve;
    });
    this.ready = fetch(`${url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', cookie },
      body: JSON.stringify({ query, variables }),
      signal: this.controller.signal,
    }).then((response) => {
      if (!response.ok || !response.body) throw new Error(`subscription failed: HTTP ${response.status}`);
      void this.read(response.body);
    });
    this.ready.catch(() => this.end());
  }

  private end(): void {
    this.finished = true;
    this.markEnded();
    for (const wake of this.waiters.splice(0)) wake();
  }

  private async read(body: ReadableStream<Uint8Array>): Promise<void> {
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of body) {
        buffer += decoder.decode(chunk, { stream: true });
        let boundary: number;
        while ((boundary = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, boundary);
          buffer = buffer.slice(boundary + 2);
          const data = block
            .split('\n')
            .filter((line) => line.startsWith('data:'))
            .map((line) => line.slice(5).trim())
            .join('\n');
          if (!data) continue;
          const payload = JSON.parse(data) as { data?: T; errors?: SseSubscription<T>['errors'] };
          if (payload.data) this.received.push(payload.data);
          if (payload.errors) this.errors.push(...payload.errors);
          for (const wake of this.waiters.splice(0)) wake();
        }
      }
    } catch (error) {
      if ((error as Error).name !== 'AbortError') throw error;
    } finally {
      this.end();
    }
  }

  /** Resolves once `count` payloads arrived, or rejects after `timeoutMs`. */
  async waitFor(count: number, timeoutMs: number): Promise<T[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.received.length < count) {
      const left = deadline - Date.now();
      if (left <= 0 || this.finished) throw new Error(`only ${this.received.length} of ${count} events within ${timeoutMs} ms${this.finished ? ' (the stream ended)' : ''}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.received;
  }

  /** Resolves when the server has ended the stream, or rejects after `timeoutMs`. */
  async waitForEnd(timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`the stream was still open after ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      await Promise.race([this.ended, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  get isOpen(): boolean {
    return !this.finished;
  }

  close(): void {
    this.controller.abort();
  }
}
