import type { FieldDefinition } from '../kernel/definition';
import { defineFieldKind, type FieldWith } from '../kernel/field-kind';
import { fileTypeByName, fileTypeKeys, findFileType, type FileType } from '../kernel/file-types';
import { acceptObjectId, parseChoice } from '../kernel/kind-parts';
import type { LocalizedText } from '../kernel/locale';
import { messages, say } from '../kernel/messages';
import type { SettingsKit } from '../kernel/schemas';

/** A file's size limit when the field sets none, in MB. */
export const DEFAULT_FILE_MAX_MB = 50;
/** The largest limit a field may set, in MB. */
export const FILE_MAX_MB_CEILING = 1024;

const MB = 1024 * 1024;

const settingsSchema = (z: SettingsKit) => ({
  multiple: z.optional(z.boolean()),
  /** The largest file, in MB (50 unless set). */
  max: z.optional(z.int().check(z.minimum(1, say(messages.fileSizeLimit(FILE_MAX_MB_CEILING))), z.maximum(FILE_MAX_MB_CEILING, say(messages.fileSizeLimit(FILE_MAX_MB_CEILING))))),
  /** The types a file may be, by content (any when unset). */
  allowedTypes: z.optional(z.array(z.enum(fileTypeKeys))),
});

type FileField = FieldWith<ReturnType<typeof settingsSchema>>;

/** The largest file a field takes, in bytes. */
export const fileSizeLimit = (field: FieldDefinition): number => ((field as FileField).max ?? DEFAULT_FILE_MAX_MB) * MB;

/** The types a field takes (empty: any). */
export const allowedFileTypes = (field: FieldDefinition): string[] => (field as FileField).allowedTypes ?? [];

/**
 * Why a file may not go into a field — too large, or of a type the field does not take — or
 * undefined when it may. `type` is the file's type by content (undefined: none of the known ones);
 * a file whose `name` claims another type is told what its content is («скан.pdf» holding a DOCX).
 */
export function fileRefusal(field: FieldDefinition, file: { size: number; type: FileType | undefined; name?: string }): LocalizedText | undefined {
  const limit = fileSizeLimit(field);
  if (file.size > limit) return messages.fileTooLarge(limit / MB);
  if (file.size === 0) return messages.fileEmpty;
  const allowed = allowedFileTypes(field);
  if (allowed.length > 0 && !(file.type && allowed.includes(file.type.key))) {
    const labels = allowed.map((key) => findFileType(key)?.label ?? key).join(', ');
    const claimed = file.name === undefined ? undefined : fileTypeByName(file.name);
    if (claimed && claimed.key !== file.type?.key) return messages.fileTypeNotAsNamed(file.name!, claimed.label, file.type?.label ?? null, labels);
    return messages.fileTypeNotAllowed(labels);
  }
  return undefined;
}

/**
 * «Файл»: one stored file, or (`multiple`) several; values are the ids of file versions the server
 * keeps (uploaded beside the API, then attached by saving the card), read as their names.
 */
export default defineFieldKind({
  key: 'file',
  labels: { ru: 'Файл', en: 'File' },
  order: 160,
  settingsSchema,
  settingLabels: { max: { ru: 'Не больше (МБ на файл)', en: 'At most (MB per file)' } },
  settingHints: { max: { ru: `По умолчанию ${DEFAULT_FILE_MAX_MB} МБ`, en: `${DEFAULT_FILE_MAX_MB} MB unless set` } },
  parse: (raw, field) => parseChoice(raw, { multiple: field.multiple === true, accept: acceptObjectId, invalid: messages.notFile }),
  filter: { operators: [] },
  index: { sortable: false },
  multiple: (field) => field.multiple === true,
  link: { to: 'file' },
});
