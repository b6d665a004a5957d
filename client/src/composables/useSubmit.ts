import { ref } from 'vue';
import { useI18n } from 'vue-i18n';
import { GraphQLRequestError } from '../api/graphql';

/**
 * State of a form submission: busy flag, a form-level message and per-field messages (from the
 * client's required checks or the server's BAD_USER_INPUT `fields`).
 */
export function useSubmit() {
  const { t } = useI18n();
  const busy = ref(false);
  const error = ref<string | null>(null);
  const fieldErrors = ref<Record<string, string>>({});

  function reset(): void {
    error.value = null;
    fieldErrors.value = {};
  }

  /** Marks every empty required value; true when all are filled. */
  function checkRequired(values: Record<string, string | null | undefined>): boolean {
    const missing = Object.entries(values).filter(([, value]) => !value?.trim());
    fieldErrors.value = Object.fromEntries(missing.map(([key]) => [key, t('form.required')]));
    error.value = missing.length > 0 ? t('form.checkFields') : null;
    return missing.length === 0;
  }

  /** Runs the request; resolves true on success, false when it failed (errors then shown). */
  async function run(action: () => Promise<unknown>): Promise<boolean> {
    busy.value = true;
    reset();
    try {
      await action();
      return true;
    } catch (e) {
      error.value = e instanceof GraphQLRequestError || e instanceof Error ? e.message : String(e);
      if (e instanceof GraphQLRequestError) fieldErrors.value = e.fields;
      return false;
    } finally {
      busy.value = false;
    }
  }

  return { busy, error, fieldErrors, reset, checkRequired, run };
}
