import mongoose, { Schema, Types } from 'mongoose';
import { isDuplicateKeyError } from '../validation';
import { StoredFile } from './model';
import { fileStorage } from './storage';

/**
 * Copies made for viewing (an image's thumbnail, a document's HTML, a PDF's pages drawn as images)
 * are a cache: any of them can be made again from its file. They are kept within one bound for the
 * whole installation (`FILE_PREVIEW_CACHE_MB`), not in their uploader's quota: readers make them, a
 * reader's view must not fail because someone else's quota is full, and fifty drawn pages of a
 * small PDF would make its uploader's quota pay for others' reading. A copy that does not fit makes
 * room by removing the copies used longest ago; copies used in the last EVICTION_GRACE_MS stay (a
 * reader may be paging through them, or reading one right now), and when nothing else can go the
 * new copy is served without being kept.
 */
const cachedCopySchema = new Schema(
  {
    /** The copy's id in the file storage. */
    _id: { type: Schema.Types.ObjectId, required: true },
    /** The file version it was made of, and where that version's description records it. */
    file: { type: Schema.Types.ObjectId, required: true },
    path: { type: String, required: true },
    bytes: { type: Number, required: true },
    usedAt: { type: Date, required: true },
  },
  { versionKey: false },
);
cachedCopySchema.index({ usedAt: 1 });
cachedCopySchema.index({ file: 1 });

interface CachedCopyDoc {
  _id: Types.ObjectId;
  file: Types.ObjectId;
  path: string;
  bytes: number;
  usedAt: Date;
}

const CachedCopy = mongoose.model('CachedCopy', cachedCopySchema, 'previewcache');

/** The bytes of all cached copies together (one document), counted up and down as copies come and go. */
const cacheTotalSchema = new Schema({ _id: { type: String, required: true }, bytes: { type: Number, required: true } }, { versionKey: false });
const CacheTotal = mongoose.model('CacheTotal', cacheTotalSchema, 'previewcachetotal');
const TOTAL = 'total';

/** Copies used this recently are never removed to make room. */
const EVICTION_GRACE_MS = 10 * 60_000;
/** A copy's use is written at most this often (a page served again and again is one write a minute). */
const TOUCH_EVERY_MS = 60_000;

async function ensureTotal(): Promise<void> {
  try {
    await CacheTotal.updateOne({ _id: TOTAL }, { $setOnInsert: { bytes: 0 } }, { upsert: true });
  } catch (error) {
    // Created by another request at the same moment.
    if (!isDuplicateKeyError(error)) throw error;
  }
}

/** Removes one cached copy: from its version's description, from the storage, from the total. */
async function evict(copy: CachedCopyDoc): Promise<void> {
  await StoredFile.updateOne({ _id: copy.file, [copy.path]: copy._id }, { $unset: { [copy.path]: 1 } });
  await fileStorage.remove(String(copy._id));
  await CacheTotal.updateOne({ _id: TOTAL }, { $inc: { bytes: -copy.bytes } });
}

export const previewCache = {
  /**
   * Counts `bytes` more in the cache of `limitBytes`, removing the copies used longest ago (not in
   * the last EVICTION_GRACE_MS) while they do not fit; false when the copy is not to be kept (larger
   * than the whole cache, or nothing old enough to remove). One conditional update per try, so
   * copies made at the same moment cannot pass the bound together.
   */
  async reserve(bytes: number, limitBytes: number): Promise<boolean> {
    if (bytes > limitBytes) return false;
    await ensureTotal();
    for (;;) {
      const counted = await CacheTotal.updateOne({ _id: TOTAL, bytes: { $lte: limitBytes - bytes } }, { $inc: { bytes } });
      if (counted.modifiedCount === 1) return true;
      const oldest = await CachedCopy.findOneAndDelete({ usedAt: { $lt: new Date(Date.now() - EVICTION_GRACE_MS) } }, { sort: { usedAt: 1 } }).lean<CachedCopyDoc>();
      if (!oldest) return false;
      await evict(oldest);
    }
  },

  /** Gives back a reservation whose copy was not kept after all. */
  async unreserve(bytes: number): Promise<void> {
    await CacheTotal.updateOne({ _id: TOTAL }, { $inc: { bytes: -bytes } });
  },

  /** A copy kept on `file`'s version at `path`, its bytes reserved: now in the cache. */
  async add(id: Types.ObjectId, file: Types.ObjectId, path: string, bytes: number): Promise<void> {
    await CachedCopy.create({ _id: id, file, path, bytes, usedAt: new Date() });
  },

  /**
   * A kept copy was served: its use is noted (at most once a minute). A copy kept before copies were
   * cached joins the cache now, its bytes counted (no room is made for it: it is already stored).
   */
  async used(id: Types.ObjectId, file: Types.ObjectId, path: string): Promise<void> {
    const now = new Date();
    const touched = await CachedCopy.updateOne({ _id: id, usedAt: { $lt: new Date(now.getTime() - TOUCH_EVERY_MS) } }, { $set: { usedAt: now } });
    if (touched.matchedCount === 1 || (await CachedCopy.exists({ _id: id }))) return;
    const bytes = await fileStorage.size(String(id));
    if (bytes === null) return;
    try {
      await CachedCopy.create({ _id: id, file, path, bytes, usedAt: now });
    } catch (error) {
      // Joined by another request at the same moment.
      if (isDuplicateKeyError(error)) return;
      throw error;
    }
    await ensureTotal();
    await CacheTotal.updateOne({ _id: TOTAL }, { $inc: { bytes } });
  },

  /** A version's copies go with it (its removal takes their bytes from the storage): out of the cache and its total. */
  async forget(file: Types.ObjectId): Promise<void> {
    const copies = await CachedCopy.find({ file }, { bytes: 1 }).lean<Pick<CachedCopyDoc, '_id' | 'bytes'>[]>();
    for (const copy of copies) {
      const gone = await CachedCopy.deleteOne({ _id: copy._id });
      if (gone.deletedCount === 1) await CacheTotal.updateOne({ _id: TOTAL }, { $inc: { bytes: -copy.bytes } });
    }
  },
};
