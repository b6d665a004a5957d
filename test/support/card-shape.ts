import type { ObjectId } from 'mongodb';

/** The fields of a stored card that database tests of folder pages and searches build on. */
export interface CardShape {
  _id: ObjectId;
  folderId: ObjectId;
  inTrash: boolean;
  title: string;
  updatedAt: Date;
}
