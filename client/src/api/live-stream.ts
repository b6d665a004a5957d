import { createClient } from 'graphql-sse';
import { subscribe, type Operation, type ResultOf, type VariablesOf } from './graphql';

/** How long to wait before the n-th attempt (from 0) to connect again: 1 s, 2 s, 4 s … at most 30 s. */
export const reconnectDelay = (attempt: number): number => Math.min(30_000, 1000 * 2 ** attempt);

export interface LiveHandlers {
  /** The server refused the subscription (its GraphQL error, in the user's language): not tried again. */
  onRefused?: (message: string) => void;
  /** True while the stream is lost and being connected again, false once it delivers again. */
  onReconnecting?: (reconnecting: boolean) => void;
}

/**
 * Follows a subscription for as long as the caller wants it: when the stream ends — the server
 * stopping or restarting ends it as complete, a network failure as an error — it connects again
 * after a growing wait (`reconnectDelay`), for ever, until the returned function is called or the
 * server refuses it. A subscription that sends the current state first (a job's) thus shows what
 * happened meanwhile as soon as it is back.
 */
export function followLive<const D extends Operation>(operation: D, variables: VariablesOf<D>, onData: (data: ResultOf<D>) => void, handlers: LiveHandlers = {}): () => void {
  let stopped = false;
  let attempt = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let disconnect: (() => void) | null = null;

  function connect(): void {
    const client = createClient({ url: '/graphql', credentials: 'same-origin', retryAttempts: 0 });
    let refused = false;
    const unsubscribe = subscribe(
      client,
      operation,
      variables,
      (data) => {
        if (attempt > 0) {
          attempt = 0;
          handlers.onReconnecting?.(false);
        }
        onData(data);
      },
      (message) => {
        refused = true;
        handlers.onRefused?.(message);
      },
      () => {
        disconnect?.();
        disconnect = null;
        if (stopped || refused) return;
        handlers.onReconnecting?.(true);
        timer = setTimeout(connect, reconnectDelay(attempt));
        attempt += 1;
      },
    );
    disconnect = () => {
      unsubscribe();
      client.dispose();
    };
  }

  connect();
  return () => {
    stopped = true;
    clearTimeout(timer);
    disconnect?.();
    disconnect = null;
  };
}
