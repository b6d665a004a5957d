import { createHash } from 'node:crypto';
import { Types, type ClientSession } from 'mongoose';
import { cardSubject } from '../access/ability';
import type { Actor } from '../access/actor';
import { fileRefusal, findFileType, kindOf, type CardTypeDefinition, type CardValues, type FieldDefinition } from '../../../card-types';
import type { CardChange, ValuesCheck } from '../cards/lifecycle';
import type { CardDoc } from '../cards/model';
import { findCardType } from '../card-types/registry';
import { findCard, findCards } from '../cards/service';
import { UserInputError } from '../errors';
import { message } from '../i18n';
import { previewCache } from './preview-cache';
import { uncountFile } from './quota';
import { fileStorage } from './storage';
import type { FileChangeRecord, FileRecord, HistoryEntryDoc } from '../history/model';
import { FileLineage, FileText, StoredFile, type FileLineageDoc, type StoredFileDoc } from './model';

const t = (actor: Pick<Actor, 'locale'>, ru: string, en: string) => (actor.locale === 'ru' ? ru : en);

/** How long an upload waits to be attached to a saved card before it is removed. */
export const PENDING_TTL_MS = 24 * 60 * 60 * 1000;

/** The fields of a type whose values are stored files. */
export const fileFields = (type: Pick<CardTypeDefinition, 'fields'>): FieldDefinition[] => type.fields.filter((field) => kindOf(field).link?.to === 'file');

/** The file ids a field's value holds. */
export const fileIdsOf = (value: CardValues[string] | undefined): string[] => (value === undefined ? [] : [value].flat().map(String));

/** Every file id the card's file fields hold. */
export const cardFileIds = (type: Pick<CardTypeDefinition, 'fields'>, values: CardValues): string[] => fileFields(type).flatMap((field) => fileIdsOf(values[field.key]));

/**
 * The file ids the card's shown file fields hold. A field an administrator hid keeps its files like
 * its values, and like them they are not shown on the card, not searched, and served to administrators only.
 */
export const shownFileIds = (type: Pick<CardTypeDefinition, 'fields'>, values: CardValues): string[] =>
  fileFields(type)
    .filter((field) => field.hidden !== true)
    .flatMap((field) => fileIdsOf(values[field.key]));

/** Whether an attached file sits in a field its card's type hides now (only administrators read it then). */
async function inHiddenField(file: Pick<StoredFileDoc, 'cardTypeKey' | 'fieldKey'>): Promise<boolean> {
  return (await findCardType(file.cardTypeKey))?.fields.some((field) => field.key === file.fieldKey && field.hidden === true) ?? false;
}

const objectIds = (ids: readonly string[]) => ids.filter((id) => Types.ObjectId.isValid(id)).map((id) => new Types.ObjectId(id));

export async function storedFiles(ids: readonly string[], session?: ClientSession): Promise<Map<string, StoredFileDoc>> {
  if (ids.length === 0) return new Map();
  const docs = await StoredFile.find({ _id: { $in: objectIds(ids) } })
    .session(session ?? null)
    .lean<StoredFileDoc[]>();
  return new Map(docs.map((doc) => [String(doc._id), doc]));
}

const same = (a: Types.ObjectId | null | undefined, b: Types.ObjectId | string | null | undefined) => (a ? String(a) : null) === (b ? String(b) : null);

/** Why a file cannot go into a field: it (this version of it) was removed, or it is someone else's or another card's. */
const unavailableMessage = (actor: Pick<Actor, 'locale'>, doc: StoredFileDoc | undefined) =>
  !doc || (doc.state !== 'attached' && doc.state !== 'pending' && doc.state !== 'uploading')
    ? t(actor, 'Эта версия файла удалена: загрузите файл снова', 'This version of the file was removed: upload the file again')
    : t(actor, 'Файл не найден или уже прикреплён к другой карточке: загрузите его снова', 'The file is gone or attached elsewhere: upload it again');

/** Whether a stored version is attached to this card's field (an earlier version a change may bring back). */
const heldBy = (doc: StoredFileDoc, cardId: Types.ObjectId | undefined, fieldKey: string) =>
  doc.state === 'attached' && !!cardId && same(doc.cardId, cardId) && doc.fieldKey === fieldKey;

