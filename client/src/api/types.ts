/** Shapes of the server's GraphQL types, as far as the client asks for them. */
import type { CardTypeDefinition, FieldDefinition, LocalizedText, RelatedTab } from '../../../card-types';

export type Localized = LocalizedText;
/** A field as the kernel defines it (`card-types/kernel/definition.ts`). */
export type FieldDef = FieldDefinition;
export type RelatedTabDef = RelatedTab;

/** A card type as the workspace reads it. */
export type CardTypeDef = Omit<CardTypeDefinition, 'origin'> & { origin?: CardTypeDefinition['origin'] };

export type AccessLevel = 'read' | 'edit' | 'full';
export const ACCESS_LEVELS: AccessLevel[] = ['read', 'edit', 'full'];
export type PrincipalType = 'user' | 'department' | 'group';
export const PRINCIPAL_TYPES: PrincipalType[] = ['user', 'department', 'group'];
export type Locale = 'ru' | 'en';

export interface AccessEntry {
  principalType: PrincipalType;
  principalId: string;
  principalName: string;
  includeSubdepartments: boolean;
  level: AccessLevel;
  export: boolean;
}

export interface FolderSummary {
  id: string;
  libraryId: string;
  parentId: string | null;
  name: string;
  order: number;
  myAccess: AccessLevel;
  /** Card types the folder takes (empty: any). */
  allowedCardTypes: string[];
  defaultCardType: string | null;
}

export interface LibrarySummary {
  id: string;
  name: string;
  order: number;
  folders: FolderSummary[];
}

export interface Department {
  id: string;
  name: string;
  parentId: string | null;
  ipAllowList: string[] | null;
}

export interface UserSummary {
  id: string;
  /** Shown to administrators and to the user themself; null for colleagues. */
  login: string | null;
  fullName: string;
}

export interface UserDetails extends UserSummary {
  email: string;
  active: boolean;
  locale: Locale;
  ipAllowList: string[] | null;
  department: { id: string; name: string } | null;
}

export interface Group {
  id: string;
  name: string;
  systemRole: string | null;
  members: UserSummary[];
}

/** Anything with a parent id, arranged as a tree. */
export interface TreeNode<T> {
  item: T;
  children: TreeNode<T>[];
}

/**
 * Arranges items by `parentId`, siblings by `order` then name. An item whose parent is not in
 * the list (hidden from the viewer) becomes a root, so nothing visible goes missing.
 */
export function buildTree<T extends { id: string; parentId: string | null; name: string; order?: number }>(items: T[]): TreeNode<T>[] {
  const nodes = new Map(items.map((item) => [item.id, { item, children: [] as TreeNode<T>[] }]));
  const roots: TreeNode<T>[] = [];
  for (const node of nodes.values()) {
    const parent = node.item.parentId ? nodes.get(node.item.parentId) : undefined;
    (parent ? parent.children : roots).push(node);
  }
  const sort = (list: TreeNode<T>[]) => {
    list.sort((a, b) => (a.item.order ?? 0) - (b.item.order ?? 0) || a.item.name.localeCompare(b.item.name));
    list.forEach((node) => sort(node.children));
  };
  sort(roots);
  return roots;
}

/** A tree as rows in display order, each with its depth (for indented lists and selects). */
export function flattenTree<T>(nodes: TreeNode<T>[], depth = 0): { item: T; depth: number }[] {
  return nodes.flatMap((node) => [{ item: node.item, depth }, ...flattenTree(node.children, depth + 1)]);
}

/** Indents a name for an <option> by tree depth. */
export const indented = (name: string, depth: number): string => `${'\u00a0\u00a0\u00a0'.repeat(depth)}${name}`;
