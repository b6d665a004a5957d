import { PDFDocument, StandardFonts } from 'pdf-lib';
import sharp from 'sharp';
import type { ApiClient } from './api-client';
import { waitFor } from './wait';

/** A one-page PDF whose text layer holds `text` (Latin letters: the standard fonts have no Cyrillic). */
export async function pdfWithText(text: string): Promise<Buffer> {
  const pdf = await PDFDocument.create();
  const font = await pdf.embedFont(StandardFonts.Helvetica);
  pdf.addPage([400, 200]).drawText(text, { x: 20, y: 100, size: 14, font });
  return Buffer.from(await pdf.save());
}

/**
 * A scan: a PDF whose pages are only pictures (no text layer), each page a JPEG filled with one of
 * `colours` (so a drawn page can be told from another), A4-sized.
 */
export async function scannedPdf(colours: string[]): Promise<Buffer> {
  const pdf = await PDFDocument.create();
  for (const colour of colours) {
    const picture = await sharp({ create: { width: 620, height: 877, channels: 3, background: colour } })
      .jpeg()
      .toBuffer();
    pdf.addPage([595, 842]).drawImage(await pdf.embedJpg(picture), { x: 0, y: 0, width: 595, height: 842 });
  }
  return Buffer.from(await pdf.save());
}

/** A PDF of `count` empty pages. */
export async function blankPdf(count: number): Promise<Buffer> {
  const pdf = await PDFDocument.create();
  for (let index = 0; index < count; index += 1) pdf.addPage([200, 280]);
  return Buffer.from(await pdf.save());
}

/** A valid 1×1 PNG. */
export const PNG_1PX = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==', 'base64');

export interface UploadAnswer {
  status: number;
  body: {
    file?: {
      id: string;
      name: string;
      size: number;
      sha256: string;
      fileType: string | null;
      contentType: string;
      url: string;
      version: number;
      canDownload: boolean;
      activeContent: boolean | null;
    };
    errors?: { message: string; extensions: { code: string; fields?: Record<string, string> } }[];
  };
}

/**
 * POSTs one file to /files as the client's browser would: multipart, the form fields saying where it
 * goes before the file, the session cookie and the API's CSRF header (unless `csrf` is false).
 */
export async function uploadFile(
  client: ApiClient | null,
  baseUrl: string,
  form: Record<string, string>,
  file: { name: string; content: Buffer; type?: string },
  options: { csrf?: boolean } = {},
): Promise<UploadAnswer> {
  const body = new FormData();
  for (const [key, value] of Object.entries(form)) body.append(key, value);
  body.append('file', new Blob([new Uint8Array(file.content)], { type: file.type ?? 'application/octet-stream' }), file.name);
  const headers: Record<string, string> = {};
  if (client) headers.cookie = client.cookieHeader();
  if (options.csrf !== false) headers['x-graphql-yoga-csrf'] = '1';
  const response = await fetch(`${baseUrl}/files`, { method: 'POST', headers, body });
  return { status: response.status, body: (await response.json()) as UploadAnswer['body'] };
}

/** GETs a file (or a range of it) with the client's session; answers the status, headers and bytes. */
export async function downloadFile(
  client: ApiClient,
  baseUrl: string,
  url: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Headers; bytes: Buffer }> {
  const response = await fetch(`${baseUrl}${url}`, { headers: { cookie: client.cookieHeader(), ...headers } });
  return { status: response.status, headers: response.headers, bytes: Buffer.from(await response.arrayBuffer()) };
}

/** An administrator's type with a file field of any type, at most 1 MB. */
export const memoType = {
  key: 'memo',
  names: { ru: 'Служебная записка', en: 'Memo' },
  titleTemplate: '{title}',
  historyEnabled: false,
  origin: 'admin',
  fields: [
    { key: 'title', kind: 'string', label: { ru: 'Тема', en: 'Subject' }, required: true, listed: true },
    { key: 'attachment', kind: 'file', label: { ru: 'Вложение', en: 'Attachment' }, max: 1 },
  ],
};

/** The active-content verdict of a stored version as the API lists it, once its check has run (null until then). */
export async function activeVerdict(client: ApiClient, id: string): Promise<boolean> {
  let verdict: boolean | null = null;
  await waitFor(
    async () => {
      verdict = (await client.data<{ files: { activeContent: boolean | null }[] }>('query($ids: [ID!]!) { files(ids: $ids) { activeContent } }', { ids: [id] })).files[0]
        .activeContent;
      return verdict !== null;
    },
    'the active-content check',
    120_000,
  );
  return verdict!;
}
