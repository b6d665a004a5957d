/**
 * The folders domain's models: libraries and folders with their access entries. They are part of
 * the access structure, defined with it in access/structure.ts (the access snapshot loads them).
 */
export { ACCESS_LEVELS, Folder, Library, type AccessEntry, type AccessLevel, type FolderDoc, type LibraryDoc, type PrincipalType } from '../access/structure';
