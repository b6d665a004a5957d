/** Files on cards as the client uses them: upload with progress and cancel (POST /files), and what is known of stored files. */
import { reactive } from 'vue';
import { graphql, request, type ResultOf } from '../api/graphql';

/** How the card shows a file (the kernel's FilePreview). */
export type FilePreviewKind = 'pdf' | 'image' | 'html' | 'none';

/** A stored file version: the upload's answer, and the API's StoredFile. */
export interface StoredFileInfo {
  id: string;
  name: string;
  size: number;
  version: number;
  /** Every version of one file shares it (its first version's id); null for an upload not attached yet. */
  lineage: string | null;
  /** The download (an attachment); `?inline=1` opens a PDF or an image in the browser. */
  url: string;
  preview: FilePreviewKind;
  /** The reader may save a copy: downloading counts as export (the «Экспорт» right); previews are reading. */
  canDownload: boolean;
  /** A PDF whose original has scripts or other active content (the viewer gets a safe copy without it); null while it is being checked. */
  activeContent: boolean | null;
}

const Files = graphql(`query Files($ids: [ID!]!) { files(ids: $ids) { id name size version lineage url preview canDownload activeContent } }`);

/** Where an upload goes: a file field of a card being edited (`cardId`) or created (`folderId` + `typeKey`). */
export interface UploadTarget {
  cardId: string | null;
  folderId: string;
  typeKey: string;
}

/** An upload the server refused (with its message for the field) or that could not be sent. */
export class UploadError extends Error {
  constructor(
    message: string,
    readonly cancelled = false,
  ) {
    super(message);
    this.name = 'UploadError';
  }
}

/** A running upload: its outcome, and how to stop it. */
export interface Upload {
  done: Promise<StoredFileInfo>;
  cancel(): void;
}

interface UploadAnswer {
  file?: StoredFileInfo;
  errors?: { message: string; extensions?: { fields?: Record<string, string> } }[];
}

/**
 * Sends one file for `field` as multipart (the form fields first, then the file) with the API's CSRF
 * header; `onProgress` hears the bytes sent. XMLHttpRequest, because fetch reports no upload progress.
 */
export function uploadFile(target: UploadTarget, field: string, file: File, options: { replaces?: string; onProgress(sent: number, total: number): void; failed: string }): Upload {
  const request = new XMLHttpRequest();
  const form = new FormData();
  if (target.cardId) form.append('cardId', target.cardId);
  else {
    form.append('folderId', target.folderId);
    form.append('typeKey', target.typeKey);
  }
  form.append('field', field);
  if (options.replaces) form.append('replaces', options.replaces);
  form.append('file', file, file.name);
  const done = new Promise<StoredFileInfo>((resolve, reject) => {
    request.upload.onprogress = (event) => options.onProgress(event.loaded, event.lengthComputable ? event.total : file.size);
    request.onload = () => {
      let answer: UploadAnswer = {};
      try {
        answer = JSON.parse(request.responseText) as UploadAnswer;
      } catch {
        // Not JSON (a proxy's page): the status says enough.
      }
      if (request.status === 201 && answer.file) {
        resolve(answer.file);
        return;
      }
      const first = answer.errors?.[0];
      reject(new UploadError(first?.extensions?.fields?.[field] ?? first?.extensions?.fields?.file ?? first?.message ?? `${options.failed} (HTTP ${request.status})`));
    };
    request.onerror = () => reject(new UploadError(options.failed));
    request.onabort = () => reject(new UploadError(options.failed, true));
  });
  request.open('POST', '/files');
  request.setRequestHeader('x-graphql-yoga-csrf', '1');
  request.setRequestHeader('accept-language', document.documentElement.lang || 'ru');
  request.send(form);
  return { done, cancel: () => request.abort() };
}

/** Discards one's own upload that no card holds yet (the form's ×), freeing its quota; one already gone is no error. */
export async function discardUpload(id: string): Promise<void> {
  await fetch(`/files/${encodeURIComponent(id)}`, { method: 'DELETE', headers: { 'x-graphql-yoga-csrf': '1' } });
}

/** Stored files known to this tab, by id: filled by uploads and by reading them from the API. */
export const knownFiles = reactive(new Map<string, StoredFileInfo>());
const asked = new Set<string>();

export function rememberFile(file: StoredFileInfo): void {
  knownFiles.set(file.id, file);
}

/** Reads the files of these ids that are not known yet (those the reader may not read stay unknown). */
export async function loadFiles(ids: string[]): Promise<void> {
  const missing = ids.filter((id) => !knownFiles.has(id) && !asked.has(id));
  if (missing.length === 0) return;
  for (const id of missing) asked.add(id);
  try {
    const data = await request(Files, { ids: missing });
    // The schema types `preview` as String; the server names only the FilePreviewKind values.
    for (const file of data.files) rememberFile({ ...file, preview: file.preview as FilePreviewKind });
  } finally {
    for (const id of missing) asked.delete(id);
  }
}

const ActiveContent = graphql(`query FileActiveContent($ids: [ID!]!) { files(ids: $ids) { id activeContent } }`);
/** The first wait before asking again for a check's verdict, and the longest (each wait is half as long again as the one before). */
export const ACTIVE_CHECK_FIRST_WAIT_MS = 2000;
const ACTIVE_CHECK_LONGEST_WAIT_MS = 30_000;

/**
 * Follows the active-content check of a PDF listed as «being checked» (null; the server checks it in
 * the background, maybe behind other users' files): asks again after 2 s, then less often (at most
 * every 30 s), until there is a verdict, which `onVerdict` hears and the tab's known files take; or
 * until the returned stop is called, or the file can no longer be read.
 */
