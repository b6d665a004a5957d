import type { RunningServer } from '../../server/src/server';
import type { ApiClient } from './api-client';
import { createCorrespondents } from './fixtures';
import { signedIn, startTestServer } from './server';
import { waitFor } from './wait';

type CsvImport = { folderId: string; typeKey: string; csv: string; columns: (string | null)[]; dryRun?: boolean };

/** Uploads a CSV file and starts its import into a folder as a user does, the columns mapped to these fields; returns the job's id. */
export async function startCsvImport(server: RunningServer, client: ApiClient, target: CsvImport): Promise<string> {
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
  return startImport.id;
}

/**
 * Imports a CSV file into a folder as a user does: uploads it, starts the import with the columns
 * mapped to these fields, and waits for the job to end; returns the job's end state.
 */
export async function importCsv(server: RunningServer, client: ApiClient, target: CsvImport): Promise<string> {
  const id = await startCsvImport(server, client, target);
  let state = 'queued';
  await waitFor(
    async () => {
      state = (await client.data<{ job: { state: string } }>('query($id: ID!) { job(id: $id) { state } }', { id })).job.state;
      return ['succeeded', 'failed', 'cancelled'].includes(state);
    },
    'the import to end',
    120_000,
  );
  return state;
}

/** A test server whose folder «Корреспонденты» Татьяна Гончаренко («the importer») may do anything in. */
export async function serverWithImporter(): Promise<{ server: RunningServer; admin: ApiClient; importer: ApiClient; importerId: string; folderId: string }> {
  const password = 'secret-password-1';
  const server = await startTestServer();
  const admin = await signedIn(server);
  const { folderId, userIds } = await createCorrespondents(admin, password, [{ login: 'tgoncharenko', fullName: 'Татьяна Гончаренко', level: 'full' }]);
  return { server, admin, importer: await signedIn(server, 'tgoncharenko', password), importerId: userIds.tgoncharenko, folderId };
}