/** The refusal of a change whose file was taken by another card (or removed) after it was checked. */
const takenMeanwhile = (actor: Pick<Actor, 'locale'>, fieldKey: string, doc: StoredFileDoc | undefined) =>
  new UserInputError(message(actor.locale, 'invalidInput'), { [fieldKey]: unavailableMessage(actor, doc) });

/**
 * Why a file may not go into this field of this card now, or undefined when it may: an upload of the
 * actor's for this type, field and card (or for a new card in this folder), within the field's limits;
 * a version this card's field held before (reverting brings it back); or, in a merge, a file the same
 * field of a card merged into this one holds.
 */
function attachRefusal(check: ValuesCheck, field: FieldDefinition, doc: StoredFileDoc | undefined): string | undefined {
  const { actor, type, card } = check;
  const unavailable = unavailableMessage(actor, doc);
  if (!doc) return unavailable;
  // A merge takes over the files of the cards merged into this one.
  if (doc.state === 'attached') return [card, ...(check.takenFrom ?? [])].some((holder) => heldBy(doc, holder?._id, field.key)) ? undefined : unavailable;
  const ours = doc.state === 'pending' && String(doc.uploadedBy) === actor.userId && doc.cardTypeKey === type.key && doc.fieldKey === field.key;
  const place = card ? same(doc.cardId, card._id) : doc.cardId === null && same(doc.folderId, check.folderId);
  if (!ours || !place) return unavailable;
  return fileRefusal(field, { size: doc.size, type: findFileType(doc.fileType) })?.[actor.locale];
}

/** Lifecycle hook: the files a change adds to a card must be the author's uploads for it (or its own earlier versions). */
export async function checkFileValues(check: ValuesCheck): Promise<Record<string, string>> {
  const errors: Record<string, string> = {};
  for (const field of fileFields(check.type)) {
    const kept = new Set(fileIdsOf(check.card?.values[field.key]));
    const added = fileIdsOf(check.values[field.key]).filter((id) => !kept.has(id));
    if (added.length === 0) continue;
    const docs = await storedFiles(added);
    for (const id of added) {
      const refusal = attachRefusal(check, field, docs.get(id));
      if (refusal) {
        errors[field.key] = refusal;
        break;
      }
    }
  }
  return errors;
}

interface FieldPlan {
  fieldKey: string;
  records: FileChangeRecord[];
  /** Uploads the change attaches, with the lineage and version each takes. */
  attach: { doc: StoredFileDoc; lineage: Types.ObjectId; version: number }[];
  /** Earlier versions of the card's the change puts back into the field (a revert). */
  restore: StoredFileDoc[];
}

/** A stored version as history records it. */
export const fileRecord = (doc: StoredFileDoc, version = doc.version): FileRecord => ({ id: String(doc._id), name: doc.name, size: doc.size, sha256: doc.sha256, version });

const plans = new WeakMap<CardChange, Promise<FieldPlan[]>>();

/**
 * What a change does to the card's files, field by field: which versions it adds, removes and
 * replaces (an upload meant to replace a version the change removes, or a version of the same file),
 * and the lineage and version number each new upload takes. Worked out once per change, inside its
 * transaction; history records it and the files hook applies it.
 */
export function planFileChanges(change: CardChange, session: ClientSession): Promise<FieldPlan[]> {
  let plan = plans.get(change);
  if (!plan) {
    plan = makePlan(change, session);
    plans.set(change, plan);
  }
  return plan;
}

/**
 * The highest version number a file has given out: its lineage's counter (which remembers versions
 * removed for good) or, for a file whose counter was never written, its highest stored version.
 */
export async function highestVersion(lineage: Types.ObjectId, session?: ClientSession): Promise<number> {
  const counter = await FileLineage.findById(lineage, { highest: 1 })
    .session(session ?? null)
    .lean<Pick<FileLineageDoc, 'highest'>>();
  const top = await StoredFile.findOne({ lineage }, { version: 1 })
    .sort({ version: -1 })
    .session(session ?? null)
    .lean<Pick<StoredFileDoc, 'version'>>();
  return Math.max(counter?.highest ?? 1, top?.version ?? 1);
}

