import { expect } from 'chai';
import ExcelJS from 'exceljs';
import iconv from 'iconv-lite';
import JSZip from 'jszip';
import type { RunningServer } from '../../server/src/server';
import type { ApiClient } from '../support/api-client';
import { databaseCommandsDuring } from '../support/commands';
import { createCorrespondents, createFolder, createLibrary, setFolderAccess } from '../support/fixtures';
import { signedIn, startTestServer } from '../support/server';
import { waitFor } from '../support/wait';
import { sheetRows } from '../support/xlsx';
import { SseSubscription } from '../support/sse';
import { importFailureText, importJob, type ImportParams, type ImportResult } from '../../server/src/transfer/import';
import { undoImportJob } from '../../server/src/transfer/undo';
import { undoKey } from '../../server/src/transfer/model';
import { Job } from '../../server/src/jobs/model';
import { failJobsAt, holdBatchInside, holdJobs } from '../support/held-jobs';
import { JobInterrupted } from '../../server/src/jobs/runner';
import { createLogger } from '../../server/src/logger';
import { loadConfig } from '../../server/src/config';
import mongoose, { Types } from 'mongoose';
import { findFile } from '../../server/src/transfer/files';
import { Card } from '../../server/src/cards/model';
import { withPart } from '../support/zip';

const PASSWORD = 'secret-password-1';

type Job = { id: string; state: string; progress: { done: number; total: number | null }; result: ImportResult | null; error: string | null };
type Inspection = {
  uploadId: string;
  format: string;
  encoding: string | null;
  delimiter: string | null;
  headerRow: number;
  sheets: string[];
  columns: { name: string; samples: string[]; links: (string | null)[] }[];
  mapping: { columns: (string | null)[]; constants: { field: string; value: string }[]; matchField: string | null; onMatch: string };
};
type Mapping = { columns: (string | null)[]; constants?: { field: string; value: string }[]; matchField?: string | null; onMatch: string };

const JOB_FIELDS = 'id state progress { done total } result error';
const INSPECT = `query($input: ImportSettingsInput!) { importInspection(input: $input) {
  uploadId format encoding delimiter headerRow sheets columns { name samples links } mapping { columns constants { field value } matchField onMatch } } }`;
const START = `mutation($input: ImportSettingsInput!, $mapping: ImportMappingInput!, $dryRun: Boolean!) { startImport(input: $input, mapping: $mapping, dryRun: $dryRun) { ${JOB_FIELDS} } }`;

async function upload(server: RunningServer, client: ApiClient, name: string, content: Buffer): Promise<{ status: number; body: { id?: string; code?: string; error?: string } }> {
  const response = await fetch(`${server.url}/transfer/uploads?name=${encodeURIComponent(name)}`, {
    method: 'POST',
    headers: { 'content-type': 'application/octet-stream', cookie: client.cookieHeader() },
    body: new Uint8Array(content),
  });
  return { status: response.status, body: (await response.json()) as { id?: string } };
}

async function finishedJob(client: ApiClient, id: string): Promise<Job> {
  let job: Job | null = null;
  await waitFor(
    async () => {
      job = (await client.data<{ job: Job }>(`query($id: ID!) { job(id: $id) { ${JOB_FIELDS} } }`, { id })).job;
      return ['succeeded', 'failed', 'cancelled'].includes(job.state);
    },
    `import job ${id} to finish`,
    60_000,
  );
  return job!;
}

/** Uploads, inspects and runs an import (a dry run when asked) to its end; returns the inspection and the finished job. */
async function importFile(
  server: RunningServer,
  client: ApiClient,
  file: { name: string; content: Buffer },
  target: { folderId: string; typeKey: string; encoding?: string },
  mapping: (inspection: Inspection) => Mapping,
  dryRun = false,
): Promise<{ inspection: Inspection; job: Job }> {
  const uploaded = await upload(server, client, file.name, file.content);
  expect(uploaded.status, JSON.stringify(uploaded.body)).to.equal(201);
  const input = { uploadId: uploaded.body.id, ...target };
  const inspection = (await client.data<{ importInspection: Inspection }>(INSPECT, { input })).importInspection;
  const started = (await client.data<{ startImport: Job }>(START, { input, mapping: mapping(inspection), dryRun })).startImport;
  return { inspection, job: await finishedJob(client, started.id) };
}

type CardNode = { id: string; title: string; typeKey: string; values: Record<string, unknown> };
async function folderCards(client: ApiClient, folderId: string): Promise<CardNode[]> {
  const data = await client.data<{ cards: { edges: { node: CardNode }[] } }>(
    'query($f: ID!) { cards(folderId: $f, first: 200, sortBy: "title") { edges { node { id title typeKey values } } } }',
    { f: folderId },
  );
  return data.cards.edges.map((edge) => edge.node);
}

const asIs = (inspection: Inspection): Mapping => ({ ...inspection.mapping, constants: inspection.mapping.constants });

async function download(server: RunningServer, client: ApiClient, path: string): Promise<{ status: number; type: string; body: Buffer }> {
  const response = await fetch(`${server.url}${path}`, { headers: { cookie: client.cookieHeader() } });
  return { status: response.status, type: response.headers.get('content-type') ?? '', body: Buffer.from(await response.arrayBuffer()) };
}

