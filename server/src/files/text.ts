import type { ClientSession, Types } from 'mongoose';
import { normaliseForSearch, searchIndexOf, searchWordsOf, type CardTypeDefinition } from '../../../card-types';
import { findCardType } from '../card-types/registry';
import type { CardChange } from '../cards/lifecycle';
import { Card, type CardDoc } from '../cards/model';
import { defineJob } from '../jobs/define';
import { storedDocx, storedPdfTexts } from './content';
import { FileText, StoredFile, type FileTextDoc, type StoredFileDoc } from './model';
import { fileFields, shownFileIds } from './service';

/** The most text one file gives the search, and all of a card's files together (characters). */
const FILE_TEXT_CHARS = 100_000;
const CARD_FILES_TEXT_CHARS = 300_000;

/** The text layer of a PDF or the text of a DOCX, each read in a worker thread; null when the file is too large to read (or to unpack), or does not read in its time. */
async function documentText(file: StoredFileDoc): Promise<string | null> {
  if (file.fileType === 'pdf') {
    const pages = await storedPdfTexts(file, 'background');
    return Array.isArray(pages) ? pages.join('\n') : null;
  }
  if (file.fileType !== 'docx') return null;
  const answer = await storedDocx(file, 'text', 'background');
  return typeof answer === 'object' && 'text' in answer ? answer.text : null;
}

/** A card's search text: its own (title and shown fields, as the card service derives it) and its shown fields' current files' texts. */
function withFileTexts(own: string, texts: readonly Pick<FileTextDoc, 'text'>[]): string {
  const files = texts
    .map((entry) => entry.text)
    .join(' ')
    .slice(0, CARD_FILES_TEXT_CHARS);
  return files ? `${own} ${files}` : own;
}

const textsOf = (ids: readonly string[], session?: ClientSession) =>
  ids.length === 0
    ? Promise.resolve([])
    : FileText.find({ _id: { $in: ids } }, { text: 1 })
        .session(session ?? null)
        .lean<FileTextDoc[]>();

/**
 * Lifecycle hook (inside the card's transaction): a change to a card's values derives its search
 * text anew from its fields; the texts already extracted from its current files join it again.
 */
export async function keepFileTexts(change: CardChange, session: ClientSession): Promise<void> {
  if (change.changes.length === 0 || fileFields(change.type).length === 0) return;
  const texts = await textsOf(shownFileIds(change.type, change.after.values), session);
  if (texts.length === 0) return;
  const searchText = withFileTexts(change.after.searchText, texts);
  await Card.updateOne({ _id: change.after._id }, { $set: { searchText, searchWords: searchWordsOf(searchText) } }, { session, timestamps: false });
}

/**
 * After a file's text is extracted: the card's search text with it. Written only over the version
 * read (a change meanwhile derived it itself, with the texts there were); read again if it moved on.
 */
async function refreshSearchText(cardId: Types.ObjectId): Promise<void> {
  for (;;) {
    const card = await Card.findById(cardId).lean<CardDoc>();
    const type: CardTypeDefinition | null = card && (await findCardType(card.typeKey));
    if (!card || !type) return;
    const own = searchIndexOf(type, card.title, card.values).searchText;
    const searchText = withFileTexts(own, await textsOf(shownFileIds(type, card.values)));
    // Not a change anyone made: the card's version and change time stay.
    const written = await Card.updateOne({ _id: card._id, version: card.version }, { $set: { searchText, searchWords: searchWordsOf(searchText) } }, { timestamps: false });
    if (written.matchedCount === 1) return;
  }
}

/**
 * Background job: the text of a PDF or DOCX attached to a card goes into the card's search text
 * (normalised like it, bounded), and is kept per file so that a hit can say which file it was found in.
 */
export const fileTextJob = defineJob<{ fileId: string }, { characters: number }>({
  type: 'file-text',
  async run(ctx) {
    const file = await StoredFile.findById(ctx.params.fileId).lean<StoredFileDoc>();
    if (!file || file.state !== 'attached' || !file.cardId) return { characters: 0 };
    let extracted: string | null;
    try {
      extracted = await documentText(file);
    } catch (error) {
      await StoredFile.updateOne({ _id: file._id }, { $set: { textState: 'failed' } });
      throw error;
    }
    ctx.signal.throwIfAborted();
    const text = normaliseForSearch(extracted ?? '')
      .replace(/\s+/g, ' ')
      .trim()
      .slice(0, FILE_TEXT_CHARS);
    await FileText.updateOne({ _id: file._id }, { $set: { cardId: file.cardId, text } }, { upsert: true });
    await StoredFile.updateOne({ _id: file._id }, { $set: { textState: extracted === null ? 'failed' : 'done' } });
    await refreshSearchText(file.cardId);
    return { characters: text.length };
  },
});