/** Records in the lineage's counter that `version` was given out (inside the caller's transaction), so no later version takes its number. */
export async function keepVersionNumber(lineage: Types.ObjectId, cardId: Types.ObjectId, version: number, session: ClientSession): Promise<void> {
  await FileLineage.updateOne({ _id: lineage }, { $max: { highest: version }, $setOnInsert: { cardId } }, { upsert: true, session });
}

async function makePlan(change: CardChange, session: ClientSession): Promise<FieldPlan[]> {
  const keys = new Set(fileFields(change.type).map((field) => field.key));
  const result: FieldPlan[] = [];
  for (const { key, before, after } of change.changes) {
    if (!keys.has(key)) continue;
    const [was, now] = [fileIdsOf(before), fileIdsOf(after)];
    const added = now.filter((id) => !was.includes(id));
    const removed = was.filter((id) => !now.includes(id));
    const docs = await storedFiles([...added, ...removed], session);
    const plan: FieldPlan = { fieldKey: key, records: [], attach: [], restore: [] };
    const replacedIds = new Set<string>();
    for (const id of added) {
      const doc = docs.get(id);
      // Checked before the transaction, the file may since have been removed or attached to another
      // card (a second save racing for one upload, retried after its write conflict): refused then.
      if (!doc || (doc.state !== 'pending' && !heldBy(doc, change.after._id, key))) {
        throw takenMeanwhile(change.actor, key, doc);
      }
      const previous = removed
        .map((other) => docs.get(other))
        .find((other) => other && !replacedIds.has(String(other._id)) && (same(doc.replaces, other._id) || (doc.lineage !== null && same(doc.lineage, other.lineage))));
      const pending = doc.state === 'pending';
      // A new version follows the highest of its file (the field may hold an earlier one, put back).
      const version = pending ? (previous ? (await highestVersion(previous.lineage ?? previous._id, session)) + 1 : 1) : doc.version;
      if (pending) plan.attach.push({ doc, lineage: previous?.lineage ?? doc._id, version });
      else plan.restore.push(doc);
      if (previous) {
        replacedIds.add(String(previous._id));
        plan.records.push({ change: 'replaced', file: fileRecord(doc, version), previous: fileRecord(previous) });
      } else plan.records.push({ change: 'added', file: fileRecord(doc, version) });
    }
    for (const id of removed) {
      const doc = docs.get(id);
      if (doc && !replacedIds.has(id)) plan.records.push({ change: 'removed', file: fileRecord(doc) });
    }
    result.push(plan);
  }
  return result;
}

/** How a file version reads in history: its name, and its version number from the second on. */
export const historyTitle = (file: FileRecord) => (file.version > 1 ? `${file.name} (v${file.version})` : file.name);

/**
 * A file field's change as history records it: the file versions added, removed and replaced (with
 * their SHA-256, so the history chain covers the contents), and how each id before and after reads.
 * Undefined for fields that hold no files.
 */
export async function fileHistory(
  change: CardChange,
  fieldKey: string,
  session: ClientSession,
): Promise<{ files: FileChangeRecord[]; beforeTitles: Record<string, string> | null; afterTitles: Record<string, string> | null } | undefined> {
  const plan = (await planFileChanges(change, session)).find((candidate) => candidate.fieldKey === fieldKey);
  if (!plan) return undefined;
  const { before, after } = change.changes.find((candidate) => candidate.key === fieldKey)!;
  const [was, now] = [fileIdsOf(before), fileIdsOf(after)];
  const known = new Map(plan.records.flatMap((entry) => [entry.file, ...(entry.previous ? [entry.previous] : [])]).map((file) => [file.id, file]));
  const kept = await storedFiles(
    [...was, ...now].filter((id) => !known.has(id)),
    session,
  );
  for (const doc of kept.values()) known.set(String(doc._id), fileRecord(doc));
  const titles = (ids: string[]) => (ids.length === 0 ? null : Object.fromEntries(ids.map((id) => [id, known.has(id) ? historyTitle(known.get(id)!) : id])));
  return { files: plan.records, beforeTitles: titles(was), afterTitles: titles(now) };
}

