/**
 * The backup archive: one gzip-compressed tar file, streamed in both directions.
 *
 *   manifest.json                   format, versions, time, and per file its SHA-256 and size
 *   manifest.sha256                 the SHA-256 of manifest.json (from format 2)
 *   dump/<collection>.bson          the collection's documents as raw BSON, one after another
 *   dump/<collection>.metadata.json its options and indexes (canonical Extended JSON)
 *
 * The dump/ part has mongodump's layout, so `tar xzf` + `mongorestore --dir dump` also reads it.
 * The manifest comes first, so a reader knows what to expect before the data; the SHA-256 of
 * every other file is checked against it, and the manifest's own against the entry after it.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createGzip } from 'node:zlib';
import mongoose from 'mongoose';
import tar from 'tar-stream';

export const ARCHIVE_FORMAT = 'kartoteka-backup';
/** 2: the manifest's SHA-256 follows it as the second entry. Format 1 archives are still read. */
export const ARCHIVE_FORMAT_VERSION = 2;
const READABLE_FORMAT_VERSIONS = [1, 2];
export const MANIFEST_FILE = 'manifest.json';
export const MANIFEST_HASH_FILE = 'manifest.sha256';
/** A manifest lists files, a few hundred bytes per collection: anything near this is not one. */
export const MANIFEST_MAX_BYTES = 4 * 1024 * 1024;
/** MongoDB's largest document (16 MiB), with room for the server's own overhead. */
const MAX_DOCUMENT_BYTES = 16 * 1024 * 1024 + 16 * 1024;

/**
 * Collections that describe this installation's running state, not its data: the data-model stamp
 * and maintenance flag (`meta`; the manifest carries the version), jobs, locks and the catalog of
 * archives on this server's disk. A backup leaves them out and a restore leaves them alone — and
 * refuses an archive that lists one (it was not written by a backup).
 */
export const RUNTIME_COLLECTIONS: readonly string[] = ['meta', 'jobs', 'locks', 'backups'];

export const isBackedUp = (name: string) => !name.startsWith('system.') && !RUNTIME_COLLECTIONS.includes(name);

const { BSON } = mongoose.mongo;
const { EJSON } = BSON;

const sha256Of = (content: Buffer) => createHash('sha256').update(content).digest('hex');

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
  await new Promise<void>((resolve, reject) => pack.entry({ name: MANIFEST_HASH_FILE }, `${sha256Of(manifestBytes)}\n`, (error) => (error ? reject(error) : resolve())));
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
      if (size < 5 || size > MAX_DOCUMENT_BYTES) throw new ArchiveError(`corrupt BSON: impossible document length ${size}`);
      if (pending.length - offset < size) break;
      if (pending[offset + size - 1] !== 0) throw new ArchiveError('corrupt BSON: a document does not end where its length says');
      yield pending.subarray(offset, offset + size);
      offset += size;
    }
    pending = pending.subarray(offset);
  }
  if (pending.length > 0) throw new ArchiveError('corrupt BSON: the last document is cut off');
}

export class ArchiveError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ArchiveError';
  }
}

const isCount = (value: unknown): value is number => Number.isSafeInteger(value) && (value as number) >= 0;
const isFile = (file: unknown, path: string): boolean => {
  const listed = file as Partial<ArchiveFile> | undefined;
  return listed?.path === path && isCount(listed.bytes) && typeof listed.sha256 === 'string' && /^[0-9a-f]{64}$/.test(listed.sha256);
};

/**
 * The manifest as a backup writes it, and nothing else: only collections a backup takes (never
 * `meta`, `jobs`, `locks`, `backups`), each once, its files at the paths a backup gives them.
 */
function checkManifest(value: unknown): Manifest {
  const manifest = value as Partial<Manifest>;
  if (manifest?.format !== ARCHIVE_FORMAT) throw new ArchiveError('not a Kartoteka backup: its manifest is missing or of another format');
  if (!READABLE_FORMAT_VERSIONS.includes(manifest.formatVersion!))
    throw new ArchiveError(`archive format ${manifest.formatVersion} is not one this Kartoteka reads (${READABLE_FORMAT_VERSIONS.join(', ')})`);
  if (!Array.isArray(manifest.collections) || !Number.isSafeInteger(manifest.dataModelVersion) || manifest.dataModelVersion! < 1)
    throw new ArchiveError('the manifest is incomplete');
  const names = new Set<string>();
  for (const collection of manifest.collections as Partial<ArchivedCollection>[]) {
    const name = collection?.name;
    if (typeof name !== 'string' || name.length === 0 || name.length > 200 || /[\0$]/.test(name))
      throw new ArchiveError(`the manifest lists a collection with an impossible name: ${JSON.stringify(name)}`);
    if (!isBackedUp(name)) throw new ArchiveError(`the manifest lists the collection "${name}", which a backup never contains`);
    if (names.has(name)) throw new ArchiveError(`the manifest lists the collection "${name}" twice`);
    names.add(name);
    if (!isCount(collection.documents) || !isFile(collection.data, dataPath(name)) || !isFile(collection.metadata, metadataPath(name))) {
      throw new ArchiveError(`the manifest's entry for "${name}" is incomplete`);
    }
  }
  return manifest as Manifest;
}

