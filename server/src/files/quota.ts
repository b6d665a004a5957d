import type { Types } from 'mongoose';
import type { Locale } from '../i18n';
import { isDuplicateKeyError } from '../validation';
import { FileUsage, StoredFile, type FileUsageDoc } from './model';

/**
 * The bytes a user has stored in files (their uploads' versions and the safe copies made of them). Counted from their stored versions the first time it is
 * asked (users who uploaded before usage was kept), then kept up to date by the counts below.
 */
export async function fileUsage(userId: Types.ObjectId): Promise<number> {
  const kept = await FileUsage.findById(userId).lean<FileUsageDoc>();
  if (kept) return kept.bytes;
  // Versions whose content was stored completely (their SHA-256 is set then), and their counted copies.
  const [stored] = await StoredFile.aggregate<{ bytes: number }>([
    { $match: { uploadedBy: userId, sha256: { $ne: '' } } },
    { $group: { _id: null, bytes: { $sum: { $add: ['$size', { $ifNull: ['$copyBytes', 0] }] } } } },
  ]);
  try {
    await FileUsage.updateOne({ _id: userId }, { $setOnInsert: { bytes: stored?.bytes ?? 0 } }, { upsert: true });
  } catch (error) {
    // Another request counted it at the same moment.
    if (!isDuplicateKeyError(error)) throw error;
  }
  return (await FileUsage.findById(userId).lean<FileUsageDoc>())!.bytes;
}

/**
 * Counts `size` more bytes against the user's quota (`quota` 0: none), unless that would pass it:
 * one conditional update, so uploads at the same moment cannot pass it together. Answers the usage
 * when refused.
 */
export async function countUpload(userId: Types.ObjectId, size: number, quota: number): Promise<{ counted: true } | { counted: false; used: number }> {
  await fileUsage(userId);
  const written = await FileUsage.updateOne(quota > 0 ? { _id: userId, bytes: { $lte: quota - size } } : { _id: userId }, { $inc: { bytes: size } });
  return written.modifiedCount === 1 ? { counted: true } : { counted: false, used: await fileUsage(userId) };
}

/** A stored version of the user's was removed: its bytes no longer count. */
export async function uncountFile(userId: Types.ObjectId, size: number): Promise<void> {
  await FileUsage.updateOne({ _id: userId }, { $inc: { bytes: -size } });
}

/** Bytes as megabytes to one decimal, as a user of `locale` writes them («0,7»). */
export function megabytes(bytes: number, locale: Locale): string {
  const text = (Math.round((bytes / 1024 / 1024) * 10) / 10).toString();
  return locale === 'ru' ? text.replace('.', ',') : text;
}
