import { expect } from 'chai';
import mongoose from 'mongoose';
import type { RunningServer } from '../../server/src/server';
import type { ApiClient } from '../support/api-client';
import { createCorrespondents, createFolder, setFolderAccess } from '../support/fixtures';
import { downloadFile, pdfWithText, uploadFile } from '../support/files';
import { signedIn, startTestServer } from '../support/server';

const PASSWORD = 'secret-password-1';
const CREATE = 'mutation($f: ID!, $t: String!, $v: JSON!) { createCard(folderId: $f, typeKey: $t, values: $v) { id values } }';

/** An administrator's type with one file field of any type. */
const noteType = {
  key: 'note',
  names: { ru: 'Заметка', en: 'Note' },
  titleTemplate: '{title}',
  historyEnabled: false,
  origin: 'admin',
  fields: [
    { key: 'title', kind: 'string', label: { ru: 'Тема', en: 'Subject' }, required: true, listed: true },
    { key: 'attachment', kind: 'file', label: { ru: 'Вложение', en: 'Attachment' }, max: 1 },
  ],
};

describe('files on cards under attack (API)', function () {
  this.timeout(180_000);
  let server: RunningServer;
  let admin: ApiClient;
  let editor: ApiClient;
  let folderId: string;

  const uploaded = async (client: ApiClient, file: { name: string; content: Buffer }) => {
    const answer = await uploadFile(client, server.url, { folderId, typeKey: 'note', field: 'attachment' }, file);
    expect(answer.status, JSON.stringify(answer.body)).to.equal(201);
    return answer.body.file!;
  };

  before(async () => {
    server = await startTestServer();
    admin = await signedIn(server);
    const scenario = await createCorrespondents(admin, PASSWORD, [{ login: 'editor', fullName: 'Татьяна Гончаренко', level: 'edit' }]);
    await admin.data('mutation($d: CardTypeInput!) { createCardType(definition: $d) { key } }', { d: noteType });
    folderId = await createFolder(admin, { libraryId: scenario.libraryId, name: 'Заметки', allowedCardTypes: ['note'] });
    await setFolderAccess(admin, folderId, [{ principalId: scenario.userIds.editor, level: 'edit' }]);
    editor = await signedIn(server, 'editor', PASSWORD);
  });
  after(async () => {
    await server?.stop();
  });

  it('attaches one upload to one card only when two saves race for it: the other is refused at the field', async () => {
    const pdf = await pdfWithText('race');
    for (let attempt = 0; attempt < 6; attempt += 1) {
      const file = await uploaded(editor, { name: `race-${attempt}.pdf`, content: pdf });
      const answers = await Promise.all(
        ['A', 'B'].map((side) => editor.request<{ createCard: { id: string } }>(CREATE, { f: folderId, t: 'note', v: { title: `${side}${attempt}`, attachment: file.id } })),
      );
      const saved = answers.filter((answer) => answer.data?.createCard);
      const refused = answers.filter((answer) => answer.errors);
      expect(saved, `attempt ${attempt}: ${JSON.stringify(answers)}`).to.have.length(1);
      expect(refused[0].errors![0].extensions).to.deep.equal({
        code: 'BAD_USER_INPUT',
        fields: { attachment: 'Файл не найден или уже прикреплён к другой карточке: загрузите его снова' },
      });
      // Only the winner holds the file; the refused save left no card behind.
      const holders = await editor.data<{ cards: { totalCount: number; edges: { node: { id: string; values: { attachment?: string } } }[] } }>(
        'query($f: ID!) { cards(folderId: $f, first: 100) { totalCount edges { node { id values } } } }',
        { f: folderId },
      );
      const holding = holders.cards.edges.filter((edge) => edge.node.values.attachment === file.id).map((edge) => edge.node.id);
      expect(holding).to.deep.equal([saved[0].data!.createCard.id]);
      expect(holders.cards.totalCount).to.equal(attempt + 1);
    }
  });

  it('keeps file names free of direction overrides and control characters, stored and in Content-Disposition', async () => {
    const pdf = await pdfWithText('names');
    // «счёт<RLO>fdp.exe» shows as «счётexe.pdf» in a file manager.
    const file = await uploaded(editor, { name: 'счёт\u202efdp.exe', content: pdf });
    expect(file.name).to.equal('счётfdp.exe');
    const mixed = await uploaded(editor, { name: 'a\u0085b\u2066c\u2069\u200fd.pdf', content: pdf });
    expect(mixed.name).to.equal('abcd.pdf');
    // A C0 control in a part's header makes the form malformed: refused at the file, not a server error.
    const malformed = await uploadFile(editor, server.url, { folderId, typeKey: 'note', field: 'attachment' }, { name: 'bell\u0007.pdf', content: pdf });
    expect(malformed.status).to.equal(400);
    expect(malformed.body.errors?.[0].extensions).to.deep.equal({ code: 'BAD_USER_INPUT', fields: { file: 'Форма загрузки повреждена: выберите файл снова' } });
    expect((await fetch(`${server.url}/healthz`)).status).to.equal(200);
    await editor.data(CREATE, { f: folderId, t: 'note', v: { title: 'Имена', attachment: file.id } });
    // A name stored before names were cleaned is cleaned on the way out.
    await mongoose.connection.db!.collection('files').updateOne({ _id: new mongoose.Types.ObjectId(file.id) }, { $set: { name: 'old\u202Egpj.exe\r\n' } });
    const served = await downloadFile(admin, server.url, file.url);
    expect(served.status).to.equal(200);
    expect(served.headers.get('content-disposition')).to.equal(`attachment; filename="oldgpj.exe"`);
  });
});