/** Reads an entry whole, refusing one larger than `limit` bytes. */
async function readSmall(entry: AsyncIterable<Buffer>, name: string, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let bytes = 0;
  for await (const chunk of entry) {
    bytes += chunk.length;
    if (bytes > limit) throw new ArchiveError(`${name} is larger than ${limit / 1024 / 1024} MB: not a Kartoteka backup`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** An error of the caller's `onFile`: passed through as it is, not taken for a damaged archive. */
class FromCaller {
  constructor(readonly error: unknown) {}
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
  let manifestHash = '';
  let manifestChecked = false;
  const expected = new Map<string, ArchiveFile>();
  try {
    for await (const entry of extract) {
      const name = entry.header.name;
      if (manifest && manifest.formatVersion >= 2 && !manifestChecked && name !== MANIFEST_HASH_FILE) {
        throw new ArchiveError(`${MANIFEST_HASH_FILE} does not follow ${MANIFEST_FILE}: the archive was rewritten`);
      }
      if (!manifest) {
        if (name !== MANIFEST_FILE) throw new ArchiveError(`the archive does not start with ${MANIFEST_FILE}`);
        const bytes = await readSmall(entry as AsyncIterable<Buffer>, MANIFEST_FILE, MANIFEST_MAX_BYTES);
        manifestHash = sha256Of(bytes);
        let parsed: unknown;
        try {
          parsed = JSON.parse(bytes.toString('utf8'));
        } catch {
          throw new ArchiveError(`${MANIFEST_FILE} is not valid JSON`);
        }
        manifest = checkManifest(parsed);
        for (const collection of manifest.collections) for (const part of [collection.data, collection.metadata]) expected.set(part.path, part);
        continue;
      }
      if (name === MANIFEST_HASH_FILE && !manifestChecked) {
        const recorded = (await readSmall(entry as AsyncIterable<Buffer>, MANIFEST_HASH_FILE, 1024)).toString('utf8').trim();
        if (recorded !== manifestHash)
          throw new ArchiveError(`${MANIFEST_FILE} was changed after the backup was written (its SHA-256 is ${manifestHash}, the archive recorded ${recorded})`);
        manifestChecked = true;
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
      if (onFile) {
        const current = manifest;
        await onFile(listed, content, current).catch((error: unknown) => {
          throw error instanceof ArchiveError ? error : new FromCaller(error);
        });
      }
      for await (const _rest of content);
      const sha256 = hash.digest('hex');
      if (bytes !== listed.bytes || sha256 !== listed.sha256) throw new ArchiveError(`${name} does not match the manifest (SHA-256 ${sha256}, expected ${listed.sha256})`);
    }
    await reading;
  } catch (error) {
    extract.destroy();
    await reading.catch(() => undefined);
    if (error instanceof FromCaller) throw error.error;
    if (error instanceof ArchiveError) throw error;
    throw new ArchiveError(`the archive cannot be read: ${(error as Error).message}`);
  }
  if (!manifest) throw new ArchiveError('the archive is empty');
  if (expected.size > 0) throw new ArchiveError(`files listed in the manifest are missing: ${[...expected.keys()].join(', ')}`);
  if (manifest.formatVersion >= 2 && !manifestChecked) throw new ArchiveError(`${MANIFEST_HASH_FILE} is missing: the archive was rewritten`);
  return manifest;
}

/** A document's `_id` as a key: its BSON type and bytes (read directly when `_id` comes first, as servers store it). */
function idKey(raw: Buffer): string {
  const nameEnd = raw.indexOf(0, 5);
  if (raw[4] === 0x07 && nameEnd === 8 && raw.toString('latin1', 5, 8) === '_id') return raw.toString('latin1', 4, 21);
  const { _id } = BSON.deserialize(raw, { promoteValues: false, bsonRegExp: true });
  return _id === undefined ? '' : EJSON.stringify(_id, { relaxed: false });
}

/**
 * Reads the whole archive as a restore will, without writing anything: every file against its
 * hash, the manifest against its own, every document's BSON framing, each collection's document
 * count against the manifest and its `_id`s for repeats, every metadata file for valid JSON.
 */
export async function verifyArchive(file: string): Promise<Manifest> {
  return readArchive(file, async (entry, content, manifest) => {
    const collection = manifest.collections.find((c) => c.data.path === entry.path || c.metadata.path === entry.path)!;
    if (entry.path === collection.metadata.path) {
      try {
        parseMetadata((await readSmall(content, entry.path, MAX_DOCUMENT_BYTES)).toString('utf8'));
      } catch (error) {
        throw error instanceof ArchiveError ? error : new ArchiveError(`${entry.path} is not valid Extended JSON`);
      }
      return;
    }
    const ids = new Set<string>();
    let documents = 0;
    for await (const raw of bsonDocuments(content)) {
      documents += 1;
      let key: string;
      try {
        key = idKey(raw);
      } catch {
        // A damaged byte inside a well-framed document (the file's hash is known only at its end).
        throw new ArchiveError(`corrupt BSON: a document of ${entry.path} cannot be read`);
      }
      if (key === '') continue;
      if (ids.has(key)) throw new ArchiveError(`${collection.name}: the _id ${EJSON.stringify(BSON.deserialize(raw)._id)} appears twice`);
      ids.add(key);
    }
    if (documents !== collection.documents) throw new ArchiveError(`${collection.name}: ${documents} documents in the archive, the manifest says ${collection.documents}`);
  });
}
