import type { RunningServer } from '../../server/src/server';
import type { ApiClient } from './api-client';
import { waitFor } from './wait';

/**
 * Imports a CSV file into a folder as a user does: uploads it, starts the import with the columns
 * mapped to these fields, and waits for the job to end; returns the job's end state.
 */
export async function importCsv(
  server: RunningServer,
  client: ApiClient,
  target: { folderId: string; typeKey: string; csv: string; columns: (string | null)[]; dryRun?: boolean },
): Promise<string> {
  const uploaded = await fetch(`${server.url}/transfer/uploads?name=${encodeURIComponent('import.csv')}`, {
    method: 'POST',
    headers: { 'content-type': 'application/octet-stream', cookie: client.cookieHeader() },
    body: new Uint8Array(Buffer.from(target.csv)),
  });
  const input = { uploadId: ((await uploaded.json()) as { id: string }).id, folderId: target.folderId, typeKey: target.typeKey };
  const { startImport } = await client.data<{ startImport: { id: string } }>(
    'mutation($input: ImportSettingsInput!, $mapping: ImportMappingInput!, $dryRun: Boolean!) { startImport(input: $input, mapping: $mapping, dryRun: $dryRun) { id } }',
    { input, mapping: { columns: target.columns, onMatch: 'skip' }, dryRun: target.dryRun ?? false },
  );
  let state = 'queued';
  await waitFor(
    async () => {
      state = (await client.data<{ job: { state: string } }>('query($id: ID!) { job(id: $id) { state } }', { id: startImport.id })).job.state;
      return ['succeeded', 'failed', 'cancelled'].includes(state);
    },
    'the import to end',
    120_000,
  );
  return state;
}
