import { i18n } from '../i18n';
import { en, ru } from './messages';

/** Adds the import and export strings to the interface's languages. */
export function installTransfer(): void {
  i18n.global.mergeLocaleMessage('ru', ru);
  i18n.global.mergeLocaleMessage('en', en);
}
