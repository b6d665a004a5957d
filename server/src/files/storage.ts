import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import mongoose from 'mongoose';

/** Bytes [start, end] of a stored object, both inclusive (as an HTTP range says them). */
export interface ByteRange {
  start: number;
  end: number;
}

/**
 * Where file contents live: streamed in, streamed out (whole or a range), removed. Everything about a
 * file but its bytes is in the `files` collection, so another backend (S3-compatible object storage)
 * only has to implement these four calls.
 */
export interface FileStorage {
  /** Stores `source` under `id`; resolves once every byte is stored, rejects (storing nothing) when the source fails. */
  write(id: string, name: string, source: Readable): Promise<void>;
  /** The object's bytes, or those of `range`. */
  read(id: string, range?: ByteRange): Readable;
  /** The object's size in bytes, or null when there is no such object. */
  size(id: string): Promise<number | null>;
  /** Removes the object; nothing happens when it is already gone. */
  remove(id: string): Promise<void>;
}

/** The default bucket's collections, `fs.files` and `fs.chunks`: backups and replication take them like any other. */
export const GRIDFS_BUCKET = 'fs';

/** MongoDB's GridFS through the driver's GridFSBucket: the one database holds the files too. */
export class GridFsStorage implements FileStorage {
  private bucket(): mongoose.mongo.GridFSBucket {
    const db = mongoose.connection.db;
    if (!db) throw new Error('the database is not connected');
    return new mongoose.mongo.GridFSBucket(db, { bucketName: GRIDFS_BUCKET });
  }

  async write(id: string, name: string, source: Readable): Promise<void> {
    const upload = this.bucket().openUploadStreamWithId(new mongoose.Types.ObjectId(id), name);
    try {
      await pipeline(source, upload);
    } catch (error) {
      // Chunks already written go with the failed upload.
      await this.remove(id);
      throw error;
    }
  }

  read(id: string, range?: ByteRange): Readable {
    // The driver's end is exclusive.
    return this.bucket().openDownloadStream(new mongoose.Types.ObjectId(id), range ? { start: range.start, end: range.end + 1 } : {});
  }

  async size(id: string): Promise<number | null> {
    const found = await this.bucket()
      .find({ _id: new mongoose.Types.ObjectId(id) }, { limit: 1 })
      .next();
    return found ? found.length : null;
  }

  async remove(id: string): Promise<void> {
    try {
      await this.bucket().delete(new mongoose.Types.ObjectId(id));
    } catch (error) {
      // The driver deletes orphaned chunks before it says the file was not found.
      if (!/File not found/.test((error as Error).message)) throw error;
    }
  }
}

/** The storage in force. */
export const fileStorage: FileStorage = new GridFsStorage();
