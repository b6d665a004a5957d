import mongoose from 'mongoose';
import { cardSubject } from '../access/ability';
import type { Actor } from '../access/actor';
import { recordAudit } from '../audit/service';
import { findCardType } from '../card-types/registry';
import { publishCardNotice } from '../cards/lifecycle';
import { Card, type CardDoc } from '../cards/model';
import { forbidden, notFound, UserInputError } from '../errors';
import { recordCardEvent } from '../history/service';
import { message } from '../i18n';
import { auditActorOf } from '../people/service';
import { FileText, StoredFile, type StoredFileDoc } from './model';
import { cardFileIds, fileIdsOf, fileRecord, highestVersion, historyTitle, keepVersionNumber, readableFile, removeExpiredFiles, storedFiles, versionsOf } from './service';
import { servedName } from './view';

const t = (actor: Pick<Actor, 'locale'>, ru: string, en: string) => (actor.locale === 'ru' ? ru : en);

/** Whether the actor may remove this version for good: full access to its card, and the card's fields no longer hold it. */
export function mayRemoveVersion(actor: Actor, file: StoredFileDoc, card: Pick<CardDoc, 'folderId' | 'libraryId' | 'inTrash'> & { held: readonly string[] }): boolean {
  return file.state === 'attached' && !card.inTrash && !card.held.includes(String(file._id)) && actor.ability.can('delete', cardSubject(card));
}

/**
 * Removes an earlier version of a file on a card for good, to free its uploader's quota: only someone
 * with full access to the card (who may delete it), only a version the card's fields no longer hold,
 * never of a card in the trash. In one transaction the version stops being the card's, the card's
 * history chain records the removal with the version's SHA-256 (so verifyHistory accounts for the
 * missing bytes) and the audit log records who removed what; then its bytes go and its size no
 * longer counts against the quota. Answers the versions of the file that remain, newest first.
 */
export async function removeFileVersion(actor: Actor, id: string): Promise<StoredFileDoc[]> {
  const found = await readableFile(actor, id);
  if (!found?.card) throw notFound(actor, t(actor, 'Версия файла', 'File version'));
  const { file, card } = found;
  if (!actor.ability.can('delete', cardSubject(card))) {
    throw forbidden(
      actor,
      t(actor, 'удалять версии файлов может только пользователь с полным доступом к папке', 'only a user with full access to the folder may remove file versions'),
    );
  }
  const refuse = (ru: string, en: string) => new UserInputError(message(actor.locale, 'invalidInput'), { id: t(actor, ru, en) });
  if (card.inTrash) throw refuse('Карточка в корзине: сначала восстановите её', 'The card is in the trash: restore it first');
  const type = await findCardType(card.typeKey);
  if (!type) throw notFound(actor, t(actor, 'Тип карточки', 'Card type'));
  const field = type.fields.find((candidate) => candidate.key === file.fieldKey);
  const currentMessage = ['Это текущая версия файла: удалить можно только прежние версии', 'This is the file’s current version: only earlier versions can be removed'] as const;
  await mongoose.connection.transaction(async (session) => {
    // Read again inside the transaction: a change made meanwhile may have brought the version back.
    const now = await Card.findById(card._id).session(session).lean<CardDoc>();
    if (!now || now.inTrash) throw notFound(actor, t(actor, 'Карточка', 'Card'));
    const held = cardFileIds(type, now.values);
    if (held.includes(String(file._id))) throw refuse(...currentMessage);
    // Its number stays given out: a later version never takes it, though this one's description goes.
    const lineage = file.lineage ?? file._id;
    await keepVersionNumber(lineage, card._id, await highestVersion(lineage, session), session);
    const claimed = await StoredFile.updateOne({ _id: file._id, state: 'attached' }, { $set: { state: 'purged', expiresAt: new Date() } }, { session });
    if (claimed.modifiedCount !== 1) throw notFound(actor, t(actor, 'Версия файла', 'File version'));
    await FileText.deleteOne({ _id: file._id }, { session });
    const name = servedName(file);
    const inField = fileIdsOf(now.values[file.fieldKey]);
    const current = await storedFiles(inField, session);
    const titles = inField.length === 0 ? null : Object.fromEntries(inField.map((one) => [one, current.has(one) ? historyTitle(fileRecord(current.get(one)!)) : one]));
    await recordCardEvent(
      now,
      actor,
      {
        action: 'file-version-removed',
        historyEnabled: type.historyEnabled,
        changes: [
          {
            key: file.fieldKey,
            label: field?.label ?? { ru: file.fieldKey, en: file.fieldKey },
            // The field's value stays as it is (the as-of view and reverting read the entry as no change of value).
            before: now.values[file.fieldKey] ?? null,
            after: now.values[file.fieldKey] ?? null,
            beforeTitles: titles,
            afterTitles: titles,
            files: [{ change: 'version-removed', file: { ...fileRecord(file), name } }],
          },
        ],
      },
      session,
    );
    await recordAudit(
      auditActorOf(actor),
      {
        kind: 'file-version-removed',
        targetType: 'Card',
        targetId: String(card._id),
        summary: `${name} (v${file.version})`,
        before: { name: card.title, fileId: String(file._id), file: name, version: file.version, size: file.size, sha256: file.sha256, uploadedBy: String(file.uploadedBy) },
      },
      session,
    );
  });
  // Open cards show it at once, for those who may read the card.
  publishCardNotice(card, 'file-version-removed', actor);
  // Its bytes, derived copies and quota count go now (the hourly cleanup would take them otherwise).
  await removeExpiredFiles({ cardId: card._id });
  return file.lineage ? ((await versionsOf([String(file.lineage)])).get(String(file.lineage)) ?? []) : [];
}
