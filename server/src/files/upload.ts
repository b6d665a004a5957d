import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import busboy from 'busboy';
import { Types } from 'mongoose';
import { cardSubject } from '../access/ability';
import type { Actor } from '../access/actor';
import { FILE_MAX_MB_CEILING, fileRefusal, fileSizeLimit, kindOf, type CardTypeDefinition, type FieldDefinition } from '../../../card-types';
import { findCardType } from '../card-types/registry';
import type { CardDoc } from '../cards/model';
import { findCard } from '../cards/service';
import type { ErrorCode } from '../errors';
import { findFolder } from '../folders/service';
import { hasActiveContent } from './active';
import { FileInspection, FileTooLargeError } from './inspect';
import { StoredFile, type StoredFileDoc } from './model';
import { nameForContent, safeFileName } from './names';
import { fileIdsOf, highestVersion, PENDING_TTL_MS, removeExpiredFiles } from './service';
import { countUpload, fileUsage, megabytes } from './quota';
import { fileStorage } from './storage';

/** An upload refused: the HTTP status, the API's error code, a message and (for BAD_USER_INPUT) messages by field. */
export class UploadRefusal extends Error {
  constructor(
    readonly status: number,
    readonly code: ErrorCode,
    message: string,
    readonly fields: Record<string, string> = {},
  ) {
    super(message);
  }
}

/** The most a request may carry: the largest file any field takes, and room for the form around it. */
export const UPLOAD_REQUEST_CEILING = FILE_MAX_MB_CEILING * 1024 * 1024 + 64 * 1024;

const t = (actor: Actor, ru: string, en: string) => (actor.locale === 'ru' ? ru : en);

function badInput(actor: Actor, fields: Record<string, string>): UploadRefusal {
  return new UploadRefusal(400, 'BAD_USER_INPUT', t(actor, 'Проверьте заполнение полей', 'Please check the fields'), fields);
}

/** What an upload is for: a file field of a card being edited, or of a card being created in a folder. */
interface UploadTarget {
  type: CardTypeDefinition;
  field: FieldDefinition;
  card: CardDoc | null;
  folderId: Types.ObjectId | null;
  replaces: Types.ObjectId | null;
  /** The version number the upload takes: the next after the highest of the replaced file's versions, else 1 (fixed when it is attached). */
  version: number;
}

/**
 * The form fields before the file say where it goes: `cardId` (a card the actor may edit) or
 * `folderId` and `typeKey` (a card the actor may create there), `field` (a file field of the type),
 * and `replaces` (a version the field holds now, when this is its new version).
 */
async function uploadTarget(actor: Actor, form: Record<string, string>): Promise<UploadTarget> {
  let type: CardTypeDefinition | null;
  let card: CardDoc | null = null;
  let folderId: Types.ObjectId | null = null;
  if (form.cardId) {
    card = await findCard(actor, form.cardId);
    if (!card) throw new UploadRefusal(404, 'NOT_FOUND', t(actor, 'Карточка не найдена', 'Card not found'));
    if (!actor.ability.can('update', cardSubject(card)))
      throw new UploadRefusal(403, 'FORBIDDEN', t(actor, 'Недостаточно прав: изменение карточки', 'Not allowed: changing the card'));
    type = await findCardType(card.typeKey);
  } else {
    const folder = form.folderId ? await findFolder(actor, form.folderId) : null;
    if (!folder) throw new UploadRefusal(404, 'NOT_FOUND', t(actor, 'Папка не найдена', 'Folder not found'));
    if (!actor.ability.can('create', cardSubject({ folderId: folder._id, libraryId: folder.libraryId }))) {
      throw new UploadRefusal(403, 'FORBIDDEN', t(actor, 'Недостаточно прав: создание карточек в этой папке', 'Not allowed: creating cards in this folder'));
    }
    type = form.typeKey ? await findCardType(form.typeKey) : null;
    if (!type || (folder.allowedCardTypes.length > 0 && !folder.allowedCardTypes.includes(type.key))) {
      throw badInput(actor, { typeKey: t(actor, 'Нет такого типа карточки в этой папке', 'No such card type in this folder') });
    }
    folderId = folder._id;
  }
  const field = type?.fields.find((candidate) => candidate.key === form.field && !candidate.hidden && kindOf(candidate).link?.to === 'file');
  if (!type || !field) throw badInput(actor, { field: t(actor, 'Нет такого поля для файлов', 'No such file field') });
  let replaces: Types.ObjectId | null = null;
  if (form.replaces) {
    if (!card || !fileIdsOf(card.values[field.key]).includes(form.replaces.toLowerCase())) {
      throw badInput(actor, { replaces: t(actor, 'Заменять можно только файл, который есть в поле', 'Only a file the field holds can be replaced') });
    }
    replaces = new Types.ObjectId(form.replaces);
  }
  const replaced = replaces && (await StoredFile.findById(replaces, { lineage: 1 }).lean<Pick<StoredFileDoc, '_id' | 'lineage'>>());
  return { type, field, card, folderId, replaces, version: replaced ? (await highestVersion(replaced.lineage ?? replaced._id)) + 1 : 1 };
}