/** Lifecycle hook (inside the card's transaction): the uploads the change adds become the card's, with their versions; earlier versions it puts back are claimed again. */
export async function attachFiles(change: CardChange, session: ClientSession): Promise<StoredFileDoc[]> {
  const attached: StoredFileDoc[] = [];
  const now = new Date();
  for (const plan of await planFileChanges(change, session)) {
    for (const { doc, lineage, version } of plan.attach) {
      const searchable = findFileType(doc.fileType)?.searchable === true;
      const result = await StoredFile.updateOne(
        { _id: doc._id, state: 'pending' },
        { $set: { state: 'attached', cardId: change.after._id, folderId: null, attachedAt: now, expiresAt: null, lineage, version, textState: searchable ? 'pending' : 'none' } },
        { session },
      );
      // Taken meanwhile (a double submit) or removed as expired: the change must not go through without it.
      if (result.modifiedCount !== 1) throw takenMeanwhile(change.actor, plan.fieldKey, (await storedFiles([String(doc._id)], session)).get(String(doc._id)));
      if (version > 1) await keepVersionNumber(lineage, change.after._id, version, session);
      attached.push({ ...doc, state: 'attached', lineage, version, textState: searchable ? 'pending' : 'none' });
    }
    // An earlier version put back is written too: a removal of that version at the same moment
    // (removeFileVersion) then conflicts with this change instead of leaving the field holding a removed version.
    for (const doc of plan.restore) {
      const result = await StoredFile.updateOne({ _id: doc._id, state: 'attached', cardId: change.after._id }, { $set: { attachedAt: now } }, { session });
      // Only a removal of the version takes it from this card's field.
      if (result.modifiedCount !== 1) throw takenMeanwhile(change.actor, plan.fieldKey, undefined);
    }
  }
  return attached;
}

/**
 * A file the actor may read: one on a card they may read (in the trash too, where they may see it),
 * or their own upload not attached yet. Null otherwise — a hidden card's file answers like a missing one.
 */
export async function readableFile(actor: Actor, id: string): Promise<{ file: StoredFileDoc; card: CardDoc | null } | null> {
  if (!Types.ObjectId.isValid(id)) return null;
  const file = await StoredFile.findById(id).lean<StoredFileDoc>();
  if (!file) return null;
  if (file.state === 'pending') return String(file.uploadedBy) === actor.userId ? { file, card: null } : null;
  if (file.state !== 'attached' || !file.cardId) return null;
  const card = await findCard(actor, String(file.cardId), { includeTrash: true });
  if (!card || (!actor.isAdmin && (await inHiddenField(file)))) return null;
  return { file, card };
}

/**
 * Whether the actor may save a copy of a file they may read: downloading counts as export, under the
 * «Экспорт» right on the card's folder, and so does opening the original inline (the browser's viewer
 * offers to save it). Previews that are not the original (a PDF's text, a DOCX as HTML, thumbnails)
 * are reading. Their own uploads not attached yet are theirs to download.
 */
export function mayDownload(actor: Actor, card: Pick<CardDoc, 'folderId' | 'libraryId'> | null): boolean {
  return card === null || actor.ability.can('export', cardSubject(card));
}

/** Readable files by id, in the order asked, leaving out the others; one query for the files and one for their cards. */
export async function readableFiles(actor: Actor, ids: readonly string[]): Promise<StoredFileDoc[]> {
  const files = await storedFiles(ids);
  const cardIds = [...new Set([...files.values()].filter((file) => file.state === 'attached' && file.cardId).map((file) => String(file.cardId)))];
  const cards = new Set((await findCards(actor, cardIds, { includeTrash: true })).map((card) => String(card._id)));
  const hidden = new Set<StoredFileDoc>();
  if (!actor.isAdmin) for (const file of files.values()) if (file.state === 'attached' && (await inHiddenField(file))) hidden.add(file);
  return ids
    .map((id) => files.get(id.toLowerCase()))
    .filter((file): file is StoredFileDoc => {
      if (!file) return false;
      if (file.state === 'pending') return String(file.uploadedBy) === actor.userId;
      return file.state === 'attached' && cards.has(String(file.cardId)) && !hidden.has(file);
    });
}

/** Every version of the files of these lineages, newest first, per lineage. */
export async function versionsOf(lineages: readonly string[]): Promise<Map<string, StoredFileDoc[]>> {
  const docs = await StoredFile.find({ lineage: { $in: objectIds(lineages) }, state: 'attached' })
    .sort({ lineage: 1, version: -1 })
    .lean<StoredFileDoc[]>();
  const byLineage = new Map<string, StoredFileDoc[]>(lineages.map((lineage) => [lineage, []]));
  for (const doc of docs) byLineage.get(String(doc.lineage))?.push(doc);
  return byLineage;
}

