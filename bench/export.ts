/**
 * `npm run bench:export [-- --cards 100000]`: a folder of N counterparties exported over HTTP by a
 * holder of «Экспорт», as `.xlsx` and as `.csv`, the way the folder's «Экспорт ▾» asks for it. The
 * server starts as `npm start` does (MONGODB_URI, else the built-in database in its own process);
 * the cards are written straight into the database beforehand (what an import would make of them).
 * Prints per format: the time to the last byte, the file size, cards per second, the server's CPU
 * time and how far its resident memory rose above where it was when the export began (sampled
 * every 50 ms). Prints numbers; asserts nothing.
 */
import { parseArgs } from 'node:util';
import { Types } from 'mongoose';
import type { Actor } from '../server/src/access/actor';
import { findCardType } from '../server/src/card-types/registry';
import { Card } from '../server/src/cards/model';
import { newCardDocument } from '../server/src/cards/service';
import { Folder } from '../server/src/folders/models';
import { addToSystemGroup, createCorrespondents } from '../test/support/fixtures';
import { BENCH_ADMIN, childrenCpuSeconds, cpuSeconds, inn, loadAverage, printMachine, signedIn, startServerAsNpmStart } from './support';

const { values } = parseArgs({ options: { cards: { type: 'string', default: '100000' } } });
const CARDS = Number(values.cards);
const PASSWORD = 'bench-password-1';
const INSERT_BATCH = 2000;

const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

async function main(): Promise<void> {
  printMachine();
  const { server, stop } = await startServerAsNpmStart();
  try {
    const admin = await signedIn(server.url, BENCH_ADMIN.login, BENCH_ADMIN.password);
    const { folderId, userIds } = await createCorrespondents(admin, PASSWORD, [{ login: 'exporter', fullName: 'Доверенное лицо', level: 'read' }]);
    await addToSystemGroup(admin, 'exporters', [userIds.exporter]);
    const exporter = await signedIn(server.url, 'exporter', PASSWORD);

    const type = (await findCardType('counterparty'))!;
    const folder = (await Folder.findById(folderId, { libraryId: 1 }).lean<{ _id: Types.ObjectId; libraryId: Types.ObjectId }>())!;
    const author = { userId: userIds.exporter } as Actor;
    const filled = performance.now();
    for (let start = 1; start <= CARDS; start += INSERT_BATCH) {
      const docs = [];
      for (let n = start; n < Math.min(CARDS + 1, start + INSERT_BATCH); n += 1) {
        const values = {
          name: `ООО «Клиент ${n}»`,
          inn: inn(n),
          phone: `+7495${String(1_000_000 + (n % 9_000_000)).slice(-7)}`,
          email: `client${n}@example.ru`,
          website: `https://client${n}.example.ru`,
          tags: ['экспорт', `группа ${n % 10}`],
          manager: userIds.exporter,
          notes: `карточка ${n}`,
        };
        docs.push(newCardDocument(author, type, folder, values, new Date()));
      }
      await Card.collection.insertMany(docs, { ordered: false });
    }
    console.log(
      `database: ${server.database.kind}; ${CARDS} counterparties in one folder (written in ${((performance.now() - filled) / 1000).toFixed(1)} s); load average ${loadAverage()}`,
    );

    for (const format of ['xlsx', 'csv'] as const) {
      global.gc?.();
      const rssBefore = process.memoryUsage().rss;
      let rssPeak = rssBefore;
      const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, process.memoryUsage().rss)), 50);
      const cpu = process.cpuUsage();
      const databaseCpu = childrenCpuSeconds();
      const started = performance.now();
      const response = await fetch(`${server.url}/transfer/export?folderId=${folderId}&format=${format}`, { headers: { cookie: exporter.cookieHeader() } });
      let bytes = 0;
      let lines = 0;
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        bytes += chunk.length;
        if (format === 'csv') for (const byte of chunk) if (byte === 0x0a) lines += 1;
      }
      const seconds = (performance.now() - started) / 1000;
      clearInterval(sampler);
      const databaseSeconds = databaseCpu === null ? null : childrenCpuSeconds()! - databaseCpu;
      const rows = format === 'csv' ? `${lines - 1} rows` : 'rows as audited';
      console.log(
        `${format}: HTTP ${response.status}, ${mib(bytes)} (${rows}) in ${seconds.toFixed(1)} s → ${(CARDS / seconds).toFixed(0)} cards/s; ` +
          `CPU: server ${cpuSeconds(process.cpuUsage(cpu)).toFixed(1)} s${databaseSeconds === null ? '' : `, database process ${databaseSeconds.toFixed(1)} s`}; ` +
          `server RSS ${mib(rssBefore)} → peak ${mib(rssPeak)} (+${mib(rssPeak - rssBefore)}); load average ${loadAverage()}`,
      );
    }
    const audit = await admin.data<{ auditLog: { edges: { node: { summary: string } }[] } }>('{ auditLog(kind: "cards-exported") { edges { node { summary } } } }');
    console.log(`audited: ${audit.auditLog.edges.map((edge) => edge.node.summary).join(' | ')}`);
  } finally {
    await stop();
  }
}

await main();
