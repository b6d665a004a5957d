import type { MigrationStep } from './step';
import { dismissalPlacesStep } from './dismissal-places';
import { docxPicturesStep } from './docx-pictures';
import { mergeSurvivorsStep } from './merge-survivors';
import { readStateStep } from './read-state';
import { searchWordsStep } from './search-words';
import { wordFolderIndexStep } from './word-folder-index';

/**
 * The data model's history after its baseline (version 1, the model before versioning began).
 * Append a step to change stored data: the next version number, a name, and `up`, which must be
 * safe to run again (a step interrupted half-way is run again from its start). Steps use the
 * driver's `Db`, not the application's models: the models describe the newest model, a step
 * meets the data as the previous version stored it.
 */
export const MIGRATION_STEPS: MigrationStep[] = [
  { version: 2, ...readStateStep },
  { version: 3, ...searchWordsStep },
  { version: 4, ...docxPicturesStep },
  { version: 5, ...mergeSurvivorsStep },
  { version: 6, ...dismissalPlacesStep },
  { version: 7, ...wordFolderIndexStep },
];
