/**
 * `npm run bench:export [-- --cards 100000]`: a folder of N counterparties exported over HTTP by a
 * holder of «Экспорт», as `.xlsx` and as `.csv`, the way the folder's «Экспорт ▾» asks for it. The
 * server starts as `npm start` does (MONGODB_URI, else the built-in database in its own process);
 * the cards are written straight into the database beforehand (what an import would make of them).
 * Prints per format: the time to the last byte, the file size, cards per second, the server's CPU
 * time and how far its resident memory and its JavaScript heap rose above where they were when the
 * export began (sampled every 50 ms). `--kib-per-second N` reads the download at most that fast (a
 * slow client: the export must wait for it rather than hold the file in memory); `--live` also
 * collects garbage each second and prints the most the heap held right after a collection (what the
 * export keeps, apart from garbage). Prints numbers; asserts nothing.
 */
import { parseArgs } from 'node:util';
import { Types } from 'mongoose';
import type { Actor } from '../server/src/access/actor';
import { findCardType } from '../server/src/card-types/registry';
import { Card } from '../server/src/cards/model';
import { newCardDocument } from '../server/src/cards/service';
import { Folder } from '../server/src/folders/models';
import { addToSystemGroup, createCorrespondents } from '../test/support/fixtures';
import { SseSubscription } from '../test/support/sse';
import { BENCH_ADMIN, childrenCpuSeconds, cpuSeconds, inn, loadAverage, printMachine, signedIn, startServerAsNpmStart } from './support';

const { values } = parseArgs({
  options: { cards: { type: 'string', default: '100000' }, 'kib-per-second': { type: 'string', default: '0' }, live: { type: 'boolean', default: false } },
});
const CARDS = Number(values.cards);
const READ_BYTES_PER_SECOND = Number(values['kib-per-second']) * 1024;
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
      const before = process.memoryUsage();
      let rssPeak = before.rss;
      let heapPeak = before.heapUsed;
      let livePeak = before.heapUsed;
      const sampler = setInterval(() => {
        const now = process.memoryUsage();
        rssPeak = Math.max(rssPeak, now.rss);
        heapPeak = Math.max(heapPeak, now.heapUsed);
      }, 50);
      // `--live`: what the export holds, apart from garbage not yet collected — the heap right after a
      // full collection, each second (the collections change the RSS figures; compare runs without it).
      const liveSampler = values.live
        ? setInterval(() => {
            global.gc?.();
            livePeak = Math.max(livePeak, process.memoryUsage().heapUsed);
          }, 1000)
        : undefined;
      const cpu = process.cpuUsage();
      const databaseCpu = childrenCpuSeconds();
      const started = performance.now();
      // As the page asks: with a progressId, its rows of the total told on the exporter's live stream.
      type Live = { live: { exportProgress: { rows: number; total: number } | null } };
      const live = new SseSubscription<Live>(server.url, exporter.cookieHeader(), 'subscription { live { exportProgress { rows total } } }');
      await live.ready;
      const response = await fetch(`${server.url}/transfer/export?folderId=${folderId}&format=${format}&progressId=bench-${format}`, {
        headers: { cookie: exporter.cookieHeader() },
      });
      let bytes = 0;
      let lines = 0;
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        bytes += chunk.length;
        if (format === 'csv') for (const byte of chunk) if (byte === 0x0a) lines += 1;
        const behind = READ_BYTES_PER_SECOND > 0 ? (bytes / READ_BYTES_PER_SECOND) * 1000 - (performance.now() - started) : 0;
        if (behind > 0) await new Promise((resolve) => setTimeout(resolve, behind));
      }
      const seconds = (performance.now() - started) / 1000;
      await new Promise((resolve) => setTimeout(resolve, 500));
      live.close();
      const told = live.received.flatMap(({ live: update }) => (update.exportProgress ? [update.exportProgress] : []));
      clearInterval(sampler);
      clearInterval(liveSampler);
      const databaseSeconds = databaseCpu === null ? null : childrenCpuSeconds()! - databaseCpu;
      const rows = format === 'csv' ? `${lines - 1} rows` : 'rows as audited';
      console.log(
        `${format}: HTTP ${response.status}, ${mib(bytes)} (${rows}) in ${seconds.toFixed(1)} s → ${(CARDS / seconds).toFixed(0)} cards/s; ` +
          `CPU: server ${cpuSeconds(process.cpuUsage(cpu)).toFixed(1)} s${databaseSeconds === null ? '' : `, database process ${databaseSeconds.toFixed(1)} s`}; ` +
          `server RSS ${mib(before.rss)} → peak ${mib(rssPeak)} (+${mib(rssPeak - before.rss)}), heap used ${mib(before.heapUsed)} → peak ${mib(heapPeak)} (+${mib(heapPeak - before.heapUsed)})` +
          `${values.live ? `, live after a collection +${mib(livePeak - before.heapUsed)} at most` : ''}` +
          `${READ_BYTES_PER_SECOND > 0 ? `, read at ≤ ${values['kib-per-second']} KiB/s` : ''}; ` +
          `progress told ${told.length} times, last ${told.at(-1)?.rows ?? '—'} of ${told.at(-1)?.total ?? '—'} rows; load average ${loadAverage()}`,
      );
    }
    const audit = await admin.data<{ auditLog: { edges: { node: { summary: string } }[] } }>('{ auditLog(kind: "cards-exported") { edges { node { summary } } } }');
    console.log(`audited: ${audit.auditLog.edges.map((edge) => edge.node.summary).join(' | ')}`);
  } finally {
    await stop();
  }
}

await main();
