import { createPinia } from 'pinia';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createApp, nextTick } from 'vue';
import { createMemoryHistory, createRouter } from 'vue-router';

// The API, answered here; the error class stays the real one.
const server = vi.hoisted(() => ({ request: vi.fn() }));
vi.mock('../src/api/graphql', async (importOriginal) => ({ ...(await importOriginal<typeof import('../src/api/graphql')>()), request: server.request }));

const { GraphQLRequestError } = await import('../src/api/graphql');
const { default: SignInView } = await import('../src/views/SignInView.vue');
const { i18n, setLocale } = await import('../src/i18n');

const busy = (seconds: number) =>
  new GraphQLRequestError(
    `Слишком много попыток входа на сервер (защита от подбора паролей): ваш пароль ещё не проверен — повторите через ${seconds} с`,
    'TOO_MANY_REQUESTS',
    {},
    { reason: 'SIGN_IN_BUSY', retryAfterSeconds: seconds },
  );
const viewer = {
  signIn: { user: { id: 'u1', login: 'nvakulenko', fullName: 'Наталья Вакуленко', locale: null, department: null }, isAdmin: false, isHistoryReader: false, rules: [] },
};

/** The sign-in page, its form filled in and sent. */
async function signInSent() {
  const host = document.createElement('div');
  document.body.append(host);
  const router = createRouter({
    history: createMemoryHistory(),
    routes: [
      { path: '/', component: { render: () => null } },
      { path: '/signin', component: SignInView },
    ],
  });
  const app = createApp({ template: '<RouterView />' }).use(createPinia()).use(i18n).use(router);
  await router.push('/signin');
  app.mount(host);
  await nextTick();
  const fill = (test: string, value: string) => {
    const input = host.querySelector<HTMLInputElement>(`[data-test="${test}"]`)!;
    input.value = value;
    input.dispatchEvent(new Event('input'));
  };
  fill('signin-login', 'nvakulenko');
  fill('signin-password', 'secret-password-1');
  host.querySelector<HTMLFormElement>('[data-test="signin-form"]')!.dispatchEvent(new Event('submit'));
  return { host, router, app };
}

const text = (host: HTMLElement, test: string) => host.querySelector(`[data-test="${test}"]`)?.textContent?.trim() ?? null;

beforeEach(() => {
  setLocale('ru');
  server.request.mockReset();
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
  document.body.innerHTML = '';
});

describe('signing in during a flood of others’ sign-ins (s13 re-attack B1)', () => {
  it('waits the seconds the server names once, saying so, and signs in', async () => {
    server.request.mockRejectedValueOnce(busy(3)).mockResolvedValueOnce(viewer);
    const { host, router, app } = await signInSent();
    await vi.advanceTimersByTimeAsync(0);
    expect(text(host, 'signin-retrying')).toBe('Много попыток входа — повторяем через 3 с…');
    expect(text(host, 'signin-error')).toBeNull();
    await vi.advanceTimersByTimeAsync(1000);
    expect(text(host, 'signin-retrying')).toBe('Много попыток входа — повторяем через 2 с…');
    expect(server.request).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(2000);
    expect(server.request).toHaveBeenCalledTimes(2);
    expect(router.currentRoute.value.path).toBe('/');
    app.unmount();
  });

  it('shows the second refusal instead of waiting again', async () => {
    server.request.mockRejectedValueOnce(busy(1)).mockRejectedValueOnce(busy(2));
    const { host, app } = await signInSent();
    await vi.advanceTimersByTimeAsync(1000);
    await nextTick();
    expect(server.request).toHaveBeenCalledTimes(2);
    expect(text(host, 'signin-retrying')).toBeNull();
    expect(text(host, 'signin-error')).toBe('Слишком много попыток входа на сервер (защита от подбора паролей): ваш пароль ещё не проверен — повторите через 2 с');
    await vi.advanceTimersByTimeAsync(10_000);
    expect(server.request).toHaveBeenCalledTimes(2);
    app.unmount();
  });

  it('does not wait out a 15-minute block or a wrong password: shows it at once', async () => {
    const refusals = [
      new GraphQLRequestError('Слишком много неудачных попыток входа. Повторите через 15 мин.', 'TOO_MANY_REQUESTS', {}, { retryAfterSeconds: 900 }),
      new GraphQLRequestError('Неверный логин или пароль', 'UNAUTHENTICATED'),
    ];
    const shown = [];
    for (const refusal of refusals) {
      server.request.mockReset().mockRejectedValueOnce(refusal);
      const { host, app } = await signInSent();
      await vi.advanceTimersByTimeAsync(0);
      await nextTick();
      expect(text(host, 'signin-retrying')).toBeNull();
      shown.push(text(host, 'signin-error'));
      expect(server.request).toHaveBeenCalledTimes(1);
      app.unmount();
      document.body.innerHTML = '';
    }
    expect(shown).toEqual(['Вход временно заблокирован. Слишком много неудачных попыток входа. Повторите через 15 мин.', 'Неверный логин или пароль.']);
  });
});
