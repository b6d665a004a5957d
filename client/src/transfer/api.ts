import { graphql, GraphQLRequestError, request, type ResultOf, type VariablesOf } from '../api/graphql';
import type { CardFilter } from '../workspace/api';

/** Import and export over the server's transfer API (server/src/transfer): uploads and downloads by HTTP, the steps by GraphQL. */

const InspectionQuery = graphql(`
  query ImportInspection($input: ImportSettingsInput!) {
    importInspection(input: $input) {
      uploadId fileName format sheets sheet encoding delimiter headerRow
      columns { index name samples links } fields { key label { ru en } kind required unique }
      mapping { columns constants { field value } matchField onMatch matchOtherFolders }
      suggestedTypeKey
    }
  }
`);
const StartImport = graphql(`
  mutation StartImport($input: ImportSettingsInput!, $mapping: ImportMappingInput!, $dryRun: Boolean!) { startImport(input: $input, mapping: $mapping, dryRun: $dryRun) { id } }
`);
const UndoImport = graphql(`mutation UndoImport($id: ID!) { undoImport(importId: $id) { id } }`);
const ImportResultQuery = graphql(`
  query ImportResult($id: ID!) {
    job(id: $id) {
      importResult {
        dryRun total created updated skipped refused cancelled
        preview { row outcome values { field text } found { id title folderId folderName } }
        refusedRows { row problems { column message } }
        matchedFolders { folderId name updated skipped refused }
      }
    }
  }
`);
const ImportRunsQuery = graphql(`
  query ImportRuns($folderId: ID!) {
    importRuns(folderId: $folderId) {
      fileName
      job { id state createdAt progress { done } importResult { created updated skipped refused cancelled } }
      undo { id state importUndoResult { trashed restored restoredInPart kept } }
    }
  }
`);
const ImportUndoResultQuery = graphql(`query ImportUndoResult($id: ID!) { job(id: $id) { importUndoResult { trashed restored restoredInPart kept } } }`);

/** The file to read and where its rows go (the upload, folder, type, and the sheet or CSV dialect chosen). */
export type ImportSettings = VariablesOf<typeof StartImport>['input'];
/** What the server found in the file and the mapping it guessed (or the user's last one for the type). */
export type ImportInspection = ResultOf<typeof InspectionQuery>['importInspection'];
/** Which field each column goes into, the constants, the field matching existing cards and what a match does. */
export type ImportMapping = ImportInspection['mapping'];
/** What an import (or its dry run) did: the counts, the first rows as they would be stored, the first refused rows. */
export type ImportResult = NonNullable<NonNullable<ResultOf<typeof ImportResultQuery>['job']>['importResult']>;
/** What undoing an import did. */
export type UndoResult = NonNullable<NonNullable<ResultOf<typeof ImportUndoResultQuery>['job']>['importUndoResult']>;

/** An import the user ran into a folder (not a dry run), with its undo once asked for. */
export type ImportRun = ResultOf<typeof ImportRunsQuery>['importRuns'][number];

/** Sends the file as it is (application/octet-stream: a body a form of another site cannot send) → its upload id. */
export async function uploadFile(file: File): Promise<string> {
  const response = await fetch(`/transfer/uploads?name=${encodeURIComponent(file.name)}`, {
    method: 'POST',
    headers: { 'content-type': 'application/octet-stream', 'accept-language': document.documentElement.lang || 'ru' },
    credentials: 'same-origin',
    body: file,
  });
  const body = (await response.json().catch(() => ({}))) as { id?: string; code?: string; error?: string; fields?: Record<string, string> };
  if (!response.ok || !body.id) throw new GraphQLRequestError(body.error ?? `HTTP ${response.status}`, body.code, body.fields ?? {});
  return body.id;
}

export async function inspectUpload(settings: ImportSettings): Promise<ImportInspection> {
  return (await request(InspectionQuery, { input: settings })).importInspection;
}

