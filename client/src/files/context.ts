import type { InjectionKey } from 'vue';
import type { UploadTarget } from './api';

/** What a card form tells its file fields, and what it learns from them. */
export interface CardFormFiles {
  /** Where uploads go: the card being edited, or the folder and type of the card being created. */
  target(): UploadTarget;
  /** The values the card was read with (null for a new card): the files a new version may replace. */
  saved(): Record<string, unknown> | null;
  /** Uploads running now: saving waits for them, so no file dropped before «Сохранить» is left out. */
  running: Set<Promise<unknown>>;
}

export const cardFormFilesKey: InjectionKey<CardFormFiles> = Symbol('card-form-files');
