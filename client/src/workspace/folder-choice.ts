import type { FolderPlace } from '../ability';
import { buildTree, flattenTree, indented, type LibrarySummary } from '../api/types';

export interface FolderOption {
  id: string;
  /** «Library / folder», sub-folders indented. */
  label: string;
}

export interface FolderChoice {
  /** Folders that take the type and where the viewer may create cards, in tree order. */
  options: FolderOption[];
  /** The one to offer first; null when there is none. */
  preferred: string | null;
  /** The folder the form was opened in is one of them. */
  openedInFits: boolean;
}

/**
 * Where a new card of `typeKey` can go: folders whose allowed types include it (none listed: any
 * type) and where `mayCreate` (the session's CASL ability) lets the viewer create cards. The one
 * offered first is the folder the form was opened in when it fits; else a folder whose default
 * type it is, in the same library before others; else the first fitting folder of the same
 * library; else the first one.
 */
export function folderChoicesFor(libraries: LibrarySummary[], typeKey: string, openedIn: string, mayCreate: (folder: FolderPlace) => boolean): FolderChoice {
  const fitting = libraries.flatMap((library) =>
    flattenTree(buildTree(library.folders))
      .filter(({ item }) => mayCreate(item) && (item.allowedCardTypes.length === 0 || item.allowedCardTypes.includes(typeKey)))
      .map(({ item, depth }) => ({ folder: item, label: `${library.name} / ${indented(item.name, depth)}` })),
  );
  const openedLibrary = libraries.find((library) => library.folders.some((folder) => folder.id === openedIn))?.id;
  const openedInFits = fitting.some(({ folder }) => folder.id === openedIn);
  const rank = ({ folder }: (typeof fitting)[number]) => (folder.defaultCardType === typeKey ? 0 : 2) + (folder.libraryId === openedLibrary ? 0 : 1);
  const best = [...fitting].sort((a, b) => rank(a) - rank(b))[0];
  return {
    options: fitting.map(({ folder, label }) => ({ id: folder.id, label })),
    preferred: openedInFits ? openedIn : (best?.folder.id ?? null),
    openedInFits,
  };
}

/**
 * Where a card may be moved, as the server allows it: another folder where `mayCreate` lets the
 * viewer create cards and whose allowed types take the card's type, in tree order.
 */
export function moveTargetsFor(libraries: LibrarySummary[], card: { folderId: string; typeKey: string }, mayCreate: (folder: FolderPlace) => boolean): FolderOption[] {
  return folderChoicesFor(libraries, card.typeKey, card.folderId, mayCreate).options.filter((option) => option.id !== card.folderId);
}