/** Starts the dry run or the import → the job's id (its progress and result come through useJob). */
export async function startImport(settings: ImportSettings, mapping: ImportMapping, dryRun: boolean): Promise<string> {
  return (await request(StartImport, { input: settings, mapping, dryRun })).startImport.id;
}

/**
 * What to export, as POST /transfer/export takes it: a folder's list as set up on the screen, the
 * cards of it selected (`ids`), or a search's results (`search`).
 */
export type ExportRequest =
  { folderId: string; sortBy: string; descending: boolean; filters: CardFilter[]; columns: string[]; ids?: string[] } | { search: string; libraryId?: string | null };

/** The file name a download's Content-Disposition gives (its UTF-8 form first). */
function attachmentName(header: string | null, fallback: string): string {
  const encoded = header?.match(/filename\*=UTF-8''([^;]+)/i)?.[1];
  if (encoded) return decodeURIComponent(encoded);
  return header?.match(/filename="([^"]+)"/i)?.[1] ?? fallback;
}

/** How a download is followed: the bytes as they arrive, the rows on the live stream under `progressId`, and `signal` to cancel it. */
export interface DownloadFollowing {
  progressId: string;
  onBytes: (bytes: number) => void;
  signal: AbortSignal;
}

/**
 * Downloads an export and saves it as the browser saves files. While it comes, `onBytes` hears the
 * bytes, and the server tells the rows written (of the total) on the live stream under
 * `progressId`; aborting `signal` cancels it (the server stops there). A refusal (no «Экспорт»
 * right, the daily limit, a field the server refused) throws with the server's message and its
 * field messages.
 */
export async function downloadExport(what: ExportRequest, format: 'xlsx' | 'csv', fallbackName: string, following: DownloadFollowing): Promise<void> {
  const response = await fetch('/transfer/export', {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'content-type': 'application/json', 'accept-language': document.documentElement.lang || 'ru' },
    body: JSON.stringify({ ...what, format, progressId: following.progressId }),
    signal: following.signal,
  });
  if (!response.ok || !response.body) {
    const body = (await response.json().catch(() => ({}))) as { code?: string; error?: string; fields?: Record<string, string> };
    const fields = body.fields ?? {};
    // The field messages say what was wrong (a card moved away since it was ticked); the general text only that something was.
    const details = [...new Set(Object.values(fields))].join('; ');
    throw new GraphQLRequestError(details || body.error || `HTTP ${response.status}`, body.code, fields);
  }
  const chunks: Uint8Array<ArrayBuffer>[] = [];
  let bytes = 0;
  const reader = response.body.getReader();
  for (let part = await reader.read(); !part.done; part = await reader.read()) {
    chunks.push(part.value);
    bytes += part.value.length;
    following.onBytes(bytes);
  }
  const link = document.createElement('a');
  link.href = URL.createObjectURL(new Blob(chunks, { type: response.headers.get('content-type') ?? 'application/octet-stream' }));
  link.download = attachmentName(response.headers.get('content-disposition'), fallbackName);
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 60_000);
}

/** Starts undoing an import (the id of its job) → the undo job's id. */
export async function undoImport(importId: string): Promise<string> {
  return (await request(UndoImport, { id: importId })).undoImport.id;
}

/** A finished import job's result (null if it failed before it had one). */
export async function importResult(jobId: string): Promise<ImportResult | null> {
  return (await request(ImportResultQuery, { id: jobId })).job?.importResult ?? null;
}

/** A finished undo job's result (null if it failed before it had one). */
export async function importUndoResult(jobId: string): Promise<UndoResult | null> {
  return (await request(ImportUndoResultQuery, { id: jobId })).job?.importUndoResult ?? null;
}

export const refusedReportUrl = (jobId: string) => `/transfer/imports/${jobId}/refused.xlsx`;

/** The user's own imports into the folder, newest first (dry runs left out). */
export async function importRuns(folderId: string): Promise<ImportRun[]> {
  return (await request(ImportRunsQuery, { folderId })).importRuns;
}