/** The refusal of a file that does not fit the uploader's quota, at the field. */
function overQuota(actor: Actor, field: FieldDefinition, used: number, quota: number): UploadRefusal {
  const mb = (bytes: number) => megabytes(bytes, actor.locale);
  return badInput(actor, {
    [field.key]: t(
      actor,
      `Файл не помещается в вашу квоту: занято ${mb(used)} МБ из ${mb(quota)} МБ (считаются и загрузки, ещё не сохранённые в карточке: их освобождает × в форме, иначе они удаляются через 24 часа). Попросите администратора увеличить квоту`,
      `The file does not fit your quota: ${mb(used)} MB of ${mb(quota)} MB used (uploads not yet saved to a card count too: × in the form frees them, otherwise they go after 24 hours). Ask an administrator to raise it`,
    ),
  });
}

/**
 * Stores one file of the form: its description first (so that whatever a crash leaves behind is
 * cleaned up with the expired uploads), then its bytes, streamed through the inspection into the
 * storage; then the field's limits are checked against what the bytes were, and its size is counted
 * against the uploader's quota (`quota` bytes, 0: none). A refused file is removed.
 */
async function storeFile(actor: Actor, target: UploadTarget, source: Readable, givenName: string | undefined, quota: number): Promise<StoredFileDoc> {
  const uploader = new Types.ObjectId(actor.userId);
  const fieldLimit = fileSizeLimit(target.field);
  // What the quota leaves: a quota already used up refuses before anything is stored, and the bytes
  // are refused as soon as they pass what is left (not only once the whole file is stored).
  let left = Infinity;
  if (quota > 0) {
    const used = await fileUsage(uploader);
    if (used >= quota) throw overQuota(actor, target.field, used, quota);
    left = quota - used;
  }
  const now = new Date();
  const name = safeFileName(givenName);
  const [created] = await StoredFile.create([
    {
      name,
      state: 'uploading',
      uploadedBy: uploader,
      uploadedAt: now,
      cardTypeKey: target.type.key,
      fieldKey: target.field.key,
      cardId: target.card?._id ?? null,
      folderId: target.folderId,
      replaces: target.replaces,
      version: target.version,
      expiresAt: new Date(now.getTime() + PENDING_TTL_MS),
    },
  ]);
  const id = String(created._id);
  const inspection = new FileInspection(Math.min(fieldLimit, left));
  // A client that goes away fails the part, and with it the storage's write.
  source.once('error', (error) => inspection.destroy(error));
  if (source.destroyed) inspection.destroy(source.errored ?? new Error('upload aborted by the client'));
  try {
    await fileStorage.write(id, name, source.pipe(inspection));
  } catch (error) {
    // The rest of a refused part is read and dropped, so the form ends and the refusal can be answered.
    source.resume();
    await StoredFile.deleteOne({ _id: created._id });
    if (error instanceof FileTooLargeError && error.limit < fieldLimit) throw overQuota(actor, target.field, await fileUsage(uploader), quota);
    if (error instanceof FileTooLargeError) throw badInput(actor, { [target.field.key]: fileRefusal(target.field, { size: fieldLimit + 1, type: undefined })![actor.locale] });
    throw error;
  }
  const found = await inspection.result(name);
  const drop = async () => {
    await fileStorage.remove(id);
    await StoredFile.deleteOne({ _id: created._id });
  };
  const refusal = fileRefusal(target.field, { ...found, name });
  if (refusal) {
    await drop();
    throw badInput(actor, { [target.field.key]: refusal[actor.locale] });
  }
  const counted = await countUpload(uploader, found.size, quota);
  if (!counted.counted) {
    await drop();
    throw overQuota(actor, target.field, counted.used, quota);
  }
  const stored = await StoredFile.findOneAndUpdate(
    { _id: created._id },
    // The name's extension follows the content: a PDF named «scan.docx» is kept as «scan.pdf».
    { $set: { state: 'pending', name: nameForContent(name, found.type), size: found.size, sha256: found.sha256, fileType: found.type?.key ?? null } },
    { returnDocument: 'after' },
  ).lean<StoredFileDoc>();
  // A PDF's scripts and actions are looked for from now on, for the download's warning; the upload
  // does not wait for it (nothing opens on the verdict: the viewer gets a safe copy). A check that
  // fails leaves no verdict, and it is worked out again when the version is first listed.
  if (stored!.fileType === 'pdf') hasActiveContent(stored!).catch(() => undefined);
  return stored!;
}

