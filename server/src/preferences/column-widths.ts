import mongoose, { Schema, Types } from 'mongoose';
import type { Actor } from '../access/actor';
import { notFound } from '../errors';
import { findFolder } from '../folders/service';
import { FieldErrors } from '../validation';

/**
 * The widths a person gave the columns of a folder's list: a small preference document per user
 * and folder, kept on the server so that it follows them to another computer.
 */
const columnWidthsSchema = new Schema(
  {
    userId: { type: Schema.Types.ObjectId, required: true },
    folderId: { type: Schema.Types.ObjectId, required: true },
    /** Column key (a field key, or title/createdAt/updatedAt) → width in pixels. */
    widths: { type: Schema.Types.Mixed, default: {} },
  },
  { timestamps: true, minimize: false },
);
columnWidthsSchema.index({ userId: 1, folderId: 1 }, { unique: true });

export const ColumnWidths = mongoose.model('ColumnWidths', columnWidthsSchema, 'columnWidths');

export const MIN_COLUMN_WIDTH = 60;
export const MAX_COLUMN_WIDTH = 1200;
/** Columns remembered per folder, at most. */
const MAX_COLUMNS = 60;
/** A column is a field key or one of the list's own columns: letters and digits, starting with a letter. */
const COLUMN_KEY = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;

const t = (actor: Actor, ru: string, en: string) => (actor.locale === 'ru' ? ru : en);

async function readableFolder(actor: Actor, folderId: string): Promise<Types.ObjectId> {
  const folder = Types.ObjectId.isValid(folderId) ? await findFolder(actor, folderId) : null;
  if (!folder) throw notFound(actor, t(actor, 'Папка', 'Folder'));
  return folder._id as Types.ObjectId;
}

/** The viewer's column widths for a folder they may read ({} when they set none). */
export async function columnWidthsOf(actor: Actor, folderId: string): Promise<Record<string, number>> {
  const folder = await readableFolder(actor, folderId);
  const stored = await ColumnWidths.findOne({ userId: new Types.ObjectId(actor.userId), folderId: folder }, { widths: 1 }).lean();
  return (stored?.widths as Record<string, number> | undefined) ?? {};
}

/**
 * Replaces the viewer's column widths for a folder they may read. Each width is a whole number of
 * pixels within bounds, each key a column key; refused at `widths.<key>` (or `widths`) otherwise.
 */
export async function setColumnWidths(actor: Actor, folderId: string, widths: unknown): Promise<Record<string, number>> {
  const folder = await readableFolder(actor, folderId);
  const errors = new FieldErrors(actor.locale);
  const entries = widths !== null && typeof widths === 'object' && !Array.isArray(widths) ? Object.entries(widths) : null;
  if (!entries) errors.addMessage('widths', t(actor, 'Ожидается объект «столбец → ширина»', 'Expected an object “column → width”'));
  else if (entries.length > MAX_COLUMNS) errors.add('widths', 'tooMany', { max: MAX_COLUMNS });
  else {
    for (const [key, width] of entries) {
      if (!COLUMN_KEY.test(key)) errors.addMessage('widths', t(actor, `Неверный ключ столбца: ${key.slice(0, 64)}`, `Not a column key: ${key.slice(0, 64)}`));
      else if (typeof width !== 'number' || !Number.isInteger(width) || width < MIN_COLUMN_WIDTH || width > MAX_COLUMN_WIDTH) {
        errors.addMessage(
          `widths.${key}`,
          t(
            actor,
            `Ширина — целое число пикселей от ${MIN_COLUMN_WIDTH} до ${MAX_COLUMN_WIDTH}`,
            `A width is a whole number of pixels from ${MIN_COLUMN_WIDTH} to ${MAX_COLUMN_WIDTH}`,
          ),
        );
      }
    }
  }
  errors.throwIfAny();
  const clean = Object.fromEntries(entries!) as Record<string, number>;
  await ColumnWidths.updateOne({ userId: new Types.ObjectId(actor.userId), folderId: folder }, { $set: { widths: clean } }, { upsert: true });
  return clean;
}
