/**
 * The file types a `file` field can be limited to, each recognised by its content (the server
 * sniffs the first bytes of an upload with `file-type`; plain text is text that decodes as UTF-8),
 * and what the card shows of such a file.
 */

/** How the card shows a file: the browser's PDF viewer, a thumbnail, a read-only HTML copy, or only its name. */
export type FilePreview = 'pdf' | 'image' | 'html' | 'none';

export interface FileType {
  key: string;
  /** As a person knows the type. */
  label: string;
  /** The type's MIME type: what a download of such a file is served as when it is shown in the browser. */
  mime: string;
  /** Extensions `file-type` reports for it (and names carry); the first is the usual one. */
  extensions: string[];
  preview: FilePreview;
  /** Text in it is extracted for search. */
  searchable: boolean;
}

const officeXml = 'application/vnd.openxmlformats-officedocument';

export const fileTypes: readonly FileType[] = [
  { key: 'pdf', label: 'PDF', mime: 'application/pdf', extensions: ['pdf'], preview: 'pdf', searchable: true },
  { key: 'docx', label: 'DOCX', mime: `${officeXml}.wordprocessingml.document`, extensions: ['docx'], preview: 'html', searchable: true },
  { key: 'xlsx', label: 'XLSX', mime: `${officeXml}.spreadsheetml.sheet`, extensions: ['xlsx'], preview: 'none', searchable: false },
  { key: 'pptx', label: 'PPTX', mime: `${officeXml}.presentationml.presentation`, extensions: ['pptx'], preview: 'none', searchable: false },
  { key: 'odt', label: 'ODT', mime: 'application/vnd.oasis.opendocument.text', extensions: ['odt'], preview: 'none', searchable: false },
  { key: 'ods', label: 'ODS', mime: 'application/vnd.oasis.opendocument.spreadsheet', extensions: ['ods'], preview: 'none', searchable: false },
  { key: 'jpg', label: 'JPG', mime: 'image/jpeg', extensions: ['jpg', 'jpeg'], preview: 'image', searchable: false },
  { key: 'png', label: 'PNG', mime: 'image/png', extensions: ['png'], preview: 'image', searchable: false },
  { key: 'gif', label: 'GIF', mime: 'image/gif', extensions: ['gif'], preview: 'image', searchable: false },
  { key: 'webp', label: 'WebP', mime: 'image/webp', extensions: ['webp'], preview: 'image', searchable: false },
  { key: 'tiff', label: 'TIFF', mime: 'image/tiff', extensions: ['tif', 'tiff'], preview: 'image', searchable: false },
  { key: 'zip', label: 'ZIP', mime: 'application/zip', extensions: ['zip'], preview: 'none', searchable: false },
  { key: 'txt', label: 'TXT', mime: 'text/plain', extensions: ['txt'], preview: 'none', searchable: false },
  { key: 'csv', label: 'CSV', mime: 'text/csv', extensions: ['csv'], preview: 'none', searchable: false },
];

export const fileTypeKeys = fileTypes.map((type) => type.key) as [string, ...string[]];

export const findFileType = (key: string | null | undefined): FileType | undefined => fileTypes.find((type) => type.key === key);

/** The extension of a file name, lower-cased ('' when it has none). */
export const extensionOf = (name: string): string => /\.([^./\\]+)$/.exec(name)?.[1]?.toLowerCase() ?? '';

/** The type a name claims (what the browser can tell before uploading); the server decides by content. */
export const fileTypeByName = (name: string): FileType | undefined => {
  const extension = extensionOf(name);
  return fileTypes.find((type) => type.extensions.includes(extension));
};

/**
 * The type of content: `sniffed` is the extension `file-type` found in its first bytes (undefined
 * when it found none); content without a signature that is text counts as TXT, or CSV when so named.
 */
export function fileTypeOfContent(sniffed: string | undefined, isText: boolean, name: string): FileType | undefined {
  if (sniffed) return fileTypes.find((type) => type.extensions.includes(sniffed));
  if (!isText) return undefined;
  return findFileType(extensionOf(name) === 'csv' ? 'csv' : 'txt');
}
