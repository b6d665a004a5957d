/**
 * The backup archive: one gzip-compressed tar file, streamed in both directions.
 *
 *   manifest.json                   format, versions, time, and per file its SHA-256 and size
 *   dump/<collection>.bson          the collection's documents as raw BSON, one after another
 *   dump/<collection>.metadata.json its options and indexes (canonical Extended JSON)
 *
 * The dump/ part has mongodump's layout, so `tar xzf` + `mongorestore --dir dump` also reads it.
 * The manifest comes first, so a reader knows what to expect before the data; the SHA-256 of
 * every other file is checked against it.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createGzip } from 'node:zlib';
import mongoose from 'mongoose';
import tar from 'tar-stream';

export const ARCHIVE_FORMAT = 'kartoteka-backup';
export const ARCHIVE_FORMAT_VERSION = 1;
export const MANIFEST_FILE = 'manifest.json';

const { EJSON } = mongoose.mongo.BSON;

export interface ArchiveFile {
  path: string;
  bytes: number;
  sha256: string;
}

export interface ArchivedCollection {
  name: string;
  documents: number;
  data: ArchiveFile;
  metadata: ArchiveFile;
}

export interface Manifest {
  format: typeof ARCHIVE_FORMAT;
  formatVersion: number;
  kartotekaVersion: string;
  dataModelVersion: number;
  createdAt: string;
  /** The database it was taken from, for the record. */
  source: { database: string; server: string };
  /** All collections were read at one point in time (a snapshot session). */
  consistency: 'snapshot';
  collections: ArchivedCollection[];
}

export interface CollectionMetadata {
  collectionName: string;
  type: 'collection';
  options: Record<string, unknown>;
  indexes: Record<string, unknown>[];
}

export const dataPath = (collection: string) => `dump/${encodeURIComponent(collection)}.bson`;
export const metadataPath = (collection: string) => `dump/${encodeURIComponent(collection)}.metadata.json`;

export function serializeMetadata(metadata: CollectionMetadata): Buffer {
  return Buffer.from(EJSON.stringify(metadata, { relaxed: false }));
}

/** Numbers come back as plain numbers: index keys and options compare as the server's own would. */
export function parseMetadata(text: string): CollectionMetadata {
  return EJSON.parse(text, { relaxed: true }) as CollectionMetadata;
}

/** A file to put into the archive: its content from a local file, hashed while it was written. */
export interface StagedFile extends ArchiveFile {
  source: string;
}

/**
 * Writes the archive: manifest first, then each staged file streamed from disk, through gzip.
 * Memory stays flat whatever the size: nothing is held beyond stream buffers.
 */
export async function packArchive(target: string, manifest: Manifest, files: StagedFile[], signal?: AbortSignal): Promise<number> {
  const pack = tar.pack();
  const written = pipeline(pack, createGzip({ level: 6 }), createWriteStream(target), { signal });
  const manifestBytes = Buffer.from(JSON.stringify(manifest, null, 2));
  await new Promise<void>((resolve, reject) => pack.entry({ name: MANIFEST_FILE, size: manifestBytes.length }, manifestBytes, (error) => (error ? reject(error) : resolve())));
  for (const file of files) {
    signal?.throwIfAborted();
    await pipeline(createReadStream(file.source), pack.entry({ name: file.path, size: file.bytes }), { signal });
  }
  pack.finalize();
  await written;
  return (await stat(target)).size;
}

/** Splits a stream of concatenated BSON documents into one buffer per document. */
export async function* bsonDocuments(stream: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  let pending: Buffer = Buffer.alloc(0);
  for await (const chunk of stream) {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    let offset = 0;
    while (pending.length - offset >= 4) {
      const size = pending.readInt32LE(offset);
      if (size < 5) throw new Error('corrupt BSON: impossible document length');
      if (pending.length - offset < size) break;
      yield pending.subarray(offset, offset + size);
      offset += size;
    }
    pending = pending.subarray(offset);
  }
  if (pending.length > 0) throw new Error('corrupt BSON: the last document is cut off');
}

export class ArchiveError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ArchiveError';
  }
}

function checkManifest(value: unknown): Manifest {
  const manifest = value as Partial<Manifest>;
  if (manifest?.format !== ARCHIVE_FORMAT) throw new ArchiveError('not a Kartoteka backup: its manifest is missing or of another format');
  if (manifest.formatVersion !== ARCHIVE_FORMAT_VERSION) throw new ArchiveError(`archive format ${manifest.formatVersion} is not one this Kartoteka reads (${ARCHIVE_FORMAT_VERSION})`);
  if (!Array.isArray(manifest.collections) || typeof manifest.dataModelVersion !== 'number') throw new ArchiveError('the manifest is incomplete');
  return manifest as Manifest;
}

/**
 * Reads the archive front to back: the manifest, then every file, each handed to `onFile` as a
 * stream of chunks it reads to the end. Every file's SHA-256 and size are checked against the manifest as it
 * streams by; a file that does not match, is missing or is not listed fails the read.
 */
export async function readArchive(file: string, onFile?: (entry: ArchiveFile, content: AsyncIterable<Buffer>, manifest: Manifest) => Promise<void>): Promise<Manifest> {
  const extract = tar.extract();
  const reading = pipeline(createReadStream(file), createGunzip(), extract);
  let manifest: Manifest | null = null;
  const expected = new Map<string, ArchiveFile>();
  try {
    for await (const entry of extract) {
      const name = entry.header.name;
      if (!manifest) {
        if (name !== MANIFEST_FILE) throw new ArchiveError(`the archive does not start with ${MANIFEST_FILE}`);
        const chunks: Buffer[] = [];
        for await (const chunk of entry) chunks.push(chunk as Buffer);
        manifest = checkManifest(JSON.parse(Buffer.concat(chunks).toString('utf8')));
        for (const collection of manifest.collections) for (const part of [collection.data, collection.metadata]) expected.set(part.path, part);
        continue;
      }
      const listed = expected.get(name);
      if (!listed) throw new ArchiveError(`${name} is in the archive but not in its manifest`);
      expected.delete(name);
      const hash = createHash('sha256');
      let bytes = 0;
      const content = (async function* () {
        for await (const chunk of entry) {
          hash.update(chunk as Buffer);
          bytes += (chunk as Buffer).length;
          yield chunk as Buffer;
        }
      })();
      if (onFile) await onFile(listed, content, manifest);
      for await (const _rest of content);
      const sha256 = hash.digest('hex');
      if (bytes !== listed.bytes || sha256 !== listed.sha256) throw new ArchiveError(`${name} does not match the manifest (SHA-256 ${sha256}, expected ${listed.sha256})`);
    }
    await reading;
  } catch (error) {
    extract.destroy();
    await reading.catch(() => undefined);
    if (error instanceof ArchiveError) throw error;
    throw new ArchiveError(`the archive cannot be read: ${(error as Error).message}`);
  }
  if (!manifest) throw new ArchiveError('the archive is empty');
  if (expected.size > 0) throw new ArchiveError(`files listed in the manifest are missing: ${[...expected.keys()].join(', ')}`);
  return manifest;
}
