import { hash } from '@node-rs/argon2';
import { expect } from 'chai';
import mongoose from 'mongoose';
import { Session, User } from '../../server/src/people/models';
import type { RunningServer } from '../../server/src/server';
import { ApiClient, type GraphQLResult } from '../support/api-client';
import { signedIn, startTestServer } from '../support/server';

const SIGN_IN = 'mutation($login: String!, $password: String!) { signIn(login: $login, password: $password) { user { login } } }';
const VIEWER = '{ viewer { user { login } } }';
const PASSWORD = 'secret-password-1';

describe('sign-in and sessions (API)', function () {
  this.timeout(60_000);
  let server: RunningServer;
  let admin: ApiClient;
  let departmentId: string;

  const createUser = async (login: string, extra: Record<string, unknown> = {}) => {
    const data = await admin.data<{ createUser: { id: string } }>('mutation($input: CreateUserInput!) { createUser(input: $input) { id } }', {
      input: { login, fullName: `User ${login}`, password: PASSWORD, departmentId, ...extra },
    });
    return data.createUser.id;
  };
  const viewerLogin = async (client: ApiClient) => (await client.data<{ viewer: { user: { login: string } } | null }>(VIEWER)).viewer?.user.login ?? null;

  before(async () => {
    server = await startTestServer();
    admin = await signedIn(server);
    departmentId = (await admin.data<{ departments: { id: string }[] }>('{ departments { id } }')).departments[0].id;
  });
  after(async () => {
    await server?.stop();
  });

  it('signs in with any case of the login and keeps the session in an httpOnly SameSite cookie', async () => {
    await createUser('Anna.Petrova');
    const response = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: SIGN_IN, variables: { login: 'anna.petrova', password: PASSWORD } }),
    });
    const cookie = response.headers.getSetCookie().find((c) => c.startsWith('kartoteka_session='));
    expect(cookie)
      .to.match(/httponly/i)
      .and.match(/samesite=lax/i);
    expect(((await response.json()) as { data: { signIn: { user: { login: string } } } }).data.signIn.user.login).to.equal('Anna.Petrova');
  });

  it('says «wrong login or password» for a wrong password and for an unknown login alike', async () => {
    const client = new ApiClient(server.url, { 'x-forwarded-for': '198.51.100.1' });
    for (const login of ['anna.petrova', 'nobody-at-all']) {
      const result = await client.request(SIGN_IN, { login, password: 'wrong-password' });
      expect(result.errors?.[0].extensions?.code).to.equal('UNAUTHENTICATED');
      expect(result.errors?.[0].message).to.equal('Неверный логин или пароль');
    }
  });

  it('refuses an inactive user with a clear message, and deactivation ends their sessions at once', async () => {
    const id = await createUser('boris');
    const boris = await signedIn(server, 'boris', PASSWORD);
    expect(await viewerLogin(boris)).to.equal('boris');
    await admin.data('mutation($id: ID!) { setUserActive(id: $id, active: false) { active } }', { id });
    expect(await viewerLogin(boris)).to.equal(null);
    const again = await new ApiClient(server.url).request(SIGN_IN, { login: 'boris', password: PASSWORD });
    expect(again.errors?.[0].extensions?.code).to.equal('FORBIDDEN');
    expect(again.errors?.[0].message).to.equal('Учётная запись отключена. Обратитесь к администратору');
  });

  it('slows and then refuses repeated failures for a login, even with the right password, and audits them', async () => {
    await createUser('victim');
    const attacker = new ApiClient(server.url);
    const codes: string[] = [];
    for (let attempt = 0; attempt < 6; attempt += 1) {
      const result = await attacker.request(SIGN_IN, { login: 'victim', password: `guess-${attempt}` });
      codes.push(String(result.errors?.[0].extensions?.code));
    }
    expect(codes.slice(0, 4)).to.deep.equal(Array(4).fill('UNAUTHENTICATED'));
    expect(codes.at(-1)).to.equal('TOO_MANY_REQUESTS');
    const blocked = await attacker.request(SIGN_IN, { login: 'victim', password: PASSWORD });
    expect(blocked.errors?.[0].extensions?.code).to.equal('TOO_MANY_REQUESTS');
    expect(blocked.errors?.[0].message).to.match(/Слишком много неудачных попыток входа\. Повторите через \d+ мин\./);
    const audit = await admin.data<{ auditLog: { totalCount: number } }>('{ auditLog(kind: "sign-in-failed") { totalCount } }');
    expect(audit.auditLog.totalCount).to.be.at.least(5);
  });

  it('treats an expired session as signed out', async () => {
    await createUser('clara');
    const clara = await signedIn(server, 'clara', PASSWORD);
    const user = await User.findOne({ loginKey: 'clara' }).lean();
    await Session.updateMany({ userId: user?._id }, { $set: { expiresAt: new Date(Date.now() - 1000) } });
    expect(await viewerLogin(clara)).to.equal(null);
  });

  it('ends every session of a user when an administrator resets the password', async () => {
    const id = await createUser('dmitry');
    const dmitry = await signedIn(server, 'dmitry', PASSWORD);
    await admin.data('mutation($id: ID!) { resetPassword(id: $id, newPassword: "new-password-2") }', { id });
    expect(await viewerLogin(dmitry)).to.equal(null);
    expect(await viewerLogin(await signedIn(server, 'dmitry', 'new-password-2'))).to.equal('dmitry');
  });

  it('changes one’s own password only with the old one, and keeps the current session', async () => {
    await createUser('elena');
    const elena = await signedIn(server, 'elena', PASSWORD);
    const otherBrowser = await signedIn(server, 'elena', PASSWORD);
    const wrong = await elena.request('mutation { changePassword(oldPassword: "not-it", newPassword: "brand-new-pass") }');
    expect(wrong.errors?.[0].extensions?.fields).to.deep.equal({ oldPassword: 'Текущий пароль указан неверно' });
    await elena.data(`mutation { changePassword(oldPassword: "${PASSWORD}", newPassword: "brand-new-pass") }`);
    expect(await viewerLogin(elena)).to.equal('elena');
    expect(await viewerLogin(otherBrowser)).to.equal(null);
  });

  it('signs in only with the signature of the session cookie’s own value, however often the genuine cookie was seen', async () => {
    await createUser('olga');
    await createUser('pavel');
    const olga = await signedIn(server, 'olga', PASSWORD);
    const pavel = await signedIn(server, 'pavel', PASSWORD);
    const cookiesOf = (client: ApiClient) =>
      Object.fromEntries(
        client
          .cookieHeader()
          .split('; ')
          .map((pair) => pair.split('=') as [string, string]),
      );
    const [own, other] = [cookiesOf(olga), cookiesOf(pavel)];
    const viewerWith = async (value: string, signature: string) => {
      const response = await fetch(`${server.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', cookie: `kartoteka_session=${value}; kartoteka_session.sig=${signature}` },
        body: JSON.stringify({ query: VIEWER }),
      });
      return ((await response.json()) as { data: { viewer: { user: { login: string } } | null } }).data.viewer?.user.login ?? null;
    };
    for (let i = 0; i < 2; i++) {
      expect(await viewerWith(own.kartoteka_session, own['kartoteka_session.sig'])).to.equal('olga');
      // Another session's token under Olga's signature, Olga's token under a made-up or Pavel's signature: signed out, every time.
      expect(await viewerWith(other.kartoteka_session, own['kartoteka_session.sig'])).to.equal(null);
      expect(await viewerWith(own.kartoteka_session, 'AAAAAAAAAAAAAAAAAAAAAAAAAAA')).to.equal(null);
      expect(await viewerWith(own.kartoteka_session, other['kartoteka_session.sig'])).to.equal(null);
    }
    expect(await viewerLogin(pavel)).to.equal('pavel');
  });

  it('signs out', async () => {
    await createUser('fedor');
    const fedor = await signedIn(server, 'fedor', PASSWORD);
    await fedor.data('mutation { signOut }');
    expect(await viewerLogin(fedor)).to.equal(null);
  });

  it('refuses an address outside the user’s allow-list, and ignores X-Forwarded-For without TRUST_PROXY', async () => {
    await createUser('gleb', { ipAllowList: ['10.20.0.0/16'] });
    const result = await new ApiClient(server.url, { 'x-forwarded-for': '10.20.1.5' }).request(SIGN_IN, { login: 'gleb', password: PASSWORD });
    expect(result.errors?.[0].extensions?.code).to.equal('FORBIDDEN');
    expect(result.errors?.[0].message).to.equal('Вход с адреса 127.0.0.1 запрещён для этой учётной записи');
  });

  it('applies a department’s allow-list to its users and to sessions already open', async () => {
    const department = await admin.data<{ createDepartment: { id: string } }>('mutation { createDepartment(input: { name: "Офис" }) { id } }');
    await createUser('hanna', { departmentId: department.createDepartment.id });
    const hanna = await signedIn(server, 'hanna', PASSWORD);
    await admin.data('mutation($id: ID!) { updateDepartment(id: $id, input: { ipAllowList: ["192.0.2.0/24"] }) { id } }', { id: department.createDepartment.id });
    const refused = await hanna.request('{ folders { id } }');
    expect(refused.errors?.[0].extensions?.code).to.equal('FORBIDDEN');
  });

  it('validates allow-list entries at the field', async () => {
    const result = await admin.request('mutation($input: CreateUserInput!) { createUser(input: $input) { id } }', {
      input: { login: 'ivan', fullName: 'Иван', password: PASSWORD, departmentId, ipAllowList: ['10.0.0.0/99'] },
    });
    expect(result.errors?.[0].extensions?.fields).to.deep.equal({ ipAllowList: 'Неверный адрес или подсеть: 10.0.0.0/99' });
  });
});

describe('sign-in throttle under parallel guesses (API)', function () {
  this.timeout(120_000);
  let server: RunningServer;
  let admin: ApiClient;
  const userIds: Record<string, string> = {};

  before(async () => {
    // Each test guesses from an address of its own (the proxy's entry in X-Forwarded-For).
    server = await startTestServer({ TRUST_PROXY: 'true' });
    admin = await signedIn(server);
    const departmentId = (await admin.data<{ departments: { id: string }[] }>('{ departments { id } }')).departments[0].id;
    for (const login of ['vera', 'target-one', 'target-two', 'vera-owner', 'flooded-owner', 'office-owner']) {
      const created = await admin.data<{ createUser: { id: string } }>('mutation($input: CreateUserInput!) { createUser(input: $input) { id } }', {
        input: { login, fullName: login, password: PASSWORD, departmentId },
      });
      userIds[login] = created.createUser.id;
    }
  });
  after(async () => {
    await server?.stop();
  });

  /** Wrong passwords that were actually checked: each one leaves a «sign-in-failed» audit entry. */
  const verifiedFailures = async (login: string) =>
    (await admin.data<{ auditLog: { totalCount: number } }>('query($u: ID) { auditLog(kind: "sign-in-failed", userId: $u) { totalCount } }', { u: userIds[login] })).auditLog
      .totalCount;

  const guesses = (login: string, address: string, rightAt: number) =>
    Promise.all(
      Array.from({ length: 40 }, (_, index) =>
        new ApiClient(server.url, { 'x-forwarded-for': address }).request(SIGN_IN, { login, password: index === rightAt ? PASSWORD : `guess-${index}` }),
      ),
    );

  it('blocks at the 5th failure, as its answer says, and verifies no 6th password', async () => {
    const attacker = new ApiClient(server.url, { 'x-forwarded-for': '198.51.100.20' });
    const answers: { code: unknown; message: string }[] = [];
    for (let attempt = 0; attempt < 5; attempt += 1) {
      const result = await attacker.request(SIGN_IN, { login: 'vera', password: `guess-${attempt}` });
      answers.push({ code: result.errors?.[0].extensions?.code, message: String(result.errors?.[0].message) });
    }
    expect(answers.slice(0, 4).map((a) => a.code)).to.deep.equal(Array(4).fill('UNAUTHENTICATED'));
    expect(answers[4]).to.deep.equal({ code: 'TOO_MANY_REQUESTS', message: 'Слишком много неудачных попыток входа. Повторите через 15 мин.' });
    const right = await attacker.request(SIGN_IN, { login: 'vera', password: PASSWORD });
    expect(right.errors?.[0].extensions?.code).to.equal('TOO_MANY_REQUESTS');
    expect(right.data?.signIn ?? null).to.equal(null);
  });

  it('checks at most 5 of 40 parallel guesses; the rest are refused unchecked', async () => {
    const results = await guesses('target-one', '198.51.100.21', 37);
    const signedInCount = results.filter((result) => result.data?.signIn).length;
    expect((await verifiedFailures('target-one')) + signedInCount).to.be.at.most(5);
    expect(results.filter((result) => result.errors?.[0].extensions?.code === 'TOO_MANY_REQUESTS').length).to.be.at.least(35);
  });

  it('lets none of 40 parallel guesses in from an address once the login is blocked there, the right one included', async () => {
    const attacker = new ApiClient(server.url, { 'x-forwarded-for': '198.51.100.22' });
    for (let attempt = 0; attempt < 5; attempt += 1) await attacker.request(SIGN_IN, { login: 'target-two', password: `first-${attempt}` });
    const results = await guesses('target-two', '198.51.100.22', 20);
    expect(results.filter((result) => result.data?.signIn)).to.have.length(0);
    expect(results.every((result) => result.errors?.[0].extensions?.code === 'TOO_MANY_REQUESTS')).to.equal(true);
    expect(await verifiedFailures('target-two')).to.equal(5);
  });

  it('keeps the owner in while strangers guess: failures from other addresses never refuse the right password where the owner signed in (s10 attack A10)', async () => {
    const owner = await new ApiClient(server.url, { 'x-forwarded-for': '192.168.1.10' }).request(SIGN_IN, { login: 'vera-owner', password: PASSWORD });
    expect(owner.data?.signIn, JSON.stringify(owner.errors)).to.deep.equal({ user: { login: 'vera-owner' } });
    // Five wrong passwords from one address shut that address out, not the owner at another.
    for (let attempt = 0; attempt < 5; attempt += 1) {
      await new ApiClient(server.url, { 'x-forwarded-for': '203.0.113.1' }).request(SIGN_IN, { login: 'vera-owner', password: `guess-${attempt}` });
    }
    const fromElsewhere = await new ApiClient(server.url, { 'x-forwarded-for': '192.0.2.77' }).request(SIGN_IN, { login: 'vera-owner', password: PASSWORD });
    expect(fromElsewhere.data?.signIn, JSON.stringify(fromElsewhere.errors)).to.deep.equal({ user: { login: 'vera-owner' } });
    // Four wrong passwords from each of five more addresses: 20 in all (24 with those above) close the login to new addresses…
    for (let address = 2; address <= 6; address += 1) {
      for (let attempt = 0; attempt < 4; attempt += 1) {
        await new ApiClient(server.url, { 'x-forwarded-for': `203.0.113.${address}` }).request(SIGN_IN, { login: 'vera-owner', password: `guess-${attempt}` });
      }
    }
    const stranger = await new ApiClient(server.url, { 'x-forwarded-for': '198.18.0.1' }).request(SIGN_IN, { login: 'vera-owner', password: PASSWORD });
    expect(stranger.errors?.[0].extensions?.code).to.equal('TOO_MANY_REQUESTS');
    // … while the owner's office address, where the right password opened it before, still signs in.
    const office = await new ApiClient(server.url, { 'x-forwarded-for': '192.168.1.10' }).request(SIGN_IN, { login: 'vera-owner', password: PASSWORD });
    expect(office.data?.signIn, JSON.stringify(office.errors)).to.deep.equal({ user: { login: 'vera-owner' } });
    const closed = await admin.data<{ auditLog: { edges: { node: { summary: string } }[] } }>(
      'query($u: ID) { auditLog(kind: "sign-in-failed", userId: $u) { edges { node { summary } } } }',
      { u: userIds['vera-owner'] },
    );
    expect(closed.auditLog.edges.map((edge) => edge.node.summary)).to.include('login closed for 15 minutes to addresses it never signed in from: 20 failures');
  });

  it('answers the owner’s right password from a known address while a flood of wrong ones for the login is still being answered (s10 re-attack S1)', async () => {
    const signInFrom = (address: string, password: string) => new ApiClient(server.url, { 'x-forwarded-for': address }).request(SIGN_IN, { login: 'flooded-owner', password });
    expect((await signInFrom('192.168.1.30', PASSWORD)).data?.signIn).to.deep.equal({ user: { login: 'flooded-owner' } });
    // 400 wrong passwords at once: half from one address, half from as many addresses.
    let unanswered = 400;
    const flood = Array.from({ length: 400 }, (_, index) =>
      signInFrom(index % 2 ? '203.0.113.50' : `198.51.${Math.floor(index / 200)}.${index % 200}`, `guess-${index}`).finally(() => {
        unanswered -= 1;
      }),
    );
    const owner = await signInFrom('192.168.1.30', PASSWORD);
    const unansweredWhenOwnerIn = unanswered;
    const refusals = await Promise.all(flood);
    expect(owner.data?.signIn, JSON.stringify(owner.errors)).to.deep.equal({ user: { login: 'flooded-owner' } });
    expect(unansweredWhenOwnerIn, 'flood requests still waiting when the owner was let in').to.be.above(0);
    expect(refusals.filter((result) => result.data?.signIn)).to.have.length(0);
    expect(refusals.filter((result) => result.errors?.[0].extensions?.code === 'TOO_MANY_REQUESTS').length).to.be.above(300);
  });

  it('lets the owner’s browser in after neighbours at the office address and strangers have shut the login, and gives a stolen device cookie five guesses (s10 re-attack S2)', async () => {
    const office = '192.168.7.10';
    const ownerBrowser = new ApiClient(server.url, { 'x-forwarded-for': office });
    const signInWith = (client: ApiClient, password: string) => client.request(SIGN_IN, { login: 'office-owner', password });
    expect((await signInWith(ownerBrowser, PASSWORD)).data?.signIn).to.deep.equal({ user: { login: 'office-owner' } });
    await ownerBrowser.data('mutation { signOut }');
    // 20 failures from strangers close the login to new addresses; 5 from a neighbour behind the office NAT block the office address.
    for (let address = 1; address <= 4; address += 1) {
      for (let attempt = 0; attempt < 5; attempt += 1) await signInWith(new ApiClient(server.url, { 'x-forwarded-for': `203.0.114.${address}` }), `guess-${attempt}`);
    }
    const neighbour = new ApiClient(server.url, { 'x-forwarded-for': office });
    await neighbour.data('mutation($login: String!, $password: String!) { signIn(login: $login, password: $password) { user { login } } }', { login: 'vera', password: PASSWORD });
    for (let attempt = 0; attempt < 5; attempt += 1) await signInWith(neighbour, `neighbour-${attempt}`);
    // The neighbour's browser proves a sign-in to another login only: the office address stays shut to it (A10 holds).
    expect((await signInWith(neighbour, PASSWORD)).errors?.[0].extensions?.code).to.equal('TOO_MANY_REQUESTS');
    const again = await signInWith(ownerBrowser, PASSWORD);
    expect(again.data?.signIn, JSON.stringify(again.errors)).to.deep.equal({ user: { login: 'office-owner' } });
    await ownerBrowser.data('mutation { signOut }');
    const codes: unknown[] = [];
    for (let attempt = 0; attempt < 5; attempt += 1) codes.push((await signInWith(ownerBrowser, `stolen-${attempt}`)).errors?.[0].extensions?.code);
    expect(codes).to.deep.equal([...Array(4).fill('UNAUTHENTICATED'), 'TOO_MANY_REQUESTS']);
    expect((await signInWith(ownerBrowser, PASSWORD)).errors?.[0].extensions?.code).to.equal('TOO_MANY_REQUESTS');
  });
});

describe('password checks of all sign-ins together (API, s12 attack A11)', function () {
  this.timeout(120_000);
  let server: RunningServer;
  const signInFrom = (address: string, login: string, password: string) => new ApiClient(server.url, { 'x-forwarded-for': address }).request(SIGN_IN, { login, password });

  before(async () => {
    // One check at a time, so that four waiting fill the line.
    server = await startTestServer({ TRUST_PROXY: 'true', SIGN_IN_CHECKS_AT_ONCE: '1' });
    const admin = await signedIn(server);
    const departmentId = (await admin.data<{ departments: { id: string }[] }>('{ departments { id } }')).departments[0].id;
    for (const login of ['kira', 'insider', 'slowpoke']) {
      await admin.data('mutation($input: CreateUserInput!) { createUser(input: $input) { id } }', {
        input: { login, fullName: login, password: PASSWORD, departmentId },
      });
    }
    // A password hash some hundred times as costly to check as the default: its check holds the line of checks for seconds.
    await User.updateOne({ loginKey: 'slowpoke' }, { $set: { passwordHash: await hash(PASSWORD, { timeCost: 600 }) } });
  });

  let strangers = 0;
  const stranger = () => {
    strangers += 1;
    return signInFrom(`198.19.${Math.floor(strangers / 250)}.${(strangers % 250) + 1}`, `stranger-${strangers}`, 'wrong-password');
  };
  /**
   * Fills the line of password checks (one at a time here, four waiting) for as long as one slow check takes: the slow one first,
   * four strangers behind it, then strangers until one is refused unchecked. Then `done` settles with the fillers' answers.
   */
  const holdTheLine = async () => {
    const slow = signInFrom('198.18.250.1', 'slowpoke', 'wrong-password');
    await new Promise((resolve) => setTimeout(resolve, 300));
    const fillers = [slow, stranger(), stranger(), stranger(), stranger()];
    for (;;) {
      const canary = await stranger();
      if (canary.errors?.[0].extensions?.code === 'TOO_MANY_REQUESTS') return { done: Promise.all(fillers) };
      fillers.push(Promise.resolve(canary));
    }
  };
  const signInWith = (client: ApiClient, password: string) => client.request(SIGN_IN, { login: 'insider', password });
  const codeOf = (answer: GraphQLResult<unknown>) => answer.errors?.[0].extensions?.code ?? 'SIGNED_IN';
  after(async () => {
    await server?.stop();
  });

  it('refuses strangers’ sign-ins from many addresses past a short line of password checks, lets the owner’s known address wait its turn, and the right password in afterwards', async () => {
    expect((await signInFrom('192.168.5.5', 'kira', PASSWORD)).data?.signIn).to.deep.equal({ user: { login: 'kira' } });
    // Unknown logins, each from an address of its own: none is over any count, so only the checks' line can refuse them —
    // an unknown login's password is checked like a known one's.
    const flood = Array.from({ length: 100 }, (_, index) => signInFrom(`198.18.${Math.floor(index / 200)}.${(index % 200) + 1}`, `stranger-${index}`, 'wrong-password'));
    const owner = await signInFrom('192.168.5.5', 'kira', PASSWORD);
    const answers = await Promise.all(flood);
    expect(owner.data?.signIn, JSON.stringify(owner.errors)).to.deep.equal({ user: { login: 'kira' } });
    const refused = answers.filter((answer) => answer.errors?.[0].extensions?.code === 'TOO_MANY_REQUESTS');
    expect(refused.length, 'strangers refused unchecked').to.be.at.least(10);
    for (const answer of refused) {
      expect(answer.errors?.[0].message).to.match(/^Слишком много попыток входа на сервер \(защита от подбора паролей\): ваш пароль ещё не проверен — повторите через \d+ с$/);
      expect(answer.errors?.[0].extensions?.retryAfterSeconds).to.be.at.least(1);
    }
    const checked = answers.filter((answer) => answer.errors?.[0].extensions?.code !== 'TOO_MANY_REQUESTS');
    expect(checked.length, 'strangers checked in turn').to.be.at.least(5);
    expect(new Set(checked.map((answer) => answer.errors?.[0].message))).to.deep.equal(new Set(['Неверный логин или пароль']));
    // The flood over, a right password from an address the login never signed in from gets in.
    const later = await signInFrom('203.0.113.77', 'kira', PASSWORD);
    expect(later.data?.signIn, JSON.stringify(later.errors)).to.deep.equal({ user: { login: 'kira' } });
  });

  it('lets a browser or an address jump the line only while its last attempt signed in, and an account holder keep only 20 such browsers (s13 re-attack B1)', async () => {
    // The insider signs in 25 times at the office, each time in a new browser (the login keeps the 20 newest), then takes them elsewhere.
    const where = { 'x-forwarded-for': '192.168.6.6' };
    const browsers: ApiClient[] = [];
    for (let index = 0; index < 25; index += 1) {
      const browser = new ApiClient(server.url, where);
      expect(codeOf(await signInWith(browser, PASSWORD))).to.equal('SIGNED_IN');
      await browser.data('mutation { signOut }');
      browsers.push(browser);
    }
    where['x-forwarded-for'] = '10.78.1.1';
    const forgotten = browsers.slice(0, 5);
    const kept = browsers.slice(5);
    // One wrong password through each browser at once while the line is full: the kept ones wait their turn and are checked, the
    // forgotten ones are strangers; so is the office's first wrong password without a browser, from an address the login signed in from.
    let held = await holdTheLine();
    const first = await Promise.all([...browsers.map((browser) => signInWith(browser, 'guess-1')), signInFrom('192.168.6.6', 'insider', 'guess-2')]);
    expect(first.slice(5).map(codeOf), JSON.stringify(first)).to.deep.equal(Array(21).fill('UNAUTHENTICATED'));
    expect(first.slice(0, 5).map(codeOf), JSON.stringify(first)).to.deep.equal(Array(5).fill('TOO_MANY_REQUESTS'));
    await held.done;
    // Having failed, no browser and not the office address jumps the line any more — the right password included — and the refusal
    // says to come back in a few seconds.
    held = await holdTheLine();
    const second = await Promise.all([...kept.map((browser) => signInWith(browser, 'guess-3')), signInWith(kept[0], PASSWORD), signInFrom('192.168.6.6', 'insider', PASSWORD)]);
    expect(second.map(codeOf), JSON.stringify(second)).to.deep.equal(Array(22).fill('TOO_MANY_REQUESTS'));
    for (const refusal of second.slice(20)) {
      expect(refusal.errors?.[0].extensions).to.include({ reason: 'SIGN_IN_BUSY' });
      expect(refusal.errors?.[0].message).to.match(/^Слишком много попыток входа на сервер \(защита от подбора паролей\): ваш пароль ещё не проверен — повторите через \d+ с$/);
    }
    await held.done;
    // The line free: a forgotten browser's failures count against its address, not against a device of its own.
    const codes: unknown[] = [];
    for (const browser of forgotten) codes.push(codeOf(await signInWith(browser, 'guess-4')));
    expect(codes).to.deep.equal([...Array(4).fill('UNAUTHENTICATED'), 'TOO_MANY_REQUESTS']);
    expect(codeOf(await signInFrom('10.78.1.1', 'insider', PASSWORD))).to.equal('TOO_MANY_REQUESTS');
    expect(codeOf(await signInWith(kept[0], PASSWORD))).to.equal('SIGNED_IN');
  });
});

describe('sign-in behind a trusted proxy (API)', function () {
  this.timeout(60_000);
  let server: RunningServer;

  before(async () => {
    server = await startTestServer({ TRUST_PROXY: 'true' });
  });
  after(async () => {
    await server?.stop();
  });

  it('uses X-Forwarded-For for the allow-list when TRUST_PROXY is set', async () => {
    const admin = await signedIn(server);
    const departmentId = (await admin.data<{ departments: { id: string }[] }>('{ departments { id } }')).departments[0].id;
    await admin.data('mutation($input: CreateUserInput!) { createUser(input: $input) { id } }', {
      input: { login: 'gleb', fullName: 'Глеб', password: PASSWORD, departmentId, ipAllowList: ['10.20.0.0/16'] },
    });
    const inside = await new ApiClient(server.url, { 'x-forwarded-for': '10.20.1.5' }).request(SIGN_IN, { login: 'gleb', password: PASSWORD });
    expect(inside.errors).to.equal(undefined);
    const outside = await new ApiClient(server.url, { 'x-forwarded-for': '203.0.113.9' }).request(SIGN_IN, { login: 'gleb', password: PASSWORD });
    expect(outside.errors?.[0].message).to.equal('Вход с адреса 203.0.113.9 запрещён для этой учётной записи');
    expect(mongoose.connection.readyState).to.equal(1);
  });

  it('trusts only the proxy’s entry: an address the client put in front does not pass the allow-list', async () => {
    const spoofed = await new ApiClient(server.url, { 'x-forwarded-for': '10.20.1.5, 203.0.113.9' }).request(SIGN_IN, { login: 'gleb', password: PASSWORD });
    expect(spoofed.errors?.[0].message).to.equal('Вход с адреса 203.0.113.9 запрещён для этой учётной записи');
  });

  it('counts failures against the real address whatever the client writes in front', async () => {
    // 21 failures from one address (20 allowed), each pretending to come from another one.
    const results = await Promise.all(
      Array.from({ length: 21 }, (_, attempt) =>
        new ApiClient(server.url, { 'x-forwarded-for': `192.0.2.${attempt}, 203.0.113.50` }).request(SIGN_IN, { login: `nobody-${attempt}`, password: 'wrong-password' }),
      ),
    );
    expect(results.filter((result) => result.errors?.[0].extensions?.code === 'TOO_MANY_REQUESTS').length).to.be.at.least(1);
  });
});

describe('sign-in behind two trusted proxies (API)', function () {
  this.timeout(60_000);
  let server: RunningServer;

  before(async () => {
    server = await startTestServer({ TRUST_PROXY: 'true', TRUST_PROXY_HOPS: '2' });
  });
  after(async () => {
    await server?.stop();
  });

  it('takes the client address two entries from the right of X-Forwarded-For', async () => {
    const admin = await signedIn(server);
    const departmentId = (await admin.data<{ departments: { id: string }[] }>('{ departments { id } }')).departments[0].id;
    await admin.data('mutation($input: CreateUserInput!) { createUser(input: $input) { id } }', {
      input: { login: 'gleb', fullName: 'Глеб', password: PASSWORD, departmentId, ipAllowList: ['10.20.0.0/16'] },
    });
    const inside = await new ApiClient(server.url, { 'x-forwarded-for': '203.0.113.9, 10.20.1.5, 172.16.0.2' }).request(SIGN_IN, { login: 'gleb', password: PASSWORD });
    expect(inside.errors).to.equal(undefined);
    const outside = await new ApiClient(server.url, { 'x-forwarded-for': '10.20.1.5, 203.0.113.9, 172.16.0.2' }).request(SIGN_IN, { login: 'gleb', password: PASSWORD });
    expect(outside.errors?.[0].message).to.equal('Вход с адреса 203.0.113.9 запрещён для этой учётной записи');
  });
});