/** Lifecycle hook (inside the purge's transaction): the card's files are to be removed, their texts at once. */
export async function releaseFilesOfCard(card: CardDoc, session: ClientSession): Promise<void> {
  await StoredFile.updateMany({ cardId: card._id }, { $set: { state: 'purged', expiresAt: new Date() } }, { session });
  await FileText.deleteMany({ cardId: card._id }, { session });
  await FileLineage.deleteMany({ cardId: card._id }, { session });
}

const REMOVABLE = ['uploading', 'pending', 'purged', 'removing'];

/**
 * Removes the files whose time is up: uploads never attached (24 hours after upload) and the files of
 * purged cards. Each is claimed first (so an attach at the same moment either wins or fails cleanly),
 * then its content, derived copies and text go, then its description. Safe to run on several
 * instances at once. Returns how many were removed.
 */
export async function removeExpiredFiles(options: { now?: Date; cardId?: Types.ObjectId; id?: Types.ObjectId } = {}): Promise<number> {
  const now = options.now ?? new Date();
  const due = {
    state: { $in: REMOVABLE },
    expiresAt: { $lte: now },
    ...(options.cardId ? { cardId: options.cardId } : {}),
    ...(options.id ? { _id: options.id } : {}),
  };
  let removed = 0;
  for (;;) {
    const batch = await StoredFile.find(due, { _id: 1 }).limit(100).lean<Pick<StoredFileDoc, '_id'>[]>();
    if (batch.length === 0) return removed;
    for (const { _id } of batch) {
      const claimed = await StoredFile.findOneAndUpdate({ _id, ...due }, { $set: { state: 'removing' } }, { returnDocument: 'after' }).lean<StoredFileDoc>();
      if (!claimed) continue;
      const derived = [claimed.renditions?.thumbnail, claimed.renditions?.html, claimed.renditions?.safePdf, ...Object.values(claimed.renditions?.pages ?? {})];
      for (const id of [claimed._id, ...derived]) if (id) await fileStorage.remove(String(id));
      await previewCache.forget(_id);
      await FileText.deleteOne({ _id });
      const gone = await StoredFile.deleteOne({ _id, state: 'removing' });
      // A version stored completely (its SHA-256 set) counted against its uploader's quota, with its counted copies.
      if (gone.deletedCount === 1 && claimed.sha256 !== '') await uncountFile(claimed.uploadedBy, claimed.size + (claimed.copyBytes ?? 0));
      removed += 1;
    }
  }
}

/** Whether a stored file version's bytes still hash to `sha256` (read through, never held whole). */
async function contentMatches(id: string, sha256: string): Promise<boolean> {
  const hash = createHash('sha256');
  try {
    for await (const chunk of fileStorage.read(id)) hash.update(chunk as Buffer);
  } catch {
    // Gone, or chunks that no longer fit together.
    return false;
  }
  return hash.digest('hex') === sha256;
}

/**
 * History check: every file version a card's chain records still has the content recorded for it
 * (unless the chain records its removal). Reads each version once; the first entry recording an
 * altered or missing one is reported.
 */
export async function verifyRecordedFiles(entries: HistoryEntryDoc[]): Promise<{ brokenAtSeq: number; reason: string } | undefined> {
  const records = (entry: HistoryEntryDoc) => entry.changes.flatMap((change) => change.files ?? []);
  // Versions the chain itself records as removed for good are accounted for: their bytes are gone by decision.
  const removed = new Set(
    entries
      .flatMap(records)
      .filter((record) => record.change === 'version-removed')
      .map((record) => record.file.id),
  );
  const checked = new Map<string, boolean>();
  for (const entry of entries) {
    for (const record of records(entry)) {
      for (const file of [record.file, ...(record.previous ? [record.previous] : [])]) {
        if (removed.has(file.id)) continue;
        if (!checked.has(file.id)) checked.set(file.id, await contentMatches(file.id, file.sha256));
        if (!checked.get(file.id)) return { brokenAtSeq: entry.seq, reason: `file content altered: ${file.name} (v${file.version})` };
      }
    }
  }
  return undefined;
}
