import mongoose from 'mongoose';
import type { Logger } from '../logger';
import type { Db, MigrationStep } from './step';

/**
 * DOCX previews made before their pictures were re-encoded carried the embedded originals byte for
 * byte, to readers without «Экспорт» too: they are dropped (the description's reference, then the
 * stored copy), and made again, with re-encoded pictures, when next asked for. Safe to run again:
 * a preview already dropped is not found.
 */
async function up(db: Db, logger: Logger): Promise<void> {
  const files = db.collection<{ _id: mongoose.Types.ObjectId; renditions?: { html?: mongoose.Types.ObjectId | null } }>('files');
  const bucket = new mongoose.mongo.GridFSBucket(db, { bucketName: 'fs' });
  let dropped = 0;
  for await (const file of files.find({ fileType: 'docx', 'renditions.html': { $ne: null } }, { projection: { 'renditions.html': 1 } })) {
    const html = file.renditions!.html!;
    await files.updateOne({ _id: file._id, 'renditions.html': html }, { $set: { 'renditions.html': null } });
    await bucket.delete(html).catch(() => undefined);
    dropped += 1;
  }
  logger.info({ dropped }, 'DOCX previews with original pictures dropped; they are made again when asked for');
}

export const docxPicturesStep: Omit<MigrationStep, 'version'> = { name: 'DOCX previews are made again with their pictures re-encoded', up };
