import mongoose from 'mongoose';

/** A database command as the server sent it. */
export interface SentCommand {
  name: string;
  /** The collection it reads or writes (a getMore names it apart from the command's own value, the cursor id). */
  collection: string;
  command: Record<string, unknown>;
}

/** The database commands the test server (this process's connection) sends while `work` runs, in order. */
export async function databaseCommandsDuring<T>(work: () => Promise<T>): Promise<{ result: T; commands: SentCommand[] }> {
  const commands: SentCommand[] = [];
  const client = mongoose.connection.getClient();
  const listener = (event: { commandName: string; command: Record<string, unknown> }) => {
    const collection = event.commandName === 'getMore' ? event.command.collection : event.command[event.commandName];
    commands.push({ name: event.commandName, collection: String(collection ?? ''), command: event.command });
  };
  client.on('commandStarted', listener);
  try {
    return { result: await work(), commands };
  } finally {
    client.off('commandStarted', listener);
  }
}
