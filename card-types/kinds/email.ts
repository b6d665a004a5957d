import { defineFieldKind, fail, ok } from '../kernel/field-kind';
import { fromText } from '../kernel/kind-parts';
import { messages } from '../kernel/messages';

const maxLength = 254;
const localPart = /^[\p{L}\p{N}!#$%&'*+/=?^_`{|}~-]+(\.[\p{L}\p{N}!#$%&'*+/=?^_`{|}~-]+)*$/u;
const domainPart = /^([\p{L}\p{N}]([\p{L}\p{N}-]*[\p{L}\p{N}])?\.)+\p{L}{2,}$/u;

/** «E-mail»: the domain lower-cased, found by search as it is. */
export default defineFieldKind({
  key: 'email',
  labels: { ru: 'E-mail', en: 'E-mail' },
  order: 100,
  settingsSchema: (z) => ({ default: z.optional(z.string()) }),
  parse(raw) {
    const text = typeof raw === 'string' ? raw.trim() : '';
    const at = text.lastIndexOf('@');
    const local = text.slice(0, at);
    const domain = text.slice(at + 1).toLowerCase();
    const valid = at > 0 && local.length <= 64 && text.length <= maxLength && localPart.test(local) && domainPart.test(domain);
    return valid ? ok(`${local}@${domain}`) : fail(messages.notEmail);
  },
  toCell: (value) => ({ value: String(value), hyperlink: `mailto:${String(value)}` }),
  normalizeForSearch: (value) => ({ text: [String(value)], keys: [String(value).toLowerCase()] }),
  filter: { operators: ['contains', 'equals', 'in'] },
  index: { unique: true },
  conversions: { from: fromText },
  sample: () => 'info@example.com',
});
