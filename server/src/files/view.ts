import { findFileType, type FilePreview } from '../../../card-types';
import type { StoredFileDoc, TextState } from './model';
import { nameForContent, safeFileName } from './names';

/** The served type of a stored file: its own for the known types, bytes otherwise. */
export const contentTypeOf = (file: Pick<StoredFileDoc, 'fileType'>): string => {
  const type = findFileType(file.fileType);
  if (!type) return 'application/octet-stream';
  return type.mime.startsWith('text/') ? `${type.mime}; charset=utf-8` : type.mime;
};

/**
 * The name a file is shown and served under: cleaned, with the extension of what it is (names
 * stored before either rule was kept are brought in line on the way out).
 */
export const servedName = (file: Pick<StoredFileDoc, 'name' | 'fileType'>): string => nameForContent(safeFileName(file.name), findFileType(file.fileType));

/** A stored file as clients see it (the upload's answer; GraphQL's StoredFile adds who uploaded it and its versions). */
export interface FileView {
  id: string;
  name: string;
  size: number;
  sha256: string;
  fileType: string | null;
  contentType: string;
  version: number;
  /** Every version of one file shares it (its first version's id); null until the upload is attached. */
  lineage: string | null;
  uploadedAt: string;
  /** Where its bytes are: an attachment; with `?inline=1` a PDF or an image opens in the browser. */
  url: string;
  preview: FilePreview;
  textState: TextState;
  /**
   * A PDF with scripts or other active content (the download warns; the browser's viewer only ever gets
   * its safe copy); null while the check, which runs after the upload is answered, has not given a verdict.
   */
  activeContent: boolean | null;
}

export const fileView = (file: StoredFileDoc): FileView => ({
  id: String(file._id),
  name: servedName(file),
  size: file.size,
  sha256: file.sha256,
  fileType: file.fileType,
  contentType: contentTypeOf(file),
  version: file.version,
  lineage: file.lineage ? String(file.lineage) : null,
  uploadedAt: file.uploadedAt.toISOString(),
  url: `/files/${String(file._id)}`,
  preview: findFileType(file.fileType)?.preview ?? 'none',
  textState: file.textState,
  activeContent: typeof file.activeContent === 'boolean' ? file.activeContent : null,
});
