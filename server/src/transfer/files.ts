/**
 * Files of imports, in GridFS (bucket `transfer`): an uploaded file waits there for its import
 * (which any instance may run, and resume after a restart). Written and read as streams, never
 * whole in memory — but a small one read as a sheet (SMALL_SHEET_FILE).
 */
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { pipeline } from 'node:stream/promises';
import DataLoader from 'dataloader';
import mongoose, { Types } from 'mongoose';
import { Job } from '../jobs/model';
import type { SheetFile } from './sheet';

export type TransferFileKind = 'upload';

export interface TransferFileMeta {
  kind: TransferFileKind;
  ownerId: string;
  /** The name the user gave the file. */
  name: string;
}

export interface TransferFile extends TransferFileMeta {
  id: string;
  size: number;
  uploadedAt: Date;
}

const bucket = () => new mongoose.mongo.GridFSBucket(mongoose.connection.db!, { bucketName: 'transfer' });
const filesOf = () => mongoose.connection.db!.collection('transfer.files');

/** The index that answers a user's uploads, made once per database this process opens. */
const ownerIndexes = new Map<string, Promise<unknown>>();
function ownerIndex(): Promise<unknown> {
  const name = mongoose.connection.db!.databaseName;
  let made = ownerIndexes.get(name);
  if (!made) {
    made = filesOf()
      .createIndex({ 'metadata.ownerId': 1, uploadDate: 1 }, { name: 'owner_uploadDate' })
      .catch((error: unknown) => {
        ownerIndexes.delete(name);
        throw error;
      });
    ownerIndexes.set(name, made);
  }
  return made;
}

/**
 * Bytes of the user's uploads stored now: the import quota's count (an upload leaves it when an
 * import of it ends, or a day after it was uploaded). Reads the user's own files only.
 */
export async function storedUploadBytes(ownerId: string): Promise<number> {
  await ownerIndex();
  const [total] = await filesOf()
    .aggregate<{ bytes: number }>([{ $match: { 'metadata.ownerId': ownerId } }, { $group: { _id: null, bytes: { $sum: '$length' } } }])
    .toArray();
  return total?.bytes ?? 0;
}

/** Files older than this are removed when the next file is stored (unless an import needs them: `removeOldFiles`). */
const KEEP_MS = 24 * 60 * 60 * 1000;

/** Stores a stream as a file; returns its id. The stream may be refused half-way (a size limit): nothing is kept then. */
export async function storeFile(source: Readable, meta: TransferFileMeta): Promise<string> {
  await removeOldFiles();
  const upload = bucket().openUploadStream(meta.name, { metadata: meta });
  try {
    await pipeline(source, upload);
  } catch (error) {
    await bucket()
      .delete(upload.id)
      .catch(() => undefined);
    throw error;
  }
  return String(upload.id);
}

/**
 * Whether uploads are still kept, asked for a page of failed imports at once: the questions of one
 * tick go to the database together, each answered as of now (no cache).
 */
export const uploadKept = new DataLoader<string, boolean>(
  async (ids) => {
    const valid = ids.filter((id) => Types.ObjectId.isValid(id)).map((id) => new Types.ObjectId(id));
    const kept = await filesOf()
      .find({ _id: { $in: valid }, metadata: { $type: 'object' } }, { projection: { _id: 1 } })
      .toArray();
    const keptIds = new Set(kept.map((file) => String(file._id)));
    return ids.map((id) => keptIds.has(id));
  },
  { cache: false },
);

export async function findFile(id: string): Promise<TransferFile | null> {
  if (!Types.ObjectId.isValid(id)) return null;
  const [file] = await bucket()
    .find({ _id: new Types.ObjectId(id) })
    .toArray();
  if (!file?.metadata) return null;
  const meta = file.metadata as TransferFileMeta;
  return { id, kind: meta.kind, ownerId: meta.ownerId, name: meta.name, size: file.length, uploadedAt: file.uploadDate };
}

/** The file's bytes, or a range of them (`end` exclusive). */
export function openFile(id: string, range?: { start: number; end: number }): Readable {
  return bucket().openDownloadStream(new Types.ObjectId(id), range);
}

/**
 * The largest file read as a sheet from the database at once, its ranges then served from memory. An
 * .xlsx is read in many small ranges — yauzl reads each entry's header and data apart, and the
 * inspection checks, lists and reads the file in turn: 135 download streams, 289 database round
 * trips, for a file of 100 rows (14 KB). While a colleague's import kept the database busy, each
 * round trip waited behind it: that inspection took 24–59 s (s14 U1).
 */
export const SMALL_SHEET_FILE = 4 * 1024 * 1024;

/** The stored file to read as a sheet: its size and its bytes (a small one fetched once, when first read). */
export function sheetFile(file: Pick<TransferFile, 'id' | 'size'>): SheetFile {
  if (file.size > SMALL_SHEET_FILE) return { size: file.size, open: (range) => openFile(file.id, range) };
  let whole: Promise<Buffer> | undefined;
  const bytes = () => (whole ??= buffer(openFile(file.id)));
  async function* slice(range?: { start: number; end: number }) {
    const all = await bytes();
    yield range ? all.subarray(range.start, range.end) : all;
  }
  return { size: file.size, open: (range) => Readable.from(slice(range), { objectMode: false }) };
}

/**
 * An import (not a dry run) that is over — done, cancelled, stopped, undone, or failed in a way it
 * cannot go on from — has used its upload: the file goes, freeing the user's upload quota, unless
 * another unfinished import reads it. One that failed on the way (the database gone, a fault of
 * the server) keeps it: «Продолжить с места остановки» reads it again from the next row.
 */
export async function releaseImportUpload(importId: string, uploadId: string): Promise<void> {
  const others = await Job.exists({ _id: { $ne: new Types.ObjectId(importId) }, type: 'import', 'params.uploadId': uploadId, state: { $in: ['queued', 'running'] } });
  if (!others) await deleteFile(uploadId);
}

export async function deleteFile(id: string): Promise<void> {
  await bucket()
    .delete(new Types.ObjectId(id))
    .catch(() => undefined);
}

/**
 * Uploads a day old are gone: they are transit, not storage — but not while an import needs one: one
 * queued or running reads it (its stream would lose its chunks half-way), and one that failed on the
 * way keeps it for «Продолжить с места остановки» a day from its failure, not from the upload (s13
 * re-attack B5). A failed dry run cannot be continued.
 */
async function removeOldFiles(): Promise<void> {
  const dayAgo = new Date(Date.now() - KEEP_MS);
  const needed = await Job.find(
    { type: 'import', $or: [{ state: { $in: ['queued', 'running'] } }, { state: 'failed', 'params.dryRun': false, finishedAt: { $gte: dayAgo } }] },
    { 'params.uploadId': 1 },
  ).lean<{ params: { uploadId?: string } }[]>();
  const spared = needed.flatMap((job) => (job.params.uploadId && Types.ObjectId.isValid(job.params.uploadId) ? [new Types.ObjectId(job.params.uploadId)] : []));
  const old = await bucket()
    .find({ uploadDate: { $lt: dayAgo }, _id: { $nin: spared } }, { projection: { _id: 1 } })
    .limit(100)
    .toArray();
  for (const file of old) await deleteFile(String(file._id));
}
