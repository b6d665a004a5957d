/**
 * Subscribes to a GraphQL subscription over server-sent events (graphql-yoga's transport) and
 * collects the payloads it receives, as a browser's EventSource would.
 */
export class SseSubscription<T> {
  readonly received: T[] = [];
  private readonly controller = new AbortController();
  private waiters: (() => void)[] = [];
  readonly ready: Promise<void>;

  constructor(url: string, cookie: string, query: string) {
    this.ready = fetch(`${url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', cookie },
      body: JSON.stringify({ query }),
      signal: this.controller.signal,
    }).then((response) => {
      if (!response.ok || !response.body) throw new Error(`subscription failed: HTTP ${response.status}`);
      void this.read(response.body);
    });
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
          const data = block.split('\n').filter((line) => line.startsWith('data:')).map((line) => line.slice(5).trim()).join('\n');
          if (!data) continue;
          const payload = JSON.parse(data) as { data?: T };
          if (payload.data) this.received.push(payload.data);
          for (const wake of this.waiters.splice(0)) wake();
        }
      }
    } catch (error) {
      if ((error as Error).name !== 'AbortError') throw error;
    }
  }

  /** Resolves once `count` payloads arrived, or rejects after `timeoutMs`. */
  async waitFor(count: number, timeoutMs: number): Promise<T[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.received.length < count) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`only ${this.received.length} of ${count} events within ${timeoutMs} ms`);
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

  close(): void {
    this.controller.abort();
  }
}
