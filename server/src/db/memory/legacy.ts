/**
 * Conversion of data stored by the earlier journal engine (`snapshot.kdb` + `journal.kdb` under
 * the dbpath) into the LMDB environment, on the first start that finds them.
 *
 * Old record format: u32 payload length | u32 crc32(payload) | payload (concatenated BSON
 * documents). Both files start with a header record `{ generation }`; a journal of another
 * generation than the snapshot is stale; a torn or corrupt tail record was never acknowledged and
 * is left out, exactly as the old engine did on start.
 *
 * The conversion runs in one LMDB write transaction: either everything is converted or nothing
 * is, and the old files are then moved aside (never deleted) into `converted-journal-<time>/`.
 */
import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import { serialize } from 'bson';
import { keyString } from './bson-order';
import type { Doc, IndexSpec } from './indexes';
import { decodeDocument } from './typed-numbers';
import { recordKey, splitNamespace, type Store } from './store';

const RECORD_HEADER = 8;
export const LEGACY_FILES = ['snapshot.kdb', 'journal.kdb'] as const;

export function encodeRecord(docs: Doc[]): Buffer {
  const payload = Buffer.concat(docs.map((doc) => serialize(doc)));
  const head = Buffer.alloc(RECORD_HEADER);
  head.writeUInt32LE(payload.length, 0);
  head.writeUInt32LE(crc32(payload), 4);
  return Buffer.concat([head, payload]);
}

/** Complete, intact records of a file. */
export function decodeRecords(data: Buffer): Doc[][] {
  const records: Doc[][] = [];
  let offset = 0;
  while (offset + RECORD_HEADER <= data.length) {
    const length = data.readUInt32LE(offset);
    const checksum = data.readUInt32LE(offset + 4);
    const end = offset + RECORD_HEADER + length;
    if (end > data.length) break;
    const payload = data.subarray(offset + RECORD_HEADER, end);
    if (crc32(payload) !== checksum) break;
    const docs: Doc[] = [];
    for (let position = 0; position < payload.length;) {
      const size = payload.readInt32LE(position);
      docs.push(decodeDocument(payload.subarray(position, position + size)));
      position += size;
    }
    records.push(docs);
    offset = end;
  }
  return records;
}

interface LegacyCollection {
  options: Doc;
  indexes: Map<string, IndexSpec>;
  docs: Map<string, Doc>;
}

type LegacyOp = Doc & { op: string; ns: string };

/** Replays the old snapshot and journal into plain maps. */
function replay(dbpath: string): Map<string, LegacyCollection> {
  const collections = new Map<string, LegacyCollection>();
  const ensure = (ns: string) => {
    let collection = collections.get(ns);
    if (!collection) collections.set(ns, (collection = { options: {}, indexes: new Map(), docs: new Map() }));
    return collection;
  };
  const apply = (op: LegacyOp) => {
    switch (op.op) {
      case 'createCollection':
        if (!collections.has(op.ns)) collections.set(op.ns, { options: (op.options as Doc) ?? {}, indexes: new Map(), docs: new Map() });
        return;
      case 'dropCollection':
        collections.delete(op.ns);
        return;
      case 'rename': {
        const source = collections.get(op.ns);
        if (!source) return;
        collections.delete(op.ns);
        collections.set(String(op.to), source);
        return;
      }
      case 'createIndex': {
        const spec = op.spec as IndexSpec;
        ensure(op.ns).indexes.set(spec.name, spec);
        return;
      }
      case 'dropIndex':
        collections.get(op.ns)?.indexes.delete(String(op.name));
        return;
      case 'put': {
        const doc = op.doc as Doc;
        ensure(op.ns).docs.set(keyString(doc._id), doc);
        return;
      }
      case 'del':
        collections.get(op.ns)?.docs.delete(keyString(op.id));
        return;
      default:
        throw new Error(`unknown journal operation "${op.op}"`);
    }
  };
  const snapshotFile = path.join(dbpath, 'snapshot.kdb');
  let generation = 0;
  if (existsSync(snapshotFile)) {
    const records = decodeRecords(readFileSync(snapshotFile));
    if (!records[0]?.[0] || !records[records.length - 1]?.some((doc) => doc.end === true)) throw new Error(`${snapshotFile} is incomplete (no end marker)`);
    generation = Number(records[0][0].generation);
    for (const record of records.slice(1)) for (const op of record) if (op.end !== true) apply(op as LegacyOp);
  }
  const journalFile = path.join(dbpath, 'journal.kdb');
  if (existsSync(journalFile)) {
    const records = decodeRecords(readFileSync(journalFile));
    const journalGeneration = records[0]?.[0] ? Number(records[0][0].generation) : -1;
    if (journalGeneration === generation) for (const record of records.slice(1)) for (const op of record) apply(op as LegacyOp);
  }
  return collections;
}

export function hasLegacyData(dbpath: string): boolean {
  return LEGACY_FILES.some((file) => existsSync(path.join(dbpath, file)));
}

/**
 * Converts the old files into `store` (which must be empty) and moves them aside. Returns the
 * line to log; throws with a clear message (nothing converted, old files untouched) on failure.
 */
export async function convertLegacyData(store: Store, dbpath: string): Promise<string> {
  if (store.collections.size > 0) {
    throw new Error(
      `${dbpath} holds both converted LMDB data (data.mdb) and old journal files (${LEGACY_FILES.join(', ')}). Nothing was changed. If the data is complete, move the old files out of ${dbpath}; to convert again, move data.mdb and lock.mdb away instead.`,
    );
  }
  let collections: Map<string, LegacyCollection>;
  try {
    collections = replay(dbpath);
  } catch (error) {
    throw new Error(`cannot read the old journal files in ${dbpath}: ${(error as Error).message}. Nothing was changed.`, { cause: error });
  }
  let documents = 0;
  try {
    await store.write(() => {
      for (const [ns, legacy] of collections) {
        const [db, name] = splitNamespace(ns);
        const collection = store.createSync(db, name, legacy.options);
        store.addIndexesSync(
          collection,
          [...legacy.indexes.values()].filter((spec) => spec.name !== '_id_'),
        );
        for (const doc of legacy.docs.values()) {
          store.putRecord(collection, recordKey(doc), doc, undefined);
          documents++;
        }
      }
    });
  } catch (error) {
    store.collections.clear();
    throw new Error(`cannot convert the old journal files in ${dbpath}: ${(error as Error).message}. Nothing was converted and the old files are untouched.`, { cause: error });
  }
  const keep = path.join(dbpath, `converted-journal-${new Date().toISOString().replace(/[:.]/g, '-')}`);
  mkdirSync(keep);
  for (const file of LEGACY_FILES) if (existsSync(path.join(dbpath, file))) renameSync(path.join(dbpath, file), path.join(keep, file));
  return `converted ${documents} documents in ${collections.size} collections from the old journal format; the old files are kept in ${keep} (delete them once satisfied)`;
}