/**
 * Reads a multipart upload (`multipart/form-data`: the text fields, then one part named `file`) and
 * stores its file as the actor's pending upload, counted against their quota (`quotaBytes`, 0: none). Streams all the way: the request is never held whole.
 */
export function receiveUpload(actor: Actor, request: IncomingMessage, options: { quotaBytes: number }): Promise<StoredFileDoc> {
  return new Promise((resolve, reject) => {
    let parser: busboy.Busboy;
    try {
      parser = busboy({ headers: request.headers, defParamCharset: 'utf8', limits: { files: 1, fields: 10, fieldSize: 1024, parts: 12, fileSize: UPLOAD_REQUEST_CEILING } });
    } catch {
      reject(badInput(actor, { file: t(actor, 'Ожидается файл в форме multipart/form-data', 'A file in multipart/form-data is expected') }));
      return;
    }
    const form: Record<string, string> = {};
    let stored: Promise<StoredFileDoc> | null = null;
    parser.on('field', (name, value) => {
      form[name] = value;
    });
    parser.on('file', (name, stream, info) => {
      if (name !== 'file' || stored) {
        stream.resume();
        return;
      }
      // A client going away fails the part at once, maybe before the storage reads it: the failure
      // reaches the storage's write through the stream itself (it is destroyed), never as an uncaught error.
      stream.on('error', () => undefined);
      stored = uploadTarget(actor, form).then(
        (target) => storeFile(actor, target, stream, info.filename, options.quotaBytes),
        (error: unknown) => {
          stream.resume();
          throw error;
        },
      );
      // A refusal is answered at once (a file over the quota or the field's limit while it is still
      // coming); the rest of the form is read and dropped meanwhile, nothing of it stored. Success
      // is settled through `close` below.
      stored.catch(reject);
    });
    parser.on('close', () => {
      if (stored) stored.then(resolve, reject);
      else reject(badInput(actor, { file: t(actor, 'Выберите файл', 'Choose a file') }));
    });
    // A form that does not parse (a malformed part header, an early end) is the client's mistake; a
    // client that went away has nobody left to answer.
    parser.on('error', (error: Error) =>
      reject(
        request.destroyed ? error : badInput(actor, { file: t(actor, 'Форма загрузки повреждена: выберите файл снова', 'The upload form is malformed: choose the file again') }),
      ),
    );
    // A client that goes away (cancel) ends the file part early: the storage drops what it got.
    request.on('aborted', () => parser.destroy(new Error('upload aborted by the client')));
    request.pipe(parser);
  });
}

/**
 * Discards the actor's own upload that no card holds yet (the form's ×): it can no longer be attached,
 * its bytes go and its size no longer counts against their quota. False when there is no such upload
 * (another user's, already saved to a card, or gone).
 */
export async function discardUpload(actor: Actor, id: string): Promise<boolean> {
  if (!Types.ObjectId.isValid(id)) return false;
  const _id = new Types.ObjectId(id);
  const claimed = await StoredFile.updateOne({ _id, uploadedBy: actor.userId, state: 'pending' }, { $set: { state: 'purged', expiresAt: new Date() } });
  if (claimed.modifiedCount !== 1) return false;
  await removeExpiredFiles({ id: _id });
  return true;
}