describe('import and export (API)', function () {
  this.timeout(120_000);
  let server: RunningServer;
  let admin: ApiClient;
  let tanya: ApiClient;
  let natasha: ApiClient;
  let folderId: string;
  let libraryId: string;
  let userIds: Record<string, string>;

  before(async () => {
    server = await startTestServer({}, { monitorCommands: true });
    admin = await signedIn(server);
    ({ folderId, libraryId, userIds } = await createCorrespondents(admin, PASSWORD, [
      { login: 'tanya', fullName: 'Татьяна Гончаренко', level: 'full' },
      { login: 'natasha', fullName: 'Наталья Вакуленко', level: 'read' },
    ]));
    tanya = await signedIn(server, 'tanya', PASSWORD);
    natasha = await signedIn(server, 'natasha', PASSWORD);
    await admin.data('mutation { setCardTypeHistory(typeKey: "counterparty", enabled: true) { key } }');
  });
  after(async () => {
    await server?.stop();
  });

  it('imports a Windows-1251 CSV with «;»: guessed mapping, a dry run that writes nothing, then the import with history, unread marks and audit', async () => {
    const csv = [
      'Наименование;ИНН;Телефон;E-mail',
      'ООО «Кассиопея»;7707083893;+7 (495) 123-45-67;info@cassiopeia.ru',
      'ИП Ёлкин;500100732259;8 916 000 11 22;',
      'АО «Ошибка»;7728168971;;не-почта',
      ';;;',
    ].join('\r\n');
    const file = { name: 'клиенты.csv', content: iconv.encode(csv, 'windows-1251') };
    const withTag = (inspection: Inspection): Mapping => ({ ...asIs(inspection), constants: [{ field: 'tags', value: 'импорт 2026-11' }] });

    const dry = await importFile(server, tanya, file, { folderId, typeKey: 'counterparty' }, withTag, true);
    expect(dry.inspection.encoding).to.equal('windows-1251');
    expect(dry.inspection.delimiter).to.equal(';');
    expect(dry.inspection.columns.map((column) => column.name)).to.deep.equal(['Наименование', 'ИНН', 'Телефон', 'E-mail']);
    expect(dry.inspection.mapping.columns).to.deep.equal(['name', 'inn', 'phone', 'email']);
    expect(dry.job.state, dry.job.error ?? '').to.equal('succeeded');
    const planned = dry.job.result!;
    expect(planned).to.include({ dryRun: true, total: 3, created: 2, updated: 0, skipped: 0, refused: 1 });
    expect(planned.preview.map((row) => [row.row, row.outcome, row.values.name])).to.deep.equal([
      [2, 'created', 'ООО «Кассиопея»'],
      [3, 'created', 'ИП Ёлкин'],
      [4, 'refused', 'АО «Ошибка»'],
    ]);
    expect(planned.preview[0].values.tags).to.contain('импорт 2026-11');
    // A refused row shows what the file holds, so the user knows which client it is (s13 user U6).
    expect(planned.preview[2].values).to.deep.equal({ name: 'АО «Ошибка»', inn: '7728168971', email: 'не-почта' });
    expect(planned.refusedRows).to.have.length(1);
    expect(planned.refusedRows[0].row).to.equal(4);
    expect(planned.refusedRows[0].problems[0].column).to.equal('E-mail');
    expect(planned.refusedRows[0].problems[0].message).to.match(/e-mail/i);
    // The same result, typed by the schema (what the client reads).
    const typed = await tanya.data<{
      job: {
        importResult: {
          dryRun: boolean;
          created: number;
          preview: { row: number; outcome: string; values: { field: string; text: string }[] }[];
          refusedRows: { row: number; problems: { column: string | null }[] }[];
        };
      };
    }>(
      `query($id: ID!) { job(id: $id) { importResult { dryRun created preview { row outcome values { field text } } refusedRows { row problems { column } } } importUndoResult { kept } } }`,
      { id: dry.job.id },
    );
    expect(typed.job).to.deep.include({ importUndoResult: null });
    expect(typed.job.importResult).to.deep.include({ dryRun: true, created: 2, refusedRows: [{ row: 4, problems: [{ column: 'E-mail' }] }] });
    expect(typed.job.importResult.preview[0].values).to.deep.include({ field: 'name', text: 'ООО «Кассиопея»' });
    expect(await folderCards(tanya, folderId)).to.deep.equal([]);

    const run = await importFile(server, tanya, file, { folderId, typeKey: 'counterparty' }, withTag);
    expect(run.job.state, run.job.error ?? '').to.equal('succeeded');
    expect(run.job.result).to.include({ dryRun: false, created: 2, refused: 1 });
    const cards = await folderCards(tanya, folderId);
    expect(cards.map((card) => card.title)).to.deep.equal(['ИП Ёлкин', 'ООО «Кассиопея»']);
    const cassiopeia = cards.find((card) => card.title === 'ООО «Кассиопея»')!;
    expect(cassiopeia.values).to.include({ inn: '7707083893', email: 'info@cassiopeia.ru' });
    expect(cassiopeia.values.tags).to.deep.equal(['импорт 2026-11']);

    const history = await admin.data<{ cardHistory: { edges: { node: { action: string; via: string | null; actorName: string } }[] } }>(
      'query($id: ID!) { cardHistory(cardId: $id) { edges { node { action via actorName } } } }',
      { id: cassiopeia.id },
    );
    expect(history.cardHistory.edges.map((edge) => edge.node)).to.deep.equal([{ action: 'create', via: 'import', actorName: 'Татьяна Гончаренко' }]);

    const unread = await natasha.data<{ unreadCounts: { folderId: string; count: number }[] }>('{ unreadCounts { folderId count } }');
    expect(unread.unreadCounts).to.deep.include({ folderId, count: 2 });

    const audit = await admin.data<{ auditLog: { edges: { node: { kind: string; actorLogin: string; summary: string } }[] } }>(
      '{ auditLog(kind: "cards-imported") { edges { node { kind actorLogin summary } } } }',
    );
    expect(audit.auditLog.edges.map((edge) => edge.node.actorLogin)).to.deep.equal(['tanya']);
    expect(audit.auditLog.edges[0].node.summary).to.contain('клиенты.csv').and.contain('создано 2').and.contain('отклонено 1');

    // The refused row comes back as a spreadsheet with the reason, to fix and import again.
    const report = await download(server, tanya, `/transfer/imports/${run.job.id}/refused.xlsx`);
    expect(report.status).to.equal(200);
    const reportRows = await sheetRows(report.body);
    expect(reportRows[0]).to.deep.equal(['Наименование', 'ИНН', 'Телефон', 'E-mail', 'Строка файла', 'Причина']);
    expect(reportRows[1].slice(0, 2)).to.deep.equal(['АО «Ошибка»', '7728168971']);
    expect(String(reportRows[1][5])).to.match(/^E-mail: /);
    expect((await download(server, natasha, `/transfer/imports/${run.job.id}/refused.xlsx`)).status).to.equal(404);
  });

  it('matches rows by INN: skips, fills only empty fields, or overwrites; a repeated INN in the file is refused, the other rows go on', async () => {
    const matchFolder = await createFolder(admin, { libraryId, name: 'Сопоставление', allowedCardTypes: ['counterparty'] });
    await setFolderAccess(admin, matchFolder, [{ principalId: userIds.tanya, level: 'full' }]);
    const first = Buffer.from('\uFEFFИНН,Наименование,Примечания\n7736207543,Яндекс,\n7702070139,ВТБ,банк\n', 'utf8');
    const created = await importFile(server, tanya, { name: 'a.csv', content: first }, { folderId: matchFolder, typeKey: 'counterparty' }, asIs);
    expect(created.inspection.encoding).to.equal('utf-8');
    expect(created.inspection.delimiter).to.equal(',');
    expect(created.job.result).to.include({ created: 2 });

    const second = Buffer.from(
      'ИНН\tНаименование\tПримечания\n7736207543\tЯндекс (новое)\tпоиск\n7702070139\tВТБ (новое)\tновое\n7707049388\tРостелеком\t\n7707049388\tРостелеком-2\t\n',
      'utf8',
    );
    const byInn =
      (policy: string) =>
      (inspection: Inspection): Mapping => ({ ...asIs(inspection), matchField: 'inn', onMatch: policy });
    const skipped = await importFile(server, tanya, { name: 'b.csv', content: second }, { folderId: matchFolder, typeKey: 'counterparty' }, byInn('skip'));
    expect(skipped.inspection.delimiter).to.equal('\t');
    expect(skipped.job.result).to.include({ created: 1, skipped: 2, updated: 0, refused: 1 });
    expect(skipped.job.result!.refusedRows[0]).to.deep.equal({ row: 5, problems: [{ column: 'ИНН', message: 'То же значение, что в строке 4' }] });
    // The report names the column once, beside the message (s13 user U2: «ИНН: ИНН: то же значение…»).
    const skippedReport = await sheetRows((await download(server, tanya, `/transfer/imports/${skipped.job.id}/refused.xlsx`)).body);
    expect(skippedReport[1].slice(-2)).to.deep.equal([5, 'ИНН: То же значение, что в строке 4']);

    const filled = await importFile(server, tanya, { name: 'b.csv', content: second }, { folderId: matchFolder, typeKey: 'counterparty' }, byInn('fillEmpty'));
    expect(filled.job.result).to.include({ created: 0, updated: 1 });
    let cards = await folderCards(tanya, matchFolder);
    expect(cards.find((card) => card.values.inn === '7736207543')!.values).to.include({ name: 'Яндекс', notes: 'поиск' });
    expect(cards.find((card) => card.values.inn === '7702070139')!.values).to.include({ name: 'ВТБ', notes: 'банк' });

    const overwritten = await importFile(server, tanya, { name: 'b.csv', content: second }, { folderId: matchFolder, typeKey: 'counterparty' }, byInn('overwrite'));
    // Both rows with the Rostelecom INN now match the card the first of them created: the last one wins.
    expect(overwritten.job.result).to.include({ created: 0, updated: 3, skipped: 1 });
    cards = await folderCards(tanya, matchFolder);
    expect(cards.find((card) => card.values.inn === '7702070139')!.values).to.include({ name: 'ВТБ (новое)', notes: 'новое' });
    expect(cards.find((card) => card.values.inn === '7707049388')!.values).to.include({ name: 'Ростелеком-2' });
  });

  it('matches only in the import’s folder unless asked: a card of another folder with the INN refuses the row, naming its folder; asked, it is updated and the result names where', async () => {
    const elsewhere = await createFolder(admin, { libraryId, name: 'Старая база', allowedCardTypes: ['counterparty'] });
    const target = await createFolder(admin, { libraryId, name: 'Филиалы', allowedCardTypes: ['counterparty'] });
    await setFolderAccess(admin, elsewhere, [{ principalId: userIds.tanya, level: 'full' }]);
    await setFolderAccess(admin, target, [{ principalId: userIds.tanya, level: 'full' }]);
    await admin.data('mutation($f: ID!) { createCard(folderId: $f, typeKey: "counterparty", values: { name: "ООО «Меридиан»", inn: "7704357909" }) { id } }', { f: elsewhere });
    await admin.data('mutation($f: ID!) { createCard(folderId: $f, typeKey: "counterparty", values: { name: "ООО «Своя»", inn: "7704217370" }) { id } }', { f: target });
    const file = { name: 'филиалы.csv', content: Buffer.from('ИНН;Наименование\n7704357909;ООО «Байкал»\n7704217370;ООО «Своя» (новое)\n7703000014;ООО «Новая»\n') };
    const overwrite =
      (matchOtherFolders?: boolean) =>
      (inspection: Inspection): Mapping => ({ ...asIs(inspection), matchField: 'inn', onMatch: 'overwrite', ...(matchOtherFolders !== undefined && { matchOtherFolders }) });

    // The default: only «Филиалы» is looked in; the row of the card in «Старая база» is refused, naming it.
    for (const dryRun of [true, false]) {
      const { inspection, job } = await importFile(server, tanya, file, { folderId: target, typeKey: 'counterparty' }, overwrite(), dryRun);
      expect(inspection.mapping).to.include({ matchField: 'inn' });
      expect(job.result, job.error ?? '').to.include({ created: 1, updated: 1, refused: 1 });
      expect(job.result!.refusedRows).to.deep.equal([
        {
          row: 2,
          problems: [{ column: 'ИНН', message: 'Это значение уже у карточки «ООО «Меридиан»» в другой папке — «Старая база»; совпадения ищутся только в папке импорта' }],
        },
      ]);
      expect(job.result!.matchedFolders).to.deep.equal([
        { folderId: target, name: 'Филиалы', updated: 1, skipped: 0, refused: 0 },
        { folderId: elsewhere, name: 'Старая база', updated: 0, skipped: 0, refused: 1 },
      ]);
      expect(job.result!.preview.map((row) => [row.outcome, row.found?.folderName ?? null])).to.deep.equal([
        ['refused', 'Старая база'],
        ['updated', 'Филиалы'],
        ['created', null],
      ]);
    }
    expect((await folderCards(tanya, elsewhere)).map((card) => card.values.name)).to.deep.equal(['ООО «Меридиан»']);

    // Asked for: the card in «Старая база» is updated there, and the dry run and the result say so.
    for (const dryRun of [true, false]) {
      const { job } = await importFile(server, tanya, file, { folderId: target, typeKey: 'counterparty' }, overwrite(true), dryRun);
      expect(job.result, job.error ?? '').to.include({ created: 0, updated: 1, skipped: 2, refused: 0 });
      expect(job.result!.matchedFolders).to.deep.include({ folderId: elsewhere, name: 'Старая база', updated: 1, skipped: 0, refused: 0 });
      expect(job.result!.preview[0].found).to.deep.include({ title: 'ООО «Меридиан»', folderId: elsewhere, folderName: 'Старая база' });
    }
    expect((await folderCards(tanya, elsewhere)).map((card) => card.values.name)).to.deep.equal(['ООО «Байкал»']);
  });

  it('undoes an import: its new cards go to the trash, overwritten fields get their values back unless changed since', async () => {
    const undoFolder = await createFolder(admin, { libraryId, name: 'Отмена импорта', allowedCardTypes: ['counterparty'] });
    await setFolderAccess(admin, undoFolder, [{ principalId: userIds.tanya, level: 'full' }]);
    const target = { folderId: undoFolder, typeKey: 'counterparty' };
    await importFile(server, tanya, { name: 'проверка.csv', content: Buffer.from('ИНН;Наименование\n7725038124;Сбер\n') }, target, asIs, true);
    const firstImport = (
      await importFile(
        server,
        tanya,
        { name: 'a.csv', content: Buffer.from('ИНН;Наименование;Примечания\n7725038124;Сбер;\n7710140679;Т-Банк;банк\n7702000011;Ростелеком;\n') },
        target,
        asIs,
      )
    ).job;
    const second = Buffer.from('ИНН;Наименование;Примечания\n7725038124;Сбер (новое);заметка\n7710140679;Т-Банк (новое);новое\n7740000076;МТС;\n');
    const { job } = await importFile(server, tanya, { name: 'b.csv', content: second }, target, (inspection) => ({ ...asIs(inspection), matchField: 'inn', onMatch: 'overwrite' }));
    expect(job.result).to.include({ created: 1, updated: 2 });
    // Someone renames one card after the import: that change stays.
    const tbank = (await folderCards(tanya, undoFolder)).find((card) => card.values.inn === '7710140679')!;
    const { card: tbankNow } = await tanya.data<{ card: { version: number } }>('query($id: ID!) { card(id: $id) { version } }', { id: tbank.id });
    await tanya.data('mutation($id: ID!, $v: Int!, $values: JSON!) { updateCard(id: $id, version: $v, values: $values) { id } }', {
      id: tbank.id,
      v: tbankNow.version,
      values: { name: 'Т-Банк вручную' },
    });

    const UNDO = `mutation($id: ID!) { undoImport(importId: $id) { ${JOB_FIELDS} } }`;
    const undo = (await tanya.data<{ undoImport: Job }>(UNDO, { id: job.id })).undoImport;
    const undone = await finishedJob(tanya, undo.id);
    expect(undone.state, undone.error ?? '').to.equal('succeeded');
    expect(undone.result).to.deep.equal({ trashed: 1, restored: 2, restoredInPart: 1, kept: 0 });
    const typedUndo = await tanya.data<{ job: unknown }>(
      'query($id: ID!) { job(id: $id) { importResult { created } importUndoResult { trashed restored restoredInPart kept } } }',
      {
        id: undo.id,
      },
    );
    expect(typedUndo.job).to.deep.equal({ importResult: null, importUndoResult: { trashed: 1, restored: 2, restoredInPart: 1, kept: 0 } });
    const cards = await folderCards(tanya, undoFolder);
    expect(cards.map((card) => card.values.inn).sort()).to.deep.equal(['7702000011', '7710140679', '7725038124']);
    const sber = cards.find((card) => card.values.inn === '7725038124')!;
    expect(sber.values).to.include({ name: 'Сбер' });
    expect(sber.values).to.not.have.property('notes');
    expect(cards.find((card) => card.values.inn === '7710140679')!.values).to.include({ name: 'Т-Банк вручную', notes: 'банк' });
    // The import page lists the user's imports into the folder, newest first, dry runs left out, each with its undo.
    const RUNS =
      'query($f: ID!) { importRuns(folderId: $f) { fileName job { id state importResult { created updated refused } } undo { id state importUndoResult { trashed } } } }';
    const runs = (await tanya.data<{ importRuns: unknown[] }>(RUNS, { f: undoFolder })).importRuns;
    expect(runs).to.have.length(2);
    expect(runs[0]).to.deep.equal({
      fileName: 'b.csv',
      job: { id: job.id, state: 'succeeded', importResult: { created: 1, updated: 2, refused: 0 } },
      undo: { id: undo.id, state: 'succeeded', importUndoResult: { trashed: 1 } },
    });
    expect(runs[1]).to.deep.include({ fileName: 'a.csv', undo: null });
    expect((await natasha.data<{ importRuns: unknown[] }>(RUNS, { f: undoFolder })).importRuns).to.deep.equal([]);
    // Asked again, the same undo answers; another user cannot undo someone's import.
    expect((await tanya.data<{ undoImport: Job }>(UNDO, { id: job.id })).undoImport.id).to.equal(undo.id);
    expect((await natasha.request(UNDO, { id: job.id })).errors?.[0].extensions?.code).to.equal('NOT_FOUND');

    // «Ростелеком» is saved by hand and put back: someone's work on it, though its values are the import's again.
    const rostelecom = cards.find((card) => card.values.inn === '7702000011')!;
    for (const notes of ['позвонить', null]) {
      const { card: now } = await tanya.data<{ card: { version: number } }>('query($id: ID!) { card(id: $id) { version } }', { id: rostelecom.id });
      await tanya.data('mutation($id: ID!, $v: Int!, $values: JSON!) { updateCard(id: $id, version: $v, values: $values) { id } }', {
        id: rostelecom.id,
        v: now.version,
        values: { notes },
      });
    }
    // The first import undone now: «Сбер» is again as it created it (the overwrite was undone) and goes to the trash;
    // «Т-Банк», renamed by hand since, and «Ростелеком», saved by hand and put back, stay (s13 user U5, re-attack B3).
    const firstUndo = await finishedJob(tanya, (await tanya.data<{ undoImport: Job }>(UNDO, { id: firstImport.id })).undoImport.id);
    expect(firstUndo.result).to.deep.equal({ trashed: 1, restored: 0, restoredInPart: 0, kept: 2 });
    expect((await folderCards(tanya, undoFolder)).map((card) => card.values.name)).to.have.members(['Т-Банк вручную', 'Ростелеком']);
  });

  it('the importer’s own cards are not unread for him, nor the values his undo gives back — as any change of his own; a colleague’s change to one is, and so is one he marks unread', async () => {
    const ownFolder = await createFolder(admin, { libraryId, name: 'Свои карточки', allowedCardTypes: ['counterparty'] });
    await setFolderAccess(admin, ownFolder, [
      { principalId: userIds.tanya, level: 'full' },
      { principalId: userIds.natasha, level: 'edit' },
    ]);
    await admin.data('mutation($f: ID!, $v: JSON!) { createCard(folderId: $f, typeKey: "counterparty", values: $v) { id } }', {
      f: ownFolder,
      v: { name: 'ООО «Прежнее»', inn: '7701000019' },
    });
    type Seen = {
      unreadCounts: { folderId: string; count: number }[];
      cards: { edges: { node: { id: string; title: string; version: number; unread: { isNew: boolean } | null } }[] };
    };
    /** What a user sees of the folder: its unread count (0 when none) and which titles are bold. */
    const seenBy = async (client: ApiClient) => {
      const seen = await client.data<Seen>(
        'query($f: ID!) { unreadCounts { folderId count } cards(folderId: $f, first: 50, sortBy: "title") { edges { node { id title version unread { isNew } } } } }',
        { f: ownFolder },
      );
      const rows = seen.cards.edges.map((edge) => edge.node);
      return { count: seen.unreadCounts.find((entry) => entry.folderId === ownFolder)?.count ?? 0, bold: rows.filter((row) => row.unread).map((row) => row.title), rows };
    };
    expect(await seenBy(tanya)).to.deep.include({ count: 1, bold: ['ООО «Прежнее»'] });
    // She reads it before her import overwrites it (one she never read stays unread: the next test).
    await tanya.data('mutation($id: ID!) { openCard(id: $id) { id } }', { id: (await seenBy(tanya)).rows[0].id });

    const content = Buffer.from('ИНН;Наименование\n7701000019;ООО «Прежнее» (из файла)\n7701000026;ООО «Первое»\n7701000033;ООО «Второе»\n');
    const { job } = await importFile(server, tanya, { name: 'свои.csv', content }, { folderId: ownFolder, typeKey: 'counterparty' }, (inspection) => ({
      ...asIs(inspection),
      matchField: 'inn',
      onMatch: 'overwrite',
    }));
    expect(job.result, job.error ?? '').to.include({ created: 2, updated: 1 });
    // Her own import: nothing is new to her, the card she overwrote included; her colleague finds all three.
    expect(await seenBy(tanya)).to.deep.include({ count: 0, bold: [] });
    expect(await seenBy(natasha)).to.deep.include({ count: 3 });

    // Opening one changes nothing (it was read already); marking one unread makes it bold again.
    const rows = (await seenBy(tanya)).rows;
    const first = rows.find((row) => row.title === 'ООО «Первое»')!;
    const second = rows.find((row) => row.title === 'ООО «Второе»')!;
    await tanya.data('mutation($id: ID!) { openCard(id: $id) { id } }', { id: first.id });
    expect(await seenBy(tanya)).to.deep.include({ count: 0, bold: [] });
    await tanya.data('mutation($id: ID!) { markCardUnread(id: $id) }', { id: second.id });
    expect(await seenBy(tanya)).to.deep.include({ count: 1, bold: ['ООО «Второе»'] });
    // A colleague's change to one of the imported cards is news to the importer.
    await natasha.data('mutation($id: ID!, $v: Int!, $values: JSON!) { updateCard(id: $id, version: $v, values: $values) { id } }', {
      id: first.id,
      v: first.version,
      values: { notes: 'позвонить' },
    });
    expect(await seenBy(tanya)).to.deep.include({ count: 2, bold: ['ООО «Второе»', 'ООО «Первое»'] });
    // Changed for her, not new: she imported it herself (s10 re-test V1); the one she marked unread reads as new.
    const unreadOf = async (title: string) => (await seenBy(tanya)).rows.find((row) => row.title === title)!.unread;
    expect(await unreadOf('ООО «Первое»')).to.deep.equal({ isNew: false });
    expect(await unreadOf('ООО «Второе»')).to.deep.equal({ isNew: true });

    // The undo: «Второе» to the trash, «Первое» kept (changed since), «Прежнее» gets its name back — by her, so not new to her.
    const undo = (await tanya.data<{ undoImport: Job }>(`mutation($id: ID!) { undoImport(importId: $id) { ${JOB_FIELDS} } }`, { id: job.id })).undoImport;
    expect((await finishedJob(tanya, undo.id)).result).to.deep.equal({ trashed: 1, restored: 1, restoredInPart: 0, kept: 1 });
    expect(await seenBy(tanya)).to.deep.include({ count: 1, bold: ['ООО «Первое»'] });
    expect(await seenBy(natasha)).to.deep.include({ count: 1, bold: ['ООО «Прежнее»'] });
  });

  it('a card of another folder the importer’s import overwrote stays unread for her as it was, and so after her undo gave its values back (s10 re-test V5)', async () => {
    const theirs = await createFolder(admin, { libraryId, name: 'Чужая база', allowedCardTypes: ['counterparty'] });
    const mine = await createFolder(admin, { libraryId, name: 'Моя база', allowedCardTypes: ['counterparty'] });
    await setFolderAccess(admin, theirs, [{ principalId: userIds.tanya, level: 'full' }]);
    await setFolderAccess(admin, mine, [{ principalId: userIds.tanya, level: 'full' }]);
    await admin.data('mutation($f: ID!) { createCard(folderId: $f, typeKey: "counterparty", values: { name: "ООО «Чужое»", inn: "7705000115" }) { id } }', { f: theirs });
    type Seen = { unreadCounts: { folderId: string; count: number }[]; cards: { edges: { node: { title: string; unread: { isNew: boolean } | null } }[] } };
    const seenOf = async () => {
      const seen = await tanya.data<Seen>('query($f: ID!) { unreadCounts { folderId count } cards(folderId: $f, first: 10) { edges { node { title unread { isNew } } } } }', {
        f: theirs,
      });
      return { count: seen.unreadCounts.find((entry) => entry.folderId === theirs)?.count ?? 0, rows: seen.cards.edges.map((edge) => edge.node) };
    };
    const unreadAsNew = { count: 1, rows: [{ title: 'ООО «Чужое»', unread: { isNew: true } }] };
    expect(await seenOf()).to.deep.equal(unreadAsNew);

    const { job } = await importFile(
      server,
      tanya,
      { name: 'чужое.csv', content: Buffer.from('ИНН;Наименование\n7705000115;ООО «Чужое» (из файла)\n') },
      { folderId: mine, typeKey: 'counterparty' },
      (inspection) => ({ ...asIs(inspection), matchField: 'inn', onMatch: 'overwrite', matchOtherFolders: true }),
    );
    expect(job.result, job.error ?? '').to.include({ updated: 1 });
    // She never opened it: her import did not read it for her.
    expect(await seenOf()).to.deep.equal({ ...unreadAsNew, rows: [{ title: 'ООО «Чужое» (из файла)', unread: { isNew: true } }] });
    const undo = (await tanya.data<{ undoImport: Job }>(`mutation($id: ID!) { undoImport(importId: $id) { ${JOB_FIELDS} } }`, { id: job.id })).undoImport;
    expect((await finishedJob(tanya, undo.id)).result).to.deep.include({ restored: 1 });
    expect(await seenOf()).to.deep.equal(unreadAsNew);
  });

  it('an undo goes on after a restart counting every run, and one that failed is continued when asked again; an editor undoes his own import; a created card changed since is kept', async () => {
    const editorFolder = await createFolder(admin, { libraryId, name: 'Импорт редактора', allowedCardTypes: ['counterparty'] });
    await setFolderAccess(admin, editorFolder, [
      { principalId: userIds.natasha, level: 'edit' },
      { principalId: userIds.tanya, level: 'full' },
    ]);
    const names = Array.from({ length: 300 }, (_, index) => `ООО «Откат ${index + 1}»`);
    const content = Buffer.from(['Наименование', ...names].join('\n'), 'utf8');
    const { job } = await importFile(server, natasha, { name: 'редактор.csv', content }, { folderId: editorFolder, typeKey: 'counterparty' }, asIs);
    expect(job.result).to.include({ created: 300 });
    // A colleague fills in one of the new cards: the undo keeps it.
    const edited = (await folderCards(tanya, editorFolder)).find((card) => card.values.name === 'ООО «Откат 1»')!;
    await tanya.data('mutation($id: ID!, $values: JSON!) { updateCard(id: $id, version: 1, values: $values) { id } }', {
      id: edited.id,
      values: { name: 'ООО «Откат 1»', notes: 'позвонить' },
    });

    // The undo stopped by a restart after its first batch, then run again: the result counts both runs.
    const logger = createLogger(loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'silent' }));
    const undo = async (stopAfter: number | null) => {
      const controller = new AbortController();
      return undoImportJob.run({
        jobId: String(new Types.ObjectId()),
        ownerId: userIds.natasha,
        params: { importId: job.id, ip: '127.0.0.1' },
        resumeFrom: null,
        signal: controller.signal,
        logger,
        progress: (done) => {
          if (stopAfter !== null && done >= stopAfter) controller.abort(new JobInterrupted('shutdown'));
        },
        checkpoint: async () => undefined,
      });
    };
    let stopped: unknown = null;
    await undo(250).catch((error: unknown) => {
      stopped = error;
    });
    expect(stopped).to.be.instanceOf(JobInterrupted);
    expect(await undo(null)).to.deep.equal({ trashed: 299, restored: 0, restoredInPart: 0, kept: 1 });
    expect((await folderCards(tanya, editorFolder)).map((card) => card.values)).to.deep.equal([{ name: 'ООО «Откат 1»', notes: 'позвонить' }]);

    // An undo that failed (its job as stored) is continued when the user asks again, not answered as it is.
    const second = await importFile(
      server,
      natasha,
      { name: 'ещё.csv', content: Buffer.from('Наименование\nООО «Снова»\n') },
      { folderId: editorFolder, typeKey: 'counterparty' },
      asIs,
    );
    const [failed] = await Job.create([
      {
        type: 'import-undo',
        ownerId: new Types.ObjectId(userIds.natasha),
        params: { importId: second.job.id, ip: '127.0.0.1' },
        state: 'failed',
        error: 'the database was gone',
        uniqueKey: undoKey(second.job.id),
      },
    ]);
    const asked = (await natasha.data<{ undoImport: Job }>(`mutation($id: ID!) { undoImport(importId: $id) { ${JOB_FIELDS} } }`, { id: second.job.id })).undoImport;
    expect(asked.id).to.equal(String(failed._id));
    const finished = await finishedJob(natasha, asked.id);
    expect(finished.state, finished.error ?? '').to.equal('succeeded');
    expect(finished.result).to.deep.equal({ trashed: 1, restored: 0, restoredInPart: 0, kept: 0 });
  });

  it('finds the account manager written as spreadsheets write people — surname first, with initials — and by login only for those who may see logins', async () => {
    const peopleFolder = await createFolder(admin, { libraryId, name: 'Менеджеры из файла', allowedCardTypes: ['counterparty'] });
    await setFolderAccess(admin, peopleFolder, [{ principalId: userIds.tanya, level: 'full' }]);
    const cells = ['Гончаренко Татьяна', 'Вакуленко Н.', 'Т. Гончаренко', 'tanya', 'natasha', 'Гончаренко Наталья'];
    const content = Buffer.from(['Наименование;Ответственный менеджер', ...cells.map((cell, index) => `ООО «Менеджер ${index + 1}»;${cell}`)].join('\n'));
    const { job } = await importFile(server, tanya, { name: 'менеджеры.csv', content }, { folderId: peopleFolder, typeKey: 'counterparty' }, asIs);
    expect(job.result).to.include({ created: 4, refused: 2 });
    expect(job.result!.refusedRows).to.deep.equal([
      // Another user's login is not told to a user who may not see logins; a name of no one is not found.
      { row: 6, problems: [{ column: 'Ответственный менеджер', message: 'Пользователь «natasha» не найден' }] },
      { row: 7, problems: [{ column: 'Ответственный менеджер', message: 'Пользователь «Гончаренко Наталья» не найден' }] },
    ]);
    const managers = Object.fromEntries((await folderCards(tanya, peopleFolder)).map((card) => [card.values.name, card.values.manager]));
    expect(managers).to.deep.equal({
      'ООО «Менеджер 1»': userIds.tanya,
      'ООО «Менеджер 2»': userIds.natasha,
      'ООО «Менеджер 3»': userIds.tanya,
      'ООО «Менеджер 4»': userIds.tanya,
    });
  });

  it('lets one user have two imports or checks unfinished at once: a third is refused with the reason, so one person’s queue cannot hold everyone’s work back', async () => {
    const uploaded = await upload(server, tanya, 'очередь.csv', Buffer.from('Наименование\nООО «Очередь»\n'));
    const input = { uploadId: uploaded.body.id, folderId, typeKey: 'counterparty' };
    const inspection = (await tanya.data<{ importInspection: Inspection }>(INSPECT, { input })).importInspection;
    const check = () => tanya.request<{ startImport: Job }>(START, { input, mapping: asIs(inspection), dryRun: true });
    // The jobs are held running until released, so the first two are unfinished when the third is asked.
    const release = holdJobs('import');
    try {
      const first = await check();
      const second = await check();
      expect([first.errors, second.errors]).to.deep.equal([undefined, undefined]);
      const third = await check();
      expect(third.errors?.[0].extensions?.code).to.equal('CONFLICT');
      expect(third.errors?.[0].message).to.equal('У вас уже идут 2 импорта или проверки: дождитесь конца одной из них или отмените её');
      release();
      for (const started of [first, second]) expect((await finishedJob(tanya, started.data!.startImport.id)).state).to.equal('succeeded');
    } finally {
      release();
    }
    // Once they ended, the next one starts.
    const next = await check();
    expect(next.errors).to.equal(undefined);
    await finishedJob(tanya, next.data!.startImport.id);
  });

  it('offers the refused rows of a dry run as the .xlsx report, so the file is fixed before anything is imported; a new dry run of the file replaces it', async () => {
    const dryFolder = await createFolder(admin, { libraryId, name: 'Проверка без записи', allowedCardTypes: ['counterparty'] });
    await setFolderAccess(admin, dryFolder, [{ principalId: userIds.tanya, level: 'full' }]);
    const content = Buffer.from('Наименование;ИНН;E-mail\nООО «Верно»;5501000018;\nООО «Ошибка»;5501000011;\n;;не-почта\n');
    const uploaded = await upload(server, tanya, 'клиенты.csv', content);
    const input = { uploadId: uploaded.body.id, folderId: dryFolder, typeKey: 'counterparty' };
    const inspection = (await tanya.data<{ importInspection: Inspection }>(INSPECT, { input })).importInspection;
    const dryRun = async () => finishedJob(tanya, (await tanya.data<{ startImport: Job }>(START, { input, mapping: asIs(inspection), dryRun: true })).startImport.id);
    const first = await dryRun();
    expect(first.result).to.include({ dryRun: true, created: 1, refused: 2 });
    const report = await download(server, tanya, `/transfer/imports/${first.id}/refused.xlsx`);
    expect(report.status).to.equal(200);
    const rows = await sheetRows(report.body);
    expect(rows[0]).to.deep.equal(['Наименование', 'ИНН', 'E-mail', 'Строка файла', 'Причина']);
    expect(rows.slice(1).map((row) => [row[0] ?? null, row[3]])).to.deep.equal([
      ['ООО «Ошибка»', 3],
      [null, 4],
    ]);
    expect(String(rows[1][4])).to.contain('ИНН');
    expect(String(rows[2][4])).to.contain('Наименование').and.contain('E-mail');
    expect(await folderCards(tanya, dryFolder)).to.deep.equal([]);
    // Checked again: the new report has the rows, the earlier one is given up.
    const second = await dryRun();
    expect((await sheetRows((await download(server, tanya, `/transfer/imports/${second.id}/refused.xlsx`)).body)).length).to.equal(3);
    expect((await sheetRows((await download(server, tanya, `/transfer/imports/${first.id}/refused.xlsx`)).body)).length).to.equal(1);
    expect((await download(server, natasha, `/transfer/imports/${second.id}/refused.xlsx`)).status).to.equal(404);
  });

  it('writes a refused row’s date cells into the report as dates, so the report fixed in Excel imports back (s16 user U3)', async () => {
    const dated = await createFolder(admin, { libraryId, name: 'Отчёт с датами', allowedCardTypes: ['contract'] });
    await setFolderAccess(admin, dated, [{ principalId: userIds.tanya, level: 'full' }]);
    const workbook = new ExcelJS.Workbook();
    const sheet = workbook.addWorksheet('Договоры');
    sheet.addRow(['Номер', 'Дата', 'Контрагент']);
    sheet.addRow(['', new Date(Date.UTC(2017, 5, 18)), 'ООО «Нет такого»']);
    sheet.getCell('B2').numFmt = 'dd.mm.yyyy';
    const content = Buffer.from(await workbook.xlsx.writeBuffer());
    // «Статус» is required: given as a constant, as the mapping step offers.
    const draft = (inspection: Inspection): Mapping => ({ ...asIs(inspection), constants: [{ field: 'status', value: 'draft' }] });
    const { job } = await importFile(server, tanya, { name: 'договоры.xlsx', content }, { folderId: dated, typeKey: 'contract' }, draft, true);
    expect(job.result).to.include({ refused: 1 });
    const report = new ExcelJS.Workbook();
    await report.xlsx.load((await download(server, tanya, `/transfer/imports/${job.id}/refused.xlsx`)).body as unknown as ArrayBuffer);
    const date = report.worksheets[0].getCell('B2');
    expect(date.value).to.deep.equal(new Date(Date.UTC(2017, 5, 18)));
    // A date cell in Excel's day-first format: Excel shows it as 18.06.2017 (exceljs's own `text` does not apply formats).
    expect(date.numFmt).to.equal('dd.mm.yyyy');
  });

  it('puts imported cards into the «Дубликаты» groups, alike to a card already there and to each other; undoing the import takes them out', async () => {
    const dupFolder = await createFolder(admin, { libraryId, name: 'Дубликаты импорта', allowedCardTypes: ['counterparty'] });
    await setFolderAccess(admin, dupFolder, [{ principalId: userIds.tanya, level: 'full' }]);
    const { createCard } = await tanya.data<{ createCard: { id: string } }>(
      'mutation($f: ID!) { createCard(folderId: $f, typeKey: "counterparty", values: { name: "ООО «Северный ветер»" }) { id } }',
      { f: dupFolder },
    );
    const file = Buffer.from('Наименование;Примечания\nСеверный ветер;из файла\nАО «Полярная звезда»;\nПолярная звезда;повтор\nООО «Южный берег»;\n', 'utf8');
    const { job } = await importFile(server, tanya, { name: 'dup.csv', content: file }, { folderId: dupFolder, typeKey: 'counterparty' }, asIs);
    expect(job.result, job.error ?? '').to.include({ created: 4, refused: 0 });
    type Group = { cards: { id: string; title: string }[] };
    const GROUPS = '{ duplicateGroups(typeKey: "counterparty", first: 50) { edges { node { cards { id title } } } } }';
    const groupTitles = async () =>
      (await tanya.data<{ duplicateGroups: { edges: { node: Group }[] } }>(GROUPS)).duplicateGroups.edges
        .map((edge) => edge.node.cards.map((card) => card.title).sort())
        .filter((titles) => titles.some((title) => /Северный|Полярная|Южный/.test(title)))
        .sort();
    expect(await groupTitles()).to.deep.equal([
      ['АО «Полярная звезда»', 'Полярная звезда'],
      ['ООО «Северный ветер»', 'Северный ветер'],
    ]);
    const undo = (await tanya.data<{ undoImport: Job }>(`mutation($id: ID!) { undoImport(importId: $id) { ${JOB_FIELDS} } }`, { id: job.id })).undoImport;
    expect((await finishedJob(tanya, undo.id)).state).to.equal('succeeded');
    expect(await groupTitles()).to.deep.equal([]);
    expect((await folderCards(tanya, dupFolder)).map((card) => card.id)).to.deep.equal([createCard.id]);
  });

  it('does not reveal a card the importing user cannot read: a row with its INN is refused as taken, never named, matched or skipped', async () => {
    const closed = await createFolder(admin, { libraryId, name: 'Закрытая', allowedCardTypes: ['counterparty'] });
    await admin.data('mutation($f: ID!) { createCard(folderId: $f, typeKey: "counterparty", values: { name: "ООО «Тайный партнёр»", inn: "7812014560" }) { id } }', { f: closed });
    const own = await createFolder(admin, { libraryId, name: 'Своя', allowedCardTypes: ['counterparty'] });
    await setFolderAccess(admin, own, [{ principalId: userIds.tanya, level: 'full' }]);
    const file = { name: 'c.csv', content: Buffer.from('ИНН;Наименование\n7812014560;Проверка\n', 'utf8') };
    const taken = { row: 2, problems: [{ column: 'ИНН', message: 'Такое значение уже есть в другой карточке' }] };
    for (const policy of [null, 'skip', 'fillEmpty', 'overwrite']) {
      const { job } = await importFile(
        server,
        tanya,
        file,
        { folderId: own, typeKey: 'counterparty' },
        (inspection) => ({ ...asIs(inspection), matchField: policy && 'inn', onMatch: policy ?? 'skip' }),
        true,
      );
      expect(job.result, `${policy}: ${job.error ?? ''}`).to.include({ created: 0, updated: 0, skipped: 0, refused: 1 });
      expect(job.result!.refusedRows, String(policy)).to.deep.equal([taken]);
      expect(JSON.stringify(job.result)).not.to.contain('Тайный');
    }
    // The same file written for real: refused the same way, and the hidden card is untouched.
    const { job } = await importFile(server, tanya, file, { folderId: own, typeKey: 'counterparty' }, (inspection) => ({
      ...asIs(inspection),
      matchField: 'inn',
      onMatch: 'overwrite',
    }));
    expect(job.result!.refusedRows).to.deep.equal([taken]);
    expect((await folderCards(admin, closed)).map((card) => card.values.name)).to.deep.equal(['ООО «Тайный партнёр»']);
    expect(await folderCards(tanya, own)).to.deep.equal([]);
  });

  it('reads an xlsx made by exceljs: a title merged over the header, dates as numbers and as dates, sums with a comma, choices by label, references by title, rich text as its text', async () => {
    const contracts = await createFolder(admin, { libraryId, name: 'Договоры', allowedCardTypes: ['contract'] });
    await setFolderAccess(admin, contracts, [{ principalId: userIds.tanya, level: 'full' }]);
    const clients = await createFolder(admin, { libraryId, name: 'Клиенты из регионов', allowedCardTypes: ['counterparty'] });
    await setFolderAccess(admin, clients, [{ principalId: userIds.tanya, level: 'read' }]);
    const { createCard: ufa } = await admin.data<{ createCard: { id: string } }>(
      'mutation($f: ID!, $v: JSON!) { createCard(folderId: $f, typeKey: "counterparty", values: $v) { id } }',
      { f: clients, v: { name: 'АО «Уфа»', inn: '0274062111' } },
    );
    const workbook = new ExcelJS.Workbook();
    const sheet = workbook.addWorksheet('Договоры 2026');
    sheet.addRow(['Реестр договоров на 26.11.2026']);
    sheet.mergeCells('A1:F1');
    sheet.addRow(['Номер', 'Дата', 'Контрагент', 'Сумма, ₽', 'Статус', 'Окончание действия']);
    const boldName = { richText: [{ text: 'ООО ' }, { font: { bold: true }, text: '«Кассиопея»' }] };
    sheet.addRow(['Д-1', new Date(Date.UTC(2026, 0, 15)), boldName, '1 234,50', 'Черновик', 46387]);
    sheet.addRow(['Д-2', '01.02.2026', '7707083893', 99.9, 'черновик', '2027-01-31']);
    // An empty text is an empty shared string (exceljs reads its text as null).
    sheet.addRow(['Д-3', '31.02.2026', 'Неизвестная фирма', 'много', 'Черновик', '']);
    // An INN Excel keeps as a number lost its leading zero: the reference finds 0274062111 as the ИНН field would read it (s13 user U8).
    sheet.addRow(['Д-4', '02.02.2026', 274062111, 10, 'Черновик', '']);
    const content = Buffer.from(await workbook.xlsx.writeBuffer());
    const { inspection, job } = await importFile(server, tanya, { name: 'договоры.xlsx', content }, { folderId: contracts, typeKey: 'contract' }, asIs);
    expect(inspection.format).to.equal('xlsx');
    expect(inspection.sheets).to.deep.equal(['Договоры 2026']);
    expect(inspection.headerRow).to.equal(2);
    expect(inspection.mapping.columns).to.deep.equal(['number', 'date', 'counterparty', 'amount', 'status', 'endDate']);
    expect(job.state, job.error ?? '').to.equal('succeeded');
    expect(job.result, JSON.stringify(job.result)).to.include({ created: 3, refused: 1 });
    const refused = job.result!.refusedRows[0];
    expect(refused.row).to.equal(5);
    expect(refused.problems.map((problem) => problem.column)).to.have.members(['Дата', 'Контрагент', 'Сумма, ₽']);
    const cards = await folderCards(tanya, contracts);
    const byNumber = Object.fromEntries(cards.map((card) => [card.values.number, card.values]));
    expect(byNumber['Д-1']).to.include({ date: '2026-01-15', amount: '1234.50', status: 'draft', endDate: '2026-12-31' });
    expect(byNumber['Д-2']).to.include({ date: '2026-02-01', amount: '99.90', endDate: '2027-01-31' });
    expect(byNumber['Д-1'].counterparty).to.equal(byNumber['Д-2'].counterparty);
    expect(byNumber['Д-4'].counterparty).to.equal(ufa.id);
  });

  it('inspects a small .xlsx from one reading of the stored file, not one per range its zip is read by, which waited behind a colleague’s import (s14 U1)', async () => {
    const workbook = new ExcelJS.Workbook();
    const sheet = workbook.addWorksheet('Клиенты');
    sheet.addRow(['Наименование', 'ИНН', 'Телефон']);
    for (let n = 1; n <= 100; n += 1) sheet.addRow([`ООО «Клиент ${n}»`, '7707083893', `+7 495 000-00-${String(n).padStart(2, '0')}`]);
    const uploaded = await upload(server, tanya, 'клиенты-100.xlsx', Buffer.from(await workbook.xlsx.writeBuffer()));
    expect(uploaded.status, JSON.stringify(uploaded.body)).to.equal(201);
    const { result, commands } = await databaseCommandsDuring(() =>
      tanya.data<{ importInspection: Inspection }>(INSPECT, { input: { uploadId: uploaded.body.id, folderId, typeKey: 'counterparty' } }),
    );
    expect(result.importInspection.mapping.columns).to.deep.equal(['name', 'inn', 'phone']);
    expect(result.importInspection.columns[0].samples[0]).to.equal('ООО «Клиент 1»');
    const fileReads = commands.filter((command) => ['transfer.files', 'transfer.chunks'].includes(command.collection) && ['find', 'getMore'].includes(command.name));
    // The upload found (whose is it), then read: its record and its one chunk. Read range by range, the inspection sent 289 of these.
    expect(fileReads.map((command) => command.collection)).to.deep.equal(['transfer.files', 'transfer.files', 'transfer.chunks']);
  });

  it('shows each column’s first non-empty values as its examples: a column empty in its first rows still shows some (s15 R1)', async () => {
    const lines = ['Наименование;ИНН;Телефон;Примечания'];
    for (let n = 1; n <= 40; n += 1) lines.push(`ООО «Только имя ${n}»;;;`);
    lines.push('ООО «Берёза»;7707083893;+7 495 123-45-67;', 'ООО «Ель»;;+7 495 765-43-21;');
    const uploaded = await upload(server, tanya, 'редкие-столбцы.csv', Buffer.from(lines.join('\r\n'), 'utf8'));
    expect(uploaded.status, JSON.stringify(uploaded.body)).to.equal(201);
    const { importInspection } = await tanya.data<{ importInspection: Inspection }>(INSPECT, { input: { uploadId: uploaded.body.id, folderId, typeKey: 'counterparty' } });
    expect(importInspection.columns.map((column) => [column.name, column.samples])).to.deep.equal([
      ['Наименование', ['ООО «Только имя 1»', 'ООО «Только имя 2»', 'ООО «Только имя 3»', 'ООО «Только имя 4»', 'ООО «Только имя 5»']],
      ['ИНН', ['7707083893']],
      ['Телефон', ['+7 495 123-45-67', '+7 495 765-43-21']],
      ['Примечания', []],
    ]);
  });

  it('reads an .xlsx hyperlink cell as a user clicks it: a site takes the link’s target, an e-mail the address of its mailto:, a text its shown text; the report writes a refused row’s link back (s13 user U1)', async () => {
    const linked = await createFolder(admin, { libraryId, name: 'Клиенты со ссылками', allowedCardTypes: ['counterparty'] });
    await setFolderAccess(admin, linked, [{ principalId: userIds.tanya, level: 'full' }]);
    const workbook = new ExcelJS.Workbook();
    const sheet = workbook.addWorksheet('Клиенты');
    sheet.addRow(['Наименование', 'ИНН', 'Сайт', 'E-mail', 'Примечания']);
    sheet.addRow([
      'ООО «Берёза-1»',
      '7706000005',
      { text: 'Сайт компании', hyperlink: 'https://www.bereza-1.ru/' },
      { text: 'Написать нам', hyperlink: 'mailto:info@bereza-1.ru?subject=%D0%97%D0%B0%D0%BA%D0%B0%D0%B7' },
      { text: 'Прайс на сайте', hyperlink: 'https://www.bereza-1.ru/price' },
    ]);
    // A link to a file is no site: the shown text is not one either, so the row is refused as before — and its report keeps the link.
    sheet.addRow(['ООО «Берёза-2»', '7706000012', { text: 'Сайт компании', hyperlink: 'file:///C:/клиенты/берёза-2.docx' }, null, null]);
    const content = Buffer.from(await workbook.xlsx.writeBuffer());
    const target = { folderId: linked, typeKey: 'counterparty' };
    const dry = await importFile(server, tanya, { name: 'клиенты-ссылки.xlsx', content }, target, asIs, true);
    expect(dry.inspection.mapping.columns).to.deep.equal(['name', 'inn', 'website', 'email', 'notes']);
    const site = dry.inspection.columns[2];
    expect(site.samples).to.deep.equal(['Сайт компании', 'Сайт компании']);
    expect(site.links).to.deep.equal(['https://www.bereza-1.ru/', 'file:///C:/клиенты/берёза-2.docx']);
    expect(dry.job.state, dry.job.error ?? '').to.equal('succeeded');
    expect(dry.job.result).to.include({ created: 1, refused: 1 });
    expect(dry.job.result!.preview[0].values).to.include({ website: 'https://www.bereza-1.ru/', email: 'info@bereza-1.ru', notes: 'Прайс на сайте' });
    expect(dry.job.result!.refusedRows.map((row) => [row.row, row.problems.map((problem) => problem.column)])).to.deep.equal([[3, ['Сайт']]]);

    const { job } = await importFile(server, tanya, { name: 'клиенты-ссылки.xlsx', content }, target, asIs);
    expect(job.result).to.include({ created: 1, refused: 1 });
    const [card] = await folderCards(tanya, linked);
    expect(card.values).to.include({ name: 'ООО «Берёза-1»', website: 'https://www.bereza-1.ru/', email: 'info@bereza-1.ru', notes: 'Прайс на сайте' });
    const report = await sheetRows((await download(server, tanya, `/transfer/imports/${job.id}/refused.xlsx`)).body);
    expect(report[1].slice(0, 3)).to.deep.equal(['ООО «Берёза-2»', '7706000012', { text: 'Сайт компании', hyperlink: 'file:///C:/клиенты/берёза-2.docx' }]);
  });

  it('a linked e-mail cell whose link is no e-mail is refused naming the link — the cell shows an address that looks right; «Сайт компании» is the site, and a link over a range is every cell’s (s14 re-attack B3)', async () => {
    const linked = await createFolder(admin, { libraryId, name: 'Ссылки B3', allowedCardTypes: ['counterparty'] });
    await setFolderAccess(admin, linked, [{ principalId: userIds.tanya, level: 'full' }]);
    const workbook = new ExcelJS.Workbook();
    workbook.addWorksheet('Клиенты').addRows([
      ['Наименование', 'Сайт компании', 'Электронная почта'],
      ['ООО «Диапазон-1»', { text: 'www.diapazon.ru', hyperlink: 'https://diapazon.example/' }, null],
      ['ООО «Диапазон-2»', 'www.diapazon.ru', null],
      ['ООО «Почта»', null, { text: 'good@x.ru', hyperlink: 'mailto:javascript:alert(1)@x.ru' }],
    ]);
    const written = Buffer.from(await workbook.xlsx.writeBuffer());
    const sheetXml = await (await JSZip.loadAsync(written)).file('xl/worksheets/sheet1.xml')!.async('string');
    const content = await withPart(written, 'xl/worksheets/sheet1.xml', sheetXml.replace('<hyperlink ref="B2"', '<hyperlink ref="B2:B3"'));
    const dry = await importFile(server, tanya, { name: 'ссылки-b3.xlsx', content }, { folderId: linked, typeKey: 'counterparty' }, asIs, true);
    expect(dry.inspection.mapping.columns).to.deep.equal(['name', 'website', 'email']);
    expect(dry.job.result).to.include({ created: 2, refused: 1 });
    expect(dry.job.result!.preview.slice(0, 2).map((row) => row.values.website)).to.deep.equal(['https://diapazon.example/', 'https://diapazon.example/']);
    expect(dry.job.result!.refusedRows).to.deep.equal([
      {
        row: 4,
        problems: [
          {
            column: 'Электронная почта',
            message: 'Ссылка ячейки ведёт на «mailto:javascript:alert(1)@x.ru» — это не e-mail: импорт берёт адрес ссылки, а не текст ячейки «good@x.ru»',
          },
        ],
      },
    ]);
  });

  it('a contract whose «Контрагент» is a client in the trash is refused saying so, naming the client — not «не найдена», which sends the user to create it anew (s14 user U2)', async () => {
    const contracts = await createFolder(admin, { libraryId, name: 'Договоры с удалёнными', allowedCardTypes: ['contract'] });
    const clients = await createFolder(admin, { libraryId, name: 'Клиенты с удалёнными', allowedCardTypes: ['counterparty'] });
    await setFolderAccess(admin, contracts, [{ principalId: userIds.tanya, level: 'full' }]);
    await setFolderAccess(admin, clients, [{ principalId: userIds.tanya, level: 'full' }]);
    const { createCard: gone } = await tanya.data<{ createCard: { id: string } }>(
      'mutation($f: ID!, $v: JSON!) { createCard(folderId: $f, typeKey: "counterparty", values: $v) { id } }',
      { f: clients, v: { name: 'АО «Ушедшее»' } },
    );
    await tanya.data('mutation($id: ID!) { deleteCard(id: $id) { id } }', { id: gone.id });
    const csv = Buffer.from('Номер;Дата;Контрагент;Статус\nД-У-1;01.02.2026;АО «Ушедшее»;Черновик\nД-У-2;01.02.2026;АО «Небывалое»;Черновик\n');
    const { job } = await importFile(server, tanya, { name: 'договоры-удалённые.csv', content: csv }, { folderId: contracts, typeKey: 'contract' }, asIs, true);
    expect(job.result!.refusedRows.map((row) => [row.row, row.problems.map((problem) => problem.message)])).to.deep.equal([
      [2, ['Карточка «АО «Ушедшее»» в корзине — восстановите её и загрузите строку снова']],
      [3, ['Карточка «АО «Небывалое»» не найдена']],
    ]);
  });

  it('checks the references of a whole batch at once: 600 contracts naming their counterparty ask one look-up per batch of 500, and a row naming nothing is refused with its message', async () => {
    const counterparties = await createFolder(admin, { libraryId, name: 'Контрагенты для ссылок', allowedCardTypes: ['counterparty'] });
    const contracts = await createFolder(admin, { libraryId, name: 'Договоры из файла', allowedCardTypes: ['contract'] });
    await setFolderAccess(admin, counterparties, [{ principalId: userIds.tanya, level: 'full' }]);
    await setFolderAccess(admin, contracts, [{ principalId: userIds.tanya, level: 'full' }]);
    for (const name of ['ООО «Сириус»', 'ООО «Вега»']) {
      await tanya.data('mutation($f: ID!, $v: JSON!) { createCard(folderId: $f, typeKey: "counterparty", values: $v) { id } }', { f: counterparties, v: { name } });
    }
    const lines = ['Номер;Дата;Контрагент;Статус'];
    for (let n = 1; n <= 600; n += 1) lines.push(`С-${n};01.02.2026;${n === 7 ? 'ООО «Нет такой»' : n % 2 ? 'ООО «Сириус»' : 'ООО «Вега»'};Черновик`);
    // The look-ups of referenced cards by id (the card form's check of references), counted as the database sees them.
    const { result: job, commands } = await databaseCommandsDuring(
      async () => (await importFile(server, tanya, { name: 'договоры.csv', content: Buffer.from(lines.join('\r\n')) }, { folderId: contracts, typeKey: 'contract' }, asIs)).job,
    );
    const lookups = commands.filter((command) => {
      const filter = command.command.filter as { _id?: { $in?: unknown }; typeKey?: { $in?: unknown } } | undefined;
      return command.name === 'find' && command.collection === 'cards' && filter?._id?.$in && filter.typeKey?.$in;
    }).length;
    expect(job.state, job.error ?? '').to.equal('succeeded');
    expect(job.result).to.include({ total: 600, created: 599, refused: 1 });
    expect(job.result!.refusedRows).to.deep.equal([{ row: 8, problems: [{ column: 'Контрагент', message: 'Карточка «ООО «Нет такой»» не найдена' }] }]);
    expect(lookups, 'look-ups of referenced cards').to.be.within(1, 2);
    const titles = await tanya.data<{ cards: { edges: { node: { values: { number: string }; references: { title: string }[] } }[] } }>(
      'query($f: ID!) { cards(folderId: $f, first: 2, sortBy: "title") { edges { node { values references { title } } } } }',
      { f: contracts },
    );
    expect(titles.cards.edges.map((edge) => [edge.node.values.number, edge.node.references.map((reference) => reference.title)])).to.deep.equal([
      ['С-1', ['ООО «Сириус»']],
      ['С-10', ['ООО «Вега»']],
    ]);
  });

  it('the preview shows a reference as the card it found, not as typed (an INN), and a matched card’s stored user and reference by name, not by id (s10 U10, V4)', async () => {
    const counterparties = await createFolder(admin, { libraryId, name: 'Контрагенты для просмотра', allowedCardTypes: ['counterparty'] });
    const contracts = await createFolder(admin, { libraryId, name: 'Договоры для просмотра', allowedCardTypes: ['contract'] });
    await setFolderAccess(admin, counterparties, [{ principalId: userIds.tanya, level: 'full' }]);
    await setFolderAccess(admin, contracts, [{ principalId: userIds.tanya, level: 'full' }]);
    await tanya.data('mutation($f: ID!, $v: JSON!) { createCard(folderId: $f, typeKey: "counterparty", values: $v) { id } }', {
      f: counterparties,
      v: { name: 'ООО «Сириус-П»', inn: '7705000122', manager: userIds.tanya },
    });
    const contract = await importFile(
      server,
      tanya,
      { name: 'договоры-инн.csv', content: Buffer.from('Номер;Дата;Контрагент;Статус\nП-1;01.02.2026;7705000122;Черновик\n') },
      { folderId: contracts, typeKey: 'contract' },
      asIs,
      true,
    );
    expect(contract.job.result!.preview[0].values).to.include({ counterparty: 'ООО «Сириус-П»' });
    const matched = await importFile(
      server,
      tanya,
      { name: 'заметки.csv', content: Buffer.from('ИНН;Примечания\n7705000122;заметка\n') },
      { folderId: counterparties, typeKey: 'counterparty' },
      (inspection) => ({ ...asIs(inspection), matchField: 'inn', onMatch: 'fillEmpty' }),
      true,
    );
    expect(matched.job.result!.preview[0]).to.deep.include({ outcome: 'updated' });
    expect(matched.job.result!.preview[0].values).to.include({ manager: 'Татьяна Гончаренко', notes: 'заметка' });
  });

  it('refuses a choice the field does not offer naming the values it does — a spreadsheet has no list to pick from (s10 user U4)', async () => {
    const contracts = await createFolder(admin, { libraryId, name: 'Договоры со статусом', allowedCardTypes: ['contract'] });
    const counterparties = await createFolder(admin, { libraryId, name: 'Контрагенты для статусов', allowedCardTypes: ['counterparty'] });
    await setFolderAccess(admin, contracts, [{ principalId: userIds.tanya, level: 'full' }]);
    await setFolderAccess(admin, counterparties, [{ principalId: userIds.tanya, level: 'full' }]);
    await tanya.data('mutation($f: ID!, $v: JSON!) { createCard(folderId: $f, typeKey: "counterparty", values: $v) { id } }', { f: counterparties, v: { name: 'ООО «Статус»' } });
    const { job } = await importFile(
      server,
      tanya,
      { name: 'статусы.csv', content: Buffer.from('Номер;Дата;Контрагент;Статус\nС-1;01.02.2026;ООО «Статус»;VIP\nС-2;01.02.2026;ООО «Статус»;Действует\n') },
      { folderId: contracts, typeKey: 'contract' },
      asIs,
      true,
    );
    expect(job.result, job.error ?? '').to.include({ created: 1, refused: 1 });
    expect(job.result!.refusedRows).to.deep.equal([
      { row: 2, problems: [{ column: 'Статус', message: 'Нет такого значения: «VIP». Возможные: Черновик, Действует, Исполнен, Расторгнут' }] },
    ]);
  });

  it('does not remember a column without a header by its letters: «D» of one file is not «D» of the next (s11 user U1)', async () => {
    const folder = await createFolder(admin, { libraryId, name: 'Без заголовков', allowedCardTypes: ['counterparty'] });
    await setFolderAccess(admin, folder, [{ principalId: userIds.tanya, level: 'full' }]);
    const target = { folderId: folder, typeKey: 'counterparty' };
    // The third column has no header: it is named «C», and mapped to the notes by hand.
    const first = await importFile(server, tanya, { name: 'первый.csv', content: Buffer.from('Наименование;ИНН;\nООО «Один»;7705000130;заметка\n') }, target, (inspection) => ({
      ...asIs(inspection),
      columns: ['name', 'inn', 'notes'],
    }));
    expect(first.inspection.columns.map((column) => column.name)).to.deep.equal(['Наименование', 'ИНН', 'C']);
    expect(first.job.result, first.job.error ?? '').to.include({ created: 1 });
    // The next file's headerless third column is not taken for the notes; the named columns are remembered.
    const uploaded = await upload(server, tanya, 'второй.csv', Buffer.from('Наименование;ИНН;\nООО «Два»;7705000147;+7 495 123-45-67\n'));
    const { importInspection } = await tanya.data<{ importInspection: Inspection }>(INSPECT, { input: { uploadId: uploaded.body.id, ...target } });
    expect(importInspection.mapping.columns).to.deep.equal(['name', 'inn', null]);
  });

  it('starts an unrelated file at «Пропустить строку»: the policy for existing cards is offered again only for a file with the same headers (s13 re-test R2)', async () => {
    const folder = await createFolder(admin, { libraryId, name: 'Правка и новый список', allowedCardTypes: ['counterparty'] });
    await setFolderAccess(admin, folder, [{ principalId: userIds.tanya, level: 'full' }]);
    const target = { folderId: folder, typeKey: 'counterparty' };
    const correction = { name: 'правка.csv', content: Buffer.from('ИНН;Наименование;Телефон\n7705000130;ООО «Один»;+7 495 111-22-33\n') };
    const overwrite = (inspection: Inspection): Mapping => ({ ...asIs(inspection), onMatch: 'overwrite' });
    const corrected = await importFile(server, tanya, correction, target, overwrite);
    expect(corrected.job.state, corrected.job.error ?? '').to.equal('succeeded');
    const inspect = async (file: { name: string; content: Buffer }) =>
      (await tanya.data<{ importInspection: Inspection }>(INSPECT, { input: { uploadId: (await upload(server, tanya, file.name, file.content)).body.id, ...target } }))
        .importInspection;
    // The same correction sheet again (its headers written otherwise: case and spaces): the policy chosen for it.
    expect((await inspect({ name: 'правка-2.csv', content: Buffer.from('инн; Наименование ;ТЕЛЕФОН\n7705000130;ООО «Один»;+7 495 111-22-44\n') })).mapping.onMatch).to.equal(
      'overwrite',
    );
    // A new client list with other columns: its columns are guessed as remembered, its policy is the safe one.
    const list = await inspect({ name: 'новый-список.csv', content: Buffer.from('ИНН;Наименование;Телефон;E-mail\n7705000147;ООО «Два»;;dva@example.ru\n') });
    expect(list.mapping.columns).to.deep.equal(['inn', 'name', 'phone', 'email']);
    expect(list.mapping.onMatch).to.equal('skip');
  });

  it('refuses a file that is not a spreadsheet and a mapping without the required field, with messages at the fields', async () => {
    const wrong = await upload(server, tanya, 'notes.pdf', Buffer.from('%PDF'));
    expect(wrong.status).to.equal(400);
    expect(wrong.body.error).to.contain('.xlsx');
    const uploaded = await upload(server, tanya, 'x.csv', Buffer.from('ИНН;Телефон\n7707083893;+74951234567\n'));
    const input = { uploadId: uploaded.body.id, folderId, typeKey: 'counterparty' };
    const result = await tanya.request(START, { input, mapping: { columns: ['inn', 'inn'], onMatch: 'skip' }, dryRun: true });
    expect(result.errors?.[0].extensions?.code).to.equal('BAD_USER_INPUT');
    const fields = result.errors?.[0].extensions?.fields as Record<string, string>;
    expect(fields['mapping.columns.1']).to.contain('уже выбрано');
    expect(fields['mapping.fields.name']).to.contain('Наименование');
    // Someone else's upload does not exist for them; a reader may not import into the folder.
    expect((await natasha.request(INSPECT, { input })).errors?.[0].extensions?.code).to.equal('FORBIDDEN');
  });

  it('exports only for holders of «Экспорт»: others get FORBIDDEN (audited); the file has typed cells and imports back equal', async () => {
    const refused = await download(server, natasha, `/transfer/export?folderId=${folderId}&format=xlsx`);
    expect(refused.status).to.equal(403);
    expect(JSON.parse(refused.body.toString()).code).to.equal('FORBIDDEN');
    expect(JSON.parse(refused.body.toString()).error).to.contain('Экспорт');

    const groups = await admin.data<{ groups: { id: string; name: string; systemRole: string | null }[] }>('{ groups { id name systemRole } }');
    const exporters = groups.groups.find((group) => group.systemRole === 'exporters')!;
    expect(exporters.name).to.equal('Доверенные лица (экспорт)');
    await admin.data('mutation($id: ID!, $add: [ID!]) { changeGroupMembers(id: $id, add: $add) { id } }', { id: exporters.id, add: [userIds.natasha] });
    const viewer = await natasha.data<{ viewer: { rules: unknown[] } }>('{ viewer { rules } }');
    expect(JSON.stringify(viewer.viewer.rules)).to.contain('export');

    const xlsx = await download(server, natasha, `/transfer/export?folderId=${folderId}&format=xlsx&sortBy=title`);
    expect(xlsx.status).to.equal(200);
    const rows = await sheetRows(xlsx.body);
    expect(rows[0]).to.include('Наименование').and.include('ИНН');
    const nameAt = (rows[0] as string[]).indexOf('Наименование');
    expect(rows.slice(1).map((row) => row[nameAt])).to.deep.equal(['ИП Ёлкин', 'ООО «Кассиопея»']);
    const emailAt = (rows[0] as string[]).indexOf('E-mail');
    // A link is a HYPERLINK formula (clickable in Excel) showing the address.
    expect(rows[2][emailAt]).to.deep.equal({ formula: 'HYPERLINK("mailto:info@cassiopeia.ru","info@cassiopeia.ru")', result: 'info@cassiopeia.ru' });

    const csv = await download(
      server,
      natasha,
      `/transfer/export?folderId=${folderId}&format=csv&filters=${encodeURIComponent(JSON.stringify([{ field: 'inn', op: 'equals', value: '7707083893' }]))}`,
    );
    expect(csv.status).to.equal(200);
    expect(csv.body.subarray(0, 3)).to.deep.equal(Buffer.from([0xef, 0xbb, 0xbf]));
    const lines = csv.body.toString('utf8').slice(1).trim().split('\r\n');
    expect(lines).to.have.length(2);
    expect(lines[1]).to.contain('ООО «Кассиопея»').and.contain(';7707083893;');

    type Audit = { auditLog: { edges: { node: { kind: string; actorLogin: string; summary: string } }[] } };
    let exports: Audit['auditLog']['edges'] = [];
    // An export is audited before its first row (so one cut off by a server stop is on record) and
    // once its last row is written, which may be just after the download ends.
    await waitFor(async () => {
      const audit = await admin.data<Audit>('{ auditLog(first: 20) { edges { node { kind actorLogin summary } } } }');
      exports = audit.auditLog.edges.filter((edge) => ['export-refused', 'export-started', 'cards-exported'].includes(edge.node.kind));
      return exports.length >= 5;
    }, 'five export audit entries');
    expect(exports.map((edge) => [edge.node.kind, edge.node.actorLogin])).to.deep.equal([
      ['cards-exported', 'natasha'],
      ['export-started', 'natasha'],
      ['cards-exported', 'natasha'],
      ['export-started', 'natasha'],
      ['export-refused', 'natasha'],
    ]);
    expect(exports[1].node.summary).to.equal('Папка «Корреспонденты»: выгрузка в csv начата');
    expect(exports[2].node.summary).to.contain('2 карточек');

    // Round trip: the exported file imported into an empty folder gives the same cards, field by field.
    const copy = await createFolder(admin, { libraryId, name: 'Копия', allowedCardTypes: ['counterparty'] });
    const original = await folderCards(admin, folderId);
    const adminXlsx = await download(server, admin, `/transfer/export?folderId=${folderId}&format=xlsx`);
    // The INN is unique across the type: the copy is made after the originals go to the trash.
    for (const card of original) await admin.data('mutation($id: ID!) { deleteCard(id: $id) { id } }', { id: card.id });
    const back = await importFile(server, admin, { name: 'экспорт.xlsx', content: adminXlsx.body }, { folderId: copy, typeKey: 'counterparty' }, asIs);
    expect(back.job.result, back.job.error ?? '').to.include({ created: original.length, refused: 0 });
    const copied = await folderCards(admin, copy);
    expect(copied.map((card) => card.values)).to.deep.equal(original.map((card) => card.values));
  });

  it('export: filters from the URL are checked as the list checks them (a query operator is refused with 400 at the filter); CSV text cannot run as a formula, numbers stay numbers', async () => {
    await admin.data('mutation($d: CardTypeInput!) { createCardType(definition: $d) { key } }', {
      d: {
        key: 'ledger',
        names: { ru: 'Проводка', en: 'Entry' },
        titleTemplate: '{title}',
        historyEnabled: false,
        origin: 'admin',
        fields: [
          { key: 'title', kind: 'string', label: { ru: 'Название', en: 'Title' }, required: true, listed: true },
          { key: 'delta', kind: 'integer', label: { ru: 'Изменение', en: 'Change' }, listed: true },
        ],
      },
    });
    const ledger = await createFolder(admin, { libraryId, name: 'Проводки', allowedCardTypes: ['ledger'] });
    for (const values of [
      { title: '=1+2', delta: -5 },
      { title: '-2+3', delta: 7 },
      { title: '@SUM(A1)', delta: 0 },
      { title: '+7 495', delta: -12 },
      { title: 'Обычная', delta: 3 },
      { title: "'=уже с апострофом", delta: 1 },
    ]) {
      await admin.data('mutation($f: ID!, $v: JSON!) { createCard(folderId: $f, typeKey: "ledger", values: $v) { id } }', { f: ledger, v: values });
    }
    const exported = (filters?: string) =>
      download(server, admin, `/transfer/export?folderId=${ledger}&format=csv${filters === undefined ? '' : `&filters=${encodeURIComponent(filters)}`}`);

    const csv = await exported();
    expect(csv.status).to.equal(200);
    const lines = csv.body.toString('utf8').slice(1).trim().split('\r\n');
    expect(lines[0]).to.equal('Название;Изменение');
    // «+7 495» has the shape of a phone number: written as one (below), not with the apostrophe.
    expect(lines.slice(1)).to.have.members(["'=1+2;-5", "'-2+3;7", "'@SUM(A1);0", '" +7 495";-12', 'Обычная;3', "''=уже с апострофом;1"]);
    // Imported back, each text is as it was: the import takes the guard off, once (s14 attack A1).
    const back = await createFolder(admin, { libraryId, name: 'Проводки обратно', allowedCardTypes: ['ledger'] });
    const returned = await importFile(server, admin, { name: 'проводки.csv', content: csv.body }, { folderId: back, typeKey: 'ledger' }, asIs);
    expect(returned.job.result, returned.job.error ?? '').to.include({ created: 6, refused: 0 });
    expect((await folderCards(admin, back)).map((card) => [card.values.title, card.values.delta])).to.have.deep.members([
      ['=1+2', -5],
      ['-2+3', 7],
      ['@SUM(A1)', 0],
      ['+7 495', -12],
      ['Обычная', 3],
      ["'=уже с апострофом", 1],
    ]);

    const message = 'Фильтр: нужны поле, условие и значения текстом';
    for (const filters of [
      [{ field: 'title', op: 'contains', value: { $regex: '^(a|a)+$' } }],
      [{ field: 'title', op: 'equals', value: { $ne: null } }],
      [{ field: 'delta', op: 'in', values: [{ $gt: 0 }] }],
      [{ field: 'delta', op: 'range', from: { $gt: '' } }],
      [{ field: 'title', op: '$where', value: '1' }],
      [{ field: { $gt: '' }, op: 'equals', value: '1' }],
      [{ field: 'title', op: 'equals', value: 'a', $where: 'sleep(1000)' }],
      [null],
    ]) {
      const refused = await exported(JSON.stringify(filters));
      expect(refused.status, JSON.stringify(filters)).to.equal(400);
      const body = JSON.parse(refused.body.toString()) as { code: string; fields: Record<string, string> };
      expect(body.code).to.equal('BAD_USER_INPUT');
      expect(body.fields, JSON.stringify(filters)).to.deep.equal({ 'filters.0': message });
    }
    const notAList = await exported('{"title":{"$regex":"a"}}');
    expect(notAList.status).to.equal(400);
    expect(JSON.parse(notAList.body.toString()).fields).to.deep.equal({ filters: 'Неверные фильтры' });

    const negative = await exported(JSON.stringify([{ field: 'delta', op: 'range', from: '-20', to: '-1' }]));
    expect(negative.status).to.equal(200);
    expect(negative.body.toString('utf8').slice(1).trim().split('\r\n').slice(1)).to.have.members(["'=1+2;-5", '" +7 495";-12']);
  });

  it("export: a phone number opens in Excel as the card shows it — text in the .xlsx, a quoted leading space in the CSV (not «'+7…», not a formula) — and imports back equal", async () => {
    const phones = await createFolder(admin, { libraryId, name: 'Телефоны', allowedCardTypes: ['counterparty'] });
    const cards = [
      { name: 'ООО «Звонок»', phone: '8 (495) 123-45-67 доб. 12', notes: '+7 499 000-00-00 — секретарь' },
      { name: 'Berlin GmbH', phone: '+49 30 901820', notes: '=HYPERLINK("http://evil","x")' },
      // Lines of a note stay in their cell: a bare line feed unquoted split the row, and «=1+2» became a cell of its own (s13 re-attack B4).
      { name: 'АО «Перенос»', phone: '+7 495 000-00-01', notes: 'первая строка\n=1+2\n@SUM(1+1)' },
    ];
    for (const values of cards) await admin.data('mutation($f: ID!, $v: JSON!) { createCard(folderId: $f, typeKey: "counterparty", values: $v) { id } }', { f: phones, v: values });
    const columns = encodeURIComponent('name,phone,notes');

    const csv = await download(server, admin, `/transfer/export?folderId=${phones}&format=csv&sortBy=title&columns=${columns}`);
    expect(csv.status).to.equal(200);
    expect(csv.body.toString('utf8').slice(1).trim().split('\r\n')).to.deep.equal([
      'Наименование;Телефон;Примечания',
      // Only a whole phone number is written so; other text that starts like a formula keeps the guard's apostrophe.
      `Berlin GmbH;" +49 30 901820";"'=HYPERLINK(""http://evil"",""x"")"`,
      'АО «Перенос»;" +7 495 000 00 01";"первая строка\n=1+2\n@SUM(1+1)"',
      'ООО «Звонок»;" +7 495 123 45 67 доб. 12";\'+7 499 000-00-00 — секретарь',
    ]);

    const xlsx = await download(server, admin, `/transfer/export?folderId=${phones}&format=xlsx&sortBy=title&columns=${columns}`);
    expect((await sheetRows(xlsx.body)).slice(1)).to.deep.equal([
      ['Berlin GmbH', '+49 30 901820', '=HYPERLINK("http://evil","x")'],
      ['АО «Перенос»', '+7 495 000 00 01', 'первая строка\n=1+2\n@SUM(1+1)'],
      ['ООО «Звонок»', '+7 495 123 45 67 доб. 12', '+7 499 000-00-00 — секретарь'],
    ]);

    // The CSV read back: the same phone numbers.
    const copy = await createFolder(admin, { libraryId, name: 'Телефоны — копия', allowedCardTypes: ['counterparty'] });
    const back = await importFile(server, admin, { name: 'телефоны.csv', content: csv.body }, { folderId: copy, typeKey: 'counterparty' }, asIs);
    expect(back.job.result, back.job.error ?? '').to.include({ created: 3, refused: 0 });
    const copied = await folderCards(admin, copy);
    expect(copied.map((card) => card.values.phone)).to.deep.equal(['+49 30 901820', '+7 495 000 00 01', '+7 495 123 45 67 доб. 12']);
    expect(copied.find((card) => card.values.name === 'АО «Перенос»')!.values.notes).to.equal('первая строка\n=1+2\n@SUM(1+1)');
  });

  it('the inspection suggests the card type whose fields the file’s headers fit best — a client file is «Контрагент», not the first type «Банковский счёт» (s12 user U3) — and a folder of one type keeps it', async () => {
    const open = await createFolder(admin, { libraryId, name: 'Клиенты без ограничения типов' });
    const bankOnly = await createFolder(admin, { libraryId, name: 'Только счета', allowedCardTypes: ['bank-account'] });
    for (const folder of [open, bankOnly]) await setFolderAccess(admin, folder, [{ principalId: userIds.tanya, level: 'full' }]);
    const csv = ['ИНН;Наименование;Телефон;Эл. почта;Юр. адрес;Примечание', '7707083893;ООО «Вектор»;+7 495 123-45-67;info@vector.ru;Москва;постоянный'].join('\n');
    const uploaded = await upload(server, tanya, 'клиенты.csv', Buffer.from(csv, 'utf8'));
    const suggested = async (folder: string, typeKey: string) =>
      (
        await tanya.data<{ importInspection: { suggestedTypeKey: string } }>('query($input: ImportSettingsInput!) { importInspection(input: $input) { suggestedTypeKey } }', {
          input: { uploadId: uploaded.body.id, folderId: folder, typeKey },
        })
      ).importInspection.suggestedTypeKey;
    expect(await suggested(open, 'bank-account')).to.equal('counterparty');
    expect(await suggested(open, 'contact-person')).to.equal('counterparty');
    expect(await suggested(open, 'counterparty')).to.equal('counterparty');
    expect(await suggested(bankOnly, 'bank-account')).to.equal('bank-account');
  });

  it('a failed import tells why in words and how far it got, keeps its upload, and «Продолжить с места остановки» goes on to the end with every row once; undone, it is no longer offered', async () => {
    const failing = await createFolder(admin, { libraryId, name: 'Импорт со сбоем', allowedCardTypes: ['counterparty'] });
    await setFolderAccess(admin, failing, [{ principalId: userIds.tanya, level: 'full' }]);
    const content = Buffer.from(['Наименование', ...Array.from({ length: 1200 }, (_, index) => `ООО «Сбой ${index + 1}»`)].join('\n'), 'utf8');
    // The run after its first batch meets what the re-test met: the driver's English error.
    let restore = failJobsAt('import', 500, () => new Error('connection <monitor> to 127.0.0.1:4501 timed out'));
    const shown = `query($id: ID!) { job(id: $id) { state errorMessage retryable progress { done total } } }`;
    type Shown = { state: string; errorMessage: string | null; retryable: boolean; progress: { done: number; total: number } };
    let first: { inspection: Inspection; job: Job };
    try {
      first = await importFile(server, tanya, { name: 'сбой.csv', content }, { folderId: failing, typeKey: 'counterparty' }, asIs);
    } finally {
      restore();
    }
    const failed = (await tanya.data<{ job: Shown }>(shown, { id: first.job.id })).job;
    expect(failed).to.deep.include({ state: 'failed', retryable: true, progress: { done: 500, total: 1200 } });
    expect(failed.errorMessage).to.equal(
      `Импорт остановился на строке 500 из 1\u00a0200: сбой на сервере (номер задания для администратора: ${first.job.id}; подробности — в журнале сервера). Записанное целыми пачками сохранено. Нажмите «Продолжить с места остановки» — импорт пойдёт со следующей строки, уже записанные строки не повторятся; или отмените записанное.`,
    );
    // The driver's text is for the server log (the job's number leads there), not for her.
    expect((await tanya.data<{ job: { error: string | null } }>('query($id: ID!) { job(id: $id) { error } }', { id: first.job.id })).job.error).to.equal(failed.errorMessage);
    // A database that never came back is said so.
    const lost = new mongoose.mongo.MongoNetworkError('connection <monitor> to 127.0.0.1:4501 timed out');
    expect(importFailureText('ru', new Error('wrapped', { cause: lost }), { done: 10_500, total: 20_001 }, false, 'x')).to.match(
      /^Импорт остановился на строке 10\u00a0500 из 20\u00a0001: пропала связь с базой данных/,
    );

    const continued = (await tanya.data<{ retryJob: Job }>(`mutation($id: ID!) { retryJob(id: $id) { ${JOB_FIELDS} } }`, { id: first.job.id })).retryJob;
    const ended = await finishedJob(tanya, continued.id);
    expect(ended.state, ended.error ?? '').to.equal('succeeded');
    expect(ended.result).to.include({ total: 1200, created: 1200, refused: 0 });
    const count = async () => (await tanya.data<{ cards: { totalCount: number } }>('query($f: ID!) { cards(folderId: $f) { totalCount } }', { f: failing })).cards.totalCount;
    expect(await count()).to.equal(1200);
    // Finished, its upload is gone.
    expect(await findFile(first.inspection.uploadId)).to.equal(null);

    // Failed again and undone: the upload goes and «Продолжить» is no longer offered.
    restore = failJobsAt('import', 500, () => new Error('boom'));
    let second: { inspection: Inspection; job: Job };
    try {
      second = await importFile(server, tanya, { name: 'сбой-2.csv', content }, { folderId: failing, typeKey: 'counterparty' }, asIs);
    } finally {
      restore();
    }
    expect(second.job.state).to.equal('failed');
    expect(await findFile(second.inspection.uploadId)).to.not.equal(null);
    const undo = (await tanya.data<{ undoImport: Job }>(`mutation($id: ID!) { undoImport(importId: $id) { ${JOB_FIELDS} } }`, { id: second.job.id })).undoImport;
    expect((await finishedJob(tanya, undo.id)).result).to.deep.include({ trashed: 500 });
    expect((await tanya.data<{ job: Shown }>(shown, { id: second.job.id })).job.retryable).to.equal(false);
    expect(await findFile(second.inspection.uploadId)).to.equal(null);
    expect(await count()).to.equal(1200);
  });

  it('the day-old sweep of uploads spares one a running import reads and one a failed import keeps for «Продолжить», for a day from the failure (s13 re-attack B5)', async () => {
    const folder = await createFolder(admin, { libraryId, name: 'Старые загрузки', allowedCardTypes: ['counterparty'] });
    await setFolderAccess(admin, folder, [{ principalId: userIds.tanya, level: 'full' }]);
    const content = Buffer.from(['Наименование', ...Array.from({ length: 600 }, (_, index) => `ООО «Давнее ${index + 1}»`)].join('\n'), 'utf8');
    const target = { folderId: folder, typeKey: 'counterparty' };
    const uploads = mongoose.connection.db!.collection('transfer.files');
    const uploadedDayAgo = (id: string) => uploads.updateOne({ _id: new Types.ObjectId(id) }, { $set: { uploadDate: new Date(Date.now() - 25 * 3600_000) } });
    // Any upload sweeps the day-old ones first.
    const sweep = async () => expect((await upload(server, tanya, 'другой.csv', Buffer.from('Наименование\nООО «Другое»\n'))).status).to.equal(201);

    const release = holdJobs('import');
    let running: { uploadId: string; jobId: string };
    try {
      const uploaded = await upload(server, tanya, 'давнее.csv', content);
      const input = { uploadId: uploaded.body.id!, ...target };
      const inspection = (await tanya.data<{ importInspection: Inspection }>(INSPECT, { input })).importInspection;
      const started = (await tanya.data<{ startImport: Job }>(START, { input, mapping: asIs(inspection), dryRun: false })).startImport;
      running = { uploadId: input.uploadId, jobId: started.id };
      await waitFor(async () => (await Job.findById(started.id).lean())?.state === 'running', 'the held import to run');
      await uploadedDayAgo(running.uploadId);
      await sweep();
      expect(await findFile(running.uploadId)).to.not.equal(null);
    } finally {
      release();
    }
    expect((await finishedJob(tanya, running.jobId)).result).to.include({ created: 600 });

    const restore = failJobsAt('import', 500, () => new Error('boom'));
    let failed: { inspection: Inspection; job: Job };
    try {
      failed = await importFile(server, tanya, { name: 'давнее-2.csv', content }, target, asIs);
    } finally {
      restore();
    }
    expect(failed.job.state).to.equal('failed');
    await uploadedDayAgo(failed.inspection.uploadId);
    await sweep();
    expect(await findFile(failed.inspection.uploadId)).to.not.equal(null);
    // A day after the failure it goes, and «Продолжить» says why it cannot.
    await Job.updateOne({ _id: new Types.ObjectId(failed.job.id) }, { $set: { finishedAt: new Date(Date.now() - 25 * 3600_000) } });
    await sweep();
    expect(await findFile(failed.inspection.uploadId)).to.equal(null);
    const shown = await tanya.data<{ job: { retryable: boolean } }>('query($id: ID!) { job(id: $id) { retryable } }', { id: failed.job.id });
    expect(shown.job.retryable).to.equal(false);
  });

  it('reports progress live, and an interrupted import resumes after its last written row; a cancelled one keeps what it wrote', async () => {
    const progressFolder = await createFolder(admin, { libraryId, name: 'Прогресс', allowedCardTypes: ['counterparty'] });
    await setFolderAccess(admin, progressFolder, [{ principalId: userIds.tanya, level: 'full' }]);
    type JobEvent = { jobEvents: { id: string; state: string; progress: { done: number; total: number | null } } };
    const events = new SseSubscription<JobEvent>(server.url, tanya.cookieHeader(), 'subscription { jobEvents { id state progress { done total } } }');
    // The app's one stream tells her of her own jobs too, and a colleague of none of them.
    type Live = { live: { job: { id: string; state: string } | null } };
    const liveQuery = 'subscription { live { job { id state } } }';
    const [tanyaLive, natashaLive] = [
      new SseSubscription<Live>(server.url, tanya.cookieHeader(), liveQuery),
      new SseSubscription<Live>(server.url, natasha.cookieHeader(), liveQuery),
    ];
    await Promise.all([events.ready, tanyaLive.ready, natashaLive.ready]);
    const small = Buffer.from('Наименование\nАльфа\nБета\nГамма\n', 'utf8');
    const { job } = await importFile(server, tanya, { name: 'три.csv', content: small }, { folderId: progressFolder, typeKey: 'counterparty' }, asIs);
    await waitFor(() => events.received.some((event) => event.jobEvents.id === job.id && event.jobEvents.state === 'succeeded'), 'the succeeded event');
    const mine = events.received.filter((event) => event.jobEvents.id === job.id).map((event) => event.jobEvents);
    expect(mine[0].state).to.equal('queued');
    expect(mine.some((event) => event.state === 'running' && event.progress.total === 3)).to.equal(true);
    expect(mine.at(-1)).to.deep.include({ state: 'succeeded', progress: { done: 3, total: 3 } });
    await waitFor(() => tanyaLive.received.some(({ live }) => live.job?.id === job.id && live.job.state === 'succeeded'), 'the succeeded job on her app stream');
    expect(tanyaLive.received.find(({ live }) => live.job?.id === job.id)?.live.job?.state).to.equal('queued');
    expect(natashaLive.received.filter(({ live }) => live.job)).to.deep.equal([]);
    for (const stream of [events, tanyaLive, natashaLive]) stream.close();

    // The job's own code, interrupted after its first batch (a server stopping), then run again as the runner would.
    const rows = Array.from({ length: 600 }, (_, index) => `Фирма ${String(index + 1).padStart(3, '0')}`);
    const uploaded = await upload(server, tanya, 'много.csv', Buffer.from(['Наименование', ...rows].join('\n'), 'utf8'));
    const params: ImportParams = {
      uploadId: uploaded.body.id!,
      fileName: 'много.csv',
      folderId: progressFolder,
      typeKey: 'counterparty',
      format: 'csv',
      sheet: null,
      encoding: 'utf-8',
      delimiter: ';',
      headerRow: 1,
      headers: ['Наименование'],
      mapping: { columns: ['name'], constants: {}, matchField: null, onMatch: 'skip', matchOtherFolders: false },
      dryRun: false,
      ip: '127.0.0.1',
    };
    const logger = createLogger(loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'silent' }));
    const run = async (jobId: string, stopAfter: number | null, why: 'shutdown' | 'cancel') => {
      const controller = new AbortController();
      let checkpoint: unknown = null;
      const result = importJob.run({
        jobId,
        ownerId: userIds.tanya,
        params,
        resumeFrom: null,
        signal: controller.signal,
        logger,
        progress: (done) => {
          if (stopAfter !== null && done >= stopAfter) controller.abort(new JobInterrupted(why));
        },
        checkpoint: async (value) => {
          checkpoint = value;
        },
      });
      return { result: await result, checkpoint };
    };
    const count = async (folder: string) =>
      (await tanya.data<{ cards: { totalCount: number } }>('query($f: ID!) { cards(folderId: $f) { totalCount } }', { f: folder })).cards.totalCount;
    const cardsIn = () => count(progressFolder);
    const before = await cardsIn();
    const resumedId = String(new Types.ObjectId());
    let stopped: unknown = null;
    await run(resumedId, 250, 'shutdown').catch((error: unknown) => {
      stopped = error;
    });
    expect(stopped).to.be.instanceOf(JobInterrupted);
    const afterFirst = await cardsIn();
    expect(afterFirst - before).to.be.within(250, 599);
    const resumed = await run(resumedId, null, 'shutdown');
    expect(resumed.result).to.include({ total: 600, created: 600, refused: 0, cancelled: false });
    // Every row once: none lost, none written twice.
    expect(await cardsIn()).to.equal(before + 600);

    // Cancelled: what was written stays, and the result says how much.
    const cancelledFolder = await createFolder(admin, { libraryId, name: 'Отмена', allowedCardTypes: ['counterparty'] });
    await setFolderAccess(admin, cancelledFolder, [{ principalId: userIds.tanya, level: 'full' }]);
    const other = await upload(server, tanya, 'много-2.csv', Buffer.from(['Наименование', ...rows.map((row) => `${row}-б`)].join('\n'), 'utf8'));
    params.uploadId = other.body.id!;
    params.folderId = cancelledFolder;
    const cancelled = await run(String(new Types.ObjectId()), 250, 'cancel');
    expect(cancelled.result.cancelled).to.equal(true);
    expect(cancelled.result.created).to.be.within(250, 599);
    expect(await count(cancelledFolder)).to.equal(cancelled.result.created);
  });

  /** A new folder of `library` where tanya may do anything, and a CSV of `count` counterparties named «`name` N» she uploaded and inspected for it. */
  const inspectedNames = async (library: string, name: string, count: number) => {
    const folderId = await createFolder(admin, { libraryId: library, name, allowedCardTypes: ['counterparty'] });
    await setFolderAccess(admin, folderId, [{ principalId: userIds.tanya, level: 'full' }]);
    const rows = Array.from({ length: count }, (_, index) => `${name} ${index + 1}`);
    const uploaded = await upload(server, tanya, `${name}.csv`, Buffer.from(['Наименование', ...rows].join('\n'), 'utf8'));
    const input = { uploadId: uploaded.body.id, folderId, typeKey: 'counterparty' };
    return { folder: folderId, input, inspection: (await tanya.data<{ importInspection: Inspection }>(INSPECT, { input })).importInspection };
  };

  it('«Отменить» while a batch is being written rolls that batch back: the folder holds what the page said was done at the click, no more (s14 user U3)', async () => {
    const { folder, input, inspection } = await inspectedNames(libraryId, 'Посреди пачки', 1200);
    // The second batch stays inside its transaction until the job hears of the cancel (or 10 s pass, as a slow batch would).
    const held = holdBatchInside('import', 2, 10_000);
    try {
      const started = (await tanya.data<{ startImport: Job }>(START, { input, mapping: asIs(inspection), dryRun: false })).startImport;
      await held.reached;
      const shown = (await tanya.data<{ job: Job }>(`query($id: ID!) { job(id: $id) { ${JOB_FIELDS} } }`, { id: started.id })).job;
      expect(shown.progress).to.deep.equal({ done: 500, total: 1200 });
      await tanya.data('mutation($id: ID!) { cancelJob(id: $id) { id } }', { id: started.id });
      const job = await finishedJob(tanya, started.id);
      expect(job.state).to.equal('cancelled');
      expect(job.result).to.include({ created: 500, cancelled: true });
      const count = await tanya.data<{ cards: { totalCount: number } }>('query($f: ID!) { cards(folderId: $f) { totalCount } }', { f: folder });
      expect(count.cards.totalCount).to.equal(500);
    } finally {
      held.restore();
    }
  });

  it('an import whose folder is moved to another library meanwhile writes every card with the folder’s new library — none stays readable to the old library’s readers (s15 attack A2)', async () => {
    const [from, to] = [await createLibrary(admin, 'Откуда A2'), await createLibrary(admin, 'Куда A2')];
    const { folder, input, inspection } = await inspectedNames(from, 'Переезд', 1200);
    // The folder moves while the second batch is being written (it read the folder before the move).
    const held = holdBatchInside('import', 2, 30_000);
    try {
      const started = (await tanya.data<{ startImport: Job }>(START, { input, mapping: asIs(inspection), dryRun: false })).startImport;
      await held.reached;
      await admin.data('mutation($id: ID!, $l: ID!) { moveFolder(id: $id, libraryId: $l) { id } }', { id: folder, l: to });
      held.release();
      const job = await finishedJob(tanya, started.id);
      expect(job.state, job.error ?? '').to.equal('succeeded');
      expect(job.result).to.include({ created: 1200 });
    } finally {
      held.restore();
    }
    const libraries = await Card.aggregate<{ _id: unknown; count: number }>([
      { $match: { folderId: new Types.ObjectId(folder) } },
      { $group: { _id: '$libraryId', count: { $sum: 1 } } },
    ]);
    expect(libraries.map((group) => [String(group._id), group.count])).to.deep.equal([[to, 1200]]);
  });
});
