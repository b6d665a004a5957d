import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import mongoose from 'mongoose';
import sharp from 'sharp';
import type { RunningServer } from '../../server/src/server';
import type { ApiClient } from '../support/api-client';
import { createCorrespondents, createFolder, setFolderAccess } from '../support/fixtures';
import { downloadFile, memoType, uploadFile } from '../support/files';
import { signedIn, startTestServer } from '../support/server';

const PASSWORD = 'secret-password-1';
const CREATE = 'mutation($f: ID!, $t: String!, $v: JSON!) { createCard(folderId: $f, typeKey: $t, values: $v) { id } }';
const CACHE_BYTES = 1024 * 1024;

/** A PNG of noise, `px` square: its thumbnail does not compress (about 100 KB of JPEG). */
const noise = (px: number) =>
  sharp(randomBytes(px * px * 3), { raw: { width: px, height: px, channels: 3 } })
    .png()
    .toBuffer();

describe('files: copies made for viewing are a bounded cache, not anyone’s quota (API)', function () {
  this.timeout(300_000);
  let server: RunningServer;
  let editor: ApiClient;
  let reader: ApiClient;
  let folderId: string;

  const db = () => mongoose.connection.db!;
  const id = (text: string) => new mongoose.Types.ObjectId(text);
  /** The thumbnails kept on these versions (their ids, and the versions holding one), and the bytes they hold in the storage. */
  const kept = async (ids: string[]) => {
    const versions = await db()
      .collection<{ _id: mongoose.Types.ObjectId; renditions?: { thumbnail?: mongoose.Types.ObjectId | null } }>('files')
      .find({ _id: { $in: ids.map(id) } })
      .toArray();
    const holding = versions.filter((version) => version.renditions?.thumbnail);
    const copies = holding.map((version) => version.renditions!.thumbnail!);
    const stored = await db()
      .collection<{ length: number }>('fs.files')
      .find({ _id: { $in: copies } })
      .toArray();
    return { count: copies.length, bytes: stored.reduce((sum, file) => sum + file.length, 0), copies: copies.map(String), files: holding.map((version) => String(version._id)) };
  };
  const thumbnail = async (url: string) => {
    const answer = await downloadFile(reader, server.url, `${url}/thumbnail`);
    expect([answer.status, answer.headers.get('content-type')]).to.deep.equal([200, 'image/jpeg']);
    return answer.bytes.length;
  };

  before(async () => {
    server = await startTestServer({ FILE_PREVIEW_CACHE_MB: '1' });
    const admin = await signedIn(server);
    const scenario = await createCorrespondents(admin, PASSWORD, [
      { login: 'editor', fullName: 'Татьяна Гончаренко', level: 'edit' },
      { login: 'reader', fullName: 'Наталья Вакуленко', level: 'read' },
    ]);
    await admin.data('mutation($d: CardTypeInput!) { createCardType(definition: $d) { key } }', { d: memoType });
    folderId = await createFolder(admin, { libraryId: scenario.libraryId, name: 'Фото', allowedCardTypes: ['memo'] });
    await setFolderAccess(admin, folderId, [
      { principalId: scenario.userIds.editor, level: 'edit' },
      { principalId: scenario.userIds.reader, level: 'read' },
    ]);
    editor = await signedIn(server, 'editor', PASSWORD);
    reader = await signedIn(server, 'reader', PASSWORD);
  });
  after(async () => {
    await server?.stop();
  });

  it('keeps thumbnails within the cache’s bound, outside the uploader’s quota; makes room from copies not used lately, and serves a copy it cannot keep', async () => {
    const used = async () => (await editor.data<{ fileQuota: { usedBytes: number } }>('query { fileQuota { usedBytes } }')).fileQuota.usedBytes;
    const files: { id: string; url: string }[] = [];
    let uploadedBytes = 0;
    for (let index = 0; index < 14; index += 1) {
      const content = await noise(480);
      const answer = await uploadFile(editor, server.url, { folderId, typeKey: 'memo', field: 'attachment' }, { name: `шум-${index}.png`, content });
      expect(answer.status, JSON.stringify(answer.body)).to.equal(201);
      await editor.data(CREATE, { f: folderId, t: 'memo', v: { title: `Шум ${index}`, attachment: answer.body.file!.id } });
      files.push(answer.body.file!);
      uploadedBytes += content.length;
    }
    const quotaBefore = await used();
    let served = 0;
    for (const file of files) served += await thumbnail(file.url);
    // More than the cache holds was viewed: every thumbnail was served, those that fit were kept, none counts in the uploader's quota.
    expect(served).to.be.above(CACHE_BYTES);
    const first = await kept(files.map((file) => file.id));
    expect(first.bytes)
      .to.be.at.most(CACHE_BYTES)
      .and.above(CACHE_BYTES / 2);
    expect(first.count).to.be.below(files.length);
    expect([await used(), quotaBefore]).to.deep.equal([quotaBefore, quotaBefore]);
    expect(quotaBefore).to.be.at.least(uploadedBytes);

    // An hour later the kept thumbnails are old: viewing one not kept makes room from the ones used longest ago.
    await db()
      .collection('previewcache')
      .updateMany({}, { $set: { usedAt: new Date(Date.now() - 3600_000) } });
    const later = files.find((file) => !first.files.includes(file.id))!;
    await thumbnail(later.url);
    const second = await kept(files.map((file) => file.id));
    expect(second.bytes).to.be.at.most(CACHE_BYTES);
    expect(second.files, 'the viewed thumbnail is kept now').to.include(later.id);
    // What was removed to make room is gone from the storage too, and is made again when viewed.
    const evicted = first.copies.filter((copy) => !second.copies.includes(copy));
    expect(evicted.length).to.be.above(0);
    expect(
      await db()
        .collection('fs.files')
        .countDocuments({ _id: { $in: evicted.map(id) } }),
    ).to.equal(0);
    const total = await db().collection<{ _id: string; bytes: number }>('previewcachetotal').findOne({ _id: 'total' });
    expect(total?.bytes).to.equal(second.bytes);
    const again = files.find((file) => first.files.includes(file.id) && !second.files.includes(file.id))!;
    await thumbnail(again.url);
  });
});
