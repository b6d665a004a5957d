/**
 * The receiving end of `runOnFile` inside a worker thread, job after job: the file's size, its bytes in chunks, then
 * the end; `handle` is given the whole file (and the task it was started with, if any) and its answer is posted back. Bytes that do not match the
 * announced size are not handled: the answer is then `mismatch`.
 */
import { parentPort } from 'node:worker_threads';

type Message = { size: number; task?: string } | { chunk: Uint8Array } | { end: true };

export function receiveFile<T>(handle: (content: Uint8Array, task: string | undefined) => T | Promise<T>, mismatch: T): void {
  let content = new Uint8Array(0);
  let task: string | undefined;
  let filled = 0;
  parentPort!.on('message', (message: Message) => {
    if ('size' in message) {
      // A new job (the thread takes one after another).
      content = new Uint8Array(message.size);
      task = message.task;
      filled = 0;
    } else if ('chunk' in message) {
      // More bytes than announced throw here: the worker fails and its job has no answer.
      content.set(message.chunk, filled);
      filled += message.chunk.length;
    } else {
      const whole = filled === content.length ? content : null;
      // The bytes are not held while the thread waits for its next job.
      content = new Uint8Array(0);
      void Promise.resolve(whole ? handle(whole, task) : mismatch).then((answer) => parentPort!.postMessage(answer));
    }
  });
}
