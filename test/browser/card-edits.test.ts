import { expect } from 'chai';
import { DEMO_PASSWORD } from '../../seeds/demo';
import type { ApiClient } from '../support/api-client';
import { describeInBrowser, screenshot } from '../support/browser';
import { signedIn } from '../support/server';
import { startDemoSuite, stopDemoSuite, type DemoSuite } from './ui';

const CARD = 'query($id: ID!) { card(id: $id) { version values } }';
const EDIT = 'mutation($id: ID!, $version: Int!, $v: JSON!) { updateCard(id: $id, version: $version, values: $v) { version } }';

/** Татьяна edits a counterparty while Наталья changes it too; and a card new to Татьяна stops being new once she saved it. */
describeInBrowser('editing a card someone else changes meanwhile (browser)', function () {
  this.timeout(180_000);
  let suite: DemoSuite;
  let natalia: ApiClient;
  let folderId: string;

  const values = async (id: string) => (await suite.admin.data<{ card: { values: Record<string, unknown> } }>(CARD, { id })).card.values;
  const nataliaEdits = async (id: string, changes: Record<string, unknown>) => {
    const { version } = (await natalia.data<{ card: { version: number } }>(CARD, { id })).card;
    await natalia.data(EDIT, { id, version, v: changes });
  };
  const created = async (name: string) =>
    (
      await suite.admin.data<{ createCard: { id: string } }>('mutation($f: ID!, $v: JSON!) { createCard(folderId: $f, typeKey: "counterparty", values: $v) { id } }', {
        f: folderId,
        v: { name, notes: 'старое' },
      })
    ).createCard.id;
  const openForEditing = async (id: string) => {
    await suite.page.goto(`${suite.server.url}/folders/${folderId}/cards/${id}`);
    await suite.page.getByTestId('edit').click();
    await suite.page.getByTestId('card-form').waitFor();
  };

  before(async () => {
    suite = await startDemoSuite('tgoncharenko');
    natalia = await signedIn(suite.server, 'nvakulenko', DEMO_PASSWORD);
    folderId = suite.folderIds['Корреспонденты'];
  });
  after(async () => {
    await stopDemoSuite(suite);
  });

  it('the conflict dialog lists only the field both changed; the field only Татьяна changed and Наталья’s phone are both kept', async () => {
    const id = await created('ООО «Омега»');
    await openForEditing(id);
    await nataliaEdits(id, { phone: '+7 495 999-88-77', notes: 'от Натальи' });
    await suite.page.getByTestId('input-name').fill('ООО «Омега-М»');
    await suite.page.getByTestId('input-notes').fill('от Татьяны');
    await suite.page.getByTestId('save').click();
    const dialog = suite.page.getByTestId('conflict-dialog');
    await dialog.waitFor();
    expect(await dialog.locator('[data-test^="conflict-"]').evaluateAll((rows) => rows.map((row) => row.getAttribute('data-test')))).to.deep.equal([
      'conflict-notes',
      'conflict-apply',
    ]);
    await screenshot(suite.page, 'card-edits-1-conflict');
    await dialog.getByTestId('keep-mine-notes').check();
    await dialog.getByTestId('conflict-apply').click();
    await suite.page.getByTestId('card-title').filter({ hasText: 'ООО «Омега-М»' }).waitFor();
    expect(await values(id)).to.include({ name: 'ООО «Омега-М»', notes: 'от Татьяны', phone: '+7 495 999 88 77' });
  });

  it('when Наталья changed only other fields, Татьяна’s save goes on top of hers without asking', async () => {
    const id = await created('ООО «Сигма»');
    await openForEditing(id);
    await nataliaEdits(id, { phone: '+7 495 111-22-33' });
    await suite.page.getByTestId('input-notes').fill('уточнено');
    await suite.page.getByTestId('save').click();
    await suite.page.getByTestId('edit').waitFor();
    expect(await suite.page.getByTestId('conflict-dialog').count()).to.equal(0);
    expect(await values(id)).to.include({ name: 'ООО «Сигма»', notes: 'уточнено', phone: '+7 495 111 22 33' });
  });

  it('«Новая для вас карточка» goes once Татьяна saved the card', async () => {
    const id = await created('ООО «Дзета»');
    await suite.page.goto(`${suite.server.url}/folders/${folderId}/cards/${id}`);
    await suite.page.getByTestId('card-new').waitFor();
    await suite.page.getByTestId('edit').click();
    await suite.page.getByTestId('input-notes').fill('прочитано и дополнено');
    await suite.page.getByTestId('save').click();
    await suite.page.getByTestId('edit').waitFor();
    expect(await suite.page.getByTestId('card-new').count()).to.equal(0);
  });
});
