/** A command failure shaped like MongoDB's: `{ ok: 0, errmsg, code, codeName, ... }`. */
export class CommandError extends Error {
  constructor(
    readonly code: number,
    readonly codeName: string,
    message: string,
    readonly extra: Record<string, unknown> = {},
    readonly errorLabels: string[] = [],
  ) {
    super(message);
  }

  toReply(): Record<string, unknown> {
    const reply: Record<string, unknown> = { ok: 0, errmsg: this.message, code: this.code, codeName: this.codeName, ...this.extra };
    if (this.errorLabels.length > 0) reply.errorLabels = this.errorLabels;
    return reply;
  }
}

export const badValue = (message: string) => new CommandError(2, 'BadValue', message);
export const failedToParse = (message: string) => new CommandError(9, 'FailedToParse', message);
export const typeMismatch = (message: string) => new CommandError(14, 'TypeMismatch', message);
export const namespaceNotFound = (message: string) => new CommandError(26, 'NamespaceNotFound', message);
export const namespaceExists = (message: string) => new CommandError(48, 'NamespaceExists', message);
export const invalidNamespace = (message: string) => new CommandError(73, 'InvalidNamespace', message);
export const commandNotFound = (name: string) => new CommandError(59, 'CommandNotFound', `no such command: '${name}'`);
export const indexNotFound = (message: string) => new CommandError(27, 'IndexNotFound', message);
export const cursorNotFound = (id: bigint) => new CommandError(43, 'CursorNotFound', `cursor id ${id} not found`);
export const cursorInUse = (id: bigint) => new CommandError(292, 'CursorInUse', `cursor id ${id} is already in use`);
export const writeConflict = () =>
  new CommandError(112, 'WriteConflict', 'Write conflict during plan execution and yielding is disabled. :: Please retry your operation or multi-document transaction.', {}, [
    'TransientTransactionError',
  ]);
export const noSuchTransaction = (txnNumber: number) =>
  new CommandError(251, 'NoSuchTransaction', `Transaction with { txnNumber: ${txnNumber} } has been aborted.`, {}, ['TransientTransactionError']);
export const documentTooLarge = (size: number) => new CommandError(10334, 'BSONObjectTooLarge', `object to insert too large. size in bytes: ${size}, max size: 16777216`);
/** The most a document MongoDB builds may hold (16 MiB and 16 KiB of headroom, BSONObjMaxInternalSize). */
export const MAX_INTERNAL_BSON_SIZE = 16 * 1024 * 1024 + 16 * 1024;
export const objectTooLarge = (size: number) =>
  new CommandError(
    10334,
    'BSONObjectTooLarge',
    `BSONObj size: ${size} (0x${size.toString(16).toUpperCase()}) is invalid. Size must be between 0 and ${MAX_INTERNAL_BSON_SIZE}(16MB)`,
  );
export const nestingTooDeep = () => new CommandError(15, 'Overflow', 'cannot insert document because it exceeds 100 levels of nesting');

/** Wraps an error thrown by mingo (unknown operator, bad expression) as MongoDB's BadValue-like failures. */
export function asCommandError(error: unknown): CommandError {
  if (error instanceof CommandError) return error;
  const message = error instanceof Error ? error.message : String(error);
  if (/unknown (query )?operator|unknown update operator/i.test(message)) return new CommandError(2, 'BadValue', message);
  const conflict = /^updating the path '(.*)' would create a conflict at '(.*)'$/i.exec(message);
  if (conflict) return new CommandError(40, 'ConflictingUpdateOperators', `Updating the path '${conflict[1]}' would create a conflict at '${conflict[2]}'`);
  if (/unrecognized|unknown|invalid|unsupported|not supported|must be|expects/i.test(message)) return new CommandError(9, 'FailedToParse', message);
  return new CommandError(1, 'InternalError', message);
}