export function followActiveCheck(id: string, onVerdict: (active: boolean) => void): () => void {
  let stopped = false;
  let wait = ACTIVE_CHECK_FIRST_WAIT_MS;
  let timer: ReturnType<typeof setTimeout>;
  const ask = async () => {
    try {
      const file = (await request(ActiveContent, { ids: [id] })).files[0];
      if (stopped || !file) return;
      if (typeof file.activeContent === 'boolean') {
        const known = knownFiles.get(id);
        if (known) known.activeContent = file.activeContent;
        onVerdict(file.activeContent);
        return;
      }
    } catch {
      // The network or the server failed this time: asked again below.
    }
    if (stopped) return;
    wait = Math.min(wait * 1.5, ACTIVE_CHECK_LONGEST_WAIT_MS);
    timer = setTimeout(() => void ask(), wait);
  };
  timer = setTimeout(() => void ask(), wait);
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}

/**
 * Where the card previews a file in a frame: a PDF in the browser's viewer for holders of «Экспорт»
 * — the server gives the viewer a safe copy rebuilt without scripts, actions, forms or annotations,
 * never the uploaded bytes — and for others its pages drawn on the server or its text; a DOCX as
 * HTML. `sandbox` for pages of Kartoteka's making; `textOnly` when a PDF is not opened in the viewer
 * (the reader has no «Экспорт»); `activeNote` when the viewer shows a PDF whose original has active content.
 */
export function previewSource(file: Pick<StoredFileInfo, 'url' | 'preview' | 'canDownload' | 'activeContent'>): {
  src: string;
  sandbox: boolean;
  textOnly: 'noExport' | null;
  activeNote: boolean;
} {
  if (file.preview === 'pdf' && file.canDownload) return { src: `${file.url}?inline=1`, sandbox: false, textOnly: null, activeNote: file.activeContent === true };
  return { src: `${file.url}/preview`, sandbox: true, textOnly: file.preview === 'pdf' ? 'noExport' : null, activeNote: false };
}

const Versions = graphql(`
  query FileVersions($ids: [ID!]!) {
    files(ids: $ids) { id cardId historyKept versions { id name size version url preview canDownload activeContent canRemove uploadedAt uploadedBy { fullName } } }
  }
`);
const RemoveVersion = graphql(`mutation RemoveFileVersion($id: ID!) { removeFileVersion(id: $id) { id } }`);
const Quota = graphql(`query FileQuota { fileQuota { usedBytes limitBytes } }`);

/** One version of a file, as the version list shows it. */
export type FileVersion = ResultOf<typeof Versions>['files'][number]['versions'][number];

/**
 * Every version of the file `id` is a version of, newest first (empty when the reader may not read
 * it), its card, and whether the card's type keeps history (where removing a version is recorded then).
 */
export async function loadVersions(id: string): Promise<{ versions: FileVersion[]; cardId: string | null; historyKept: boolean }> {
  const file = (await request(Versions, { ids: [id] })).files[0];
  return { versions: file?.versions ?? [], cardId: file?.cardId ?? null, historyKept: file?.historyKept ?? false };
}

/** Removes an earlier version for good (full access to the card); the server answers what is left. */
export async function removeVersion(id: string): Promise<void> {
  await request(RemoveVersion, { id });
}

/** How much of their file quota the signed-in user uses (limitBytes 0: no quota). */
export async function loadQuota(): Promise<{ usedBytes: number; limitBytes: number }> {
  return (await request(Quota)).fileQuota;
}

/** A size as people read it: 12 КБ, 3,4 МБ. */
export function formatSize(bytes: number, locale: string): string {
  const units = locale === 'en' ? ['B', 'KB', 'MB', 'GB'] : ['Б', 'КБ', 'МБ', 'ГБ'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  const shown = new Intl.NumberFormat(locale === 'en' ? 'en' : 'ru', { maximumFractionDigits: unit === 0 || value >= 10 ? 0 : 1 }).format(value);
  return `${shown} ${units[unit]}`;
}

/** A PDF's pages as the server draws them: how many it has, how many of the first are drawn, how wide. */
export interface PdfPages {
  pages: number;
  shown: number;
  widthPx: number;
}

/** What the server answered instead: its message (Russian or English, as the session's language), or the status. */
async function refusalOf(response: Response, failed: string): Promise<Error> {
  const answer = (await response.json().catch(() => null)) as { errors?: { message: string }[] } | null;
  return new Error(answer?.errors?.[0]?.message ?? `${failed} (HTTP ${response.status})`);
}

/** How a PDF's pages can be paged through as images drawn on the server (never its original bytes). */
export async function loadPdfPages(file: Pick<StoredFileInfo, 'url'>, failed: string): Promise<PdfPages> {
  const response = await fetch(`${file.url}/pages`, { headers: { accept: 'application/json' } });
  if (!response.ok) throw await refusalOf(response, failed);
  return (await response.json()) as PdfPages;
}

/** Where page `page` of a PDF, drawn on the server as a JPEG, is (for an <img>: same origin, the session's cookie). */
export const pdfPageUrl = (file: Pick<StoredFileInfo, 'url'>, page: number): string => `${file.url}/pages/${page}`;

/** Why a page did not show: the server's message for it (asked again as JSON), or that it could not be loaded. */
export async function pdfPageRefusal(file: Pick<StoredFileInfo, 'url'>, page: number, failed: string): Promise<string> {
  try {
    const response = await fetch(pdfPageUrl(file, page), { headers: { accept: 'application/json' } });
    return response.ok ? failed : (await refusalOf(response, failed)).message;
  } catch {
    return failed;
  }
}
