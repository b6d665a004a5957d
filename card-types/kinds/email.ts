import { defineFieldKind, fail, ok, plainCell } from '../kernel/field-kind';
import { fromText } from '../kernel/kind-parts';
import { messages } from '../kernel/messages';

const maxLength = 254;
const localPart = /^[\p{L}\p{N}!#$%&'*+/=?^_`{|}~-]+(\.[\p{L}\p{N}!#$%&'*+/=?^_`{|}~-]+)*$/u;
const domainPart = /^([\p{L}\p{N}]([\p{L}\p{N}-]*[\p{L}\p{N}])?\.)+\p{L}{2,}$/u;

/** The address of a `mailto:` link, its escapes decoded; undefined for any other link or an undecodable one. */
function mailtoAddress(link: string | undefined): string | undefined {
  const address = /^\s*mailto:([^?#]*)/i.exec(link ?? '')?.[1];
  if (!address) return undefined;
  try {
    return decodeURIComponent(address);
  } catch {
    return undefined;
  }
}

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
  // A linked cell («Написать нам» → mailto:…): the address the link writes to (without `?subject=…`); another link leaves the text.
  fromCell: (cell, _field, link) => mailtoAddress(link) ?? plainCell(cell),
  toCell: (value) => ({ value: String(value), hyperlink: `mailto:${String(value)}` }),
  normalizeForSearch: (value) => ({ text: [String(value)], keys: [String(value).toLowerCase()] }),
  filter: { operators: ['contains', 'equals', 'in'] },
  index: { unique: true },
  conversions: { from: fromText },
  sample: () => 'info@example.com',
});
