import { once } from 'node:events';
import { createDeflate, deflateSync } from 'node:zlib';

/**
 * Hand-written PDFs for the active-content tests: one page of text («title») and whatever objects a
 * test adds, with a classic cross-reference table. Byte for byte what a hostile producer can write.
 */

export type PdfObject = [number, string | Buffer];

const bytes = (body: string | Buffer) => (typeof body === 'string' ? Buffer.from(body, 'latin1') : body);

/** A stream object's body: its dictionary entries (`extra`) and its data. */
export function streamBody(data: Buffer, extra = ''): Buffer {
  return Buffer.concat([bytes(`<< ${extra} /Length ${data.length} >>\nstream\n`), data, bytes('\nendstream')]);
}

/** The catalog (1), pages (2), a page (3) with its text (4) and font (5); `catalog` and `page` add entries. */
export function pageObjects(title: string, options: { catalog?: string; page?: string } = {}): PdfObject[] {
  return [
    [1, `<< /Type /Catalog /Pages 2 0 R ${options.catalog ?? ''} >>`],
    [2, '<< /Type /Pages /Kids [3 0 R] /Count 1 >>'],
    [3, `<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> ${options.page ?? ''} >>`],
    [4, streamBody(Buffer.from(`BT /F1 18 Tf 72 720 Td (${title}) Tj ET`))],
    [5, '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>'],
  ];
}

/**
 * The PDF of these objects, in order (an object number may come twice), and a cross-reference table
 * pointing at the first definition of each number unless `offsets` says otherwise (given the bytes
 * so far, where the table should point instead).
 */
export function buildPdf(objects: PdfObject[], options: { offsets?: Record<number, (written: Buffer) => number>; trailer?: string } = {}): Buffer {
  const parts: Buffer[] = [Buffer.from('%PDF-1.7\n%\xe2\xe3\xcf\xd3\n', 'latin1')];
  let length = parts[0].length;
  const offsets = new Map<number, number>();
  for (const [number, body] of objects) {
    if (!offsets.has(number)) offsets.set(number, length);
    const part = Buffer.concat([bytes(`${number} 0 obj\n`), bytes(body), bytes('\nendobj\n')]);
    parts.push(part);
    length += part.length;
  }
  const written = Buffer.concat(parts);
  for (const [number, at] of Object.entries(options.offsets ?? {})) offsets.set(Number(number), at(written));
  const size = Math.max(...offsets.keys()) + 1;
  const rows = Array.from({ length: size }, (_, number) => (offsets.has(number) ? `${String(offsets.get(number)).padStart(10, '0')} 00000 n \n` : '0000000000 65535 f \n'));
  const table = `xref\n0 ${size}\n${rows.join('')}trailer\n<< /Size ${size} /Root 1 0 R ${options.trailer ?? ''} >>\nstartxref\n${written.length}\n%%EOF\n`;
  return Buffer.concat([written, bytes(table)]);
}

/**
 * A PDF whose object 6 (what the catalog's extra entries point at) lives in a Flate object stream
 * (object 7) with the dictionary entries `objectStream` (e.g. `/Type /ObjStm`), found through a
 * cross-reference stream (object 8), as modern producers write them; `compressed: false` leaves its
 * data uncompressed, `trailing` adds entries after /First.
 */
export function pdfWithObjectStream(title: string, catalog: string, object6: string, objectStream: string, options: { compressed?: boolean; trailing?: string } = {}): Buffer {
  const objects = pageObjects(title, { catalog });
  const header = '6 0 ';
  const compressed = options.compressed ?? true;
  const plain = Buffer.from(header + object6, 'latin1');
  const packed = compressed ? deflateSync(plain) : plain;
  const parts: Buffer[] = [Buffer.from('%PDF-1.7\n', 'latin1')];
  const offsets: number[] = [];
  const add = (number: number, body: string | Buffer) => {
    offsets[number] = Buffer.concat(parts).length;
    parts.push(Buffer.concat([bytes(`${number} 0 obj\n`), bytes(body), bytes('\nendobj\n')]));
  };
  for (const [number, body] of objects) add(number, body);
  add(7, streamBody(packed, `${objectStream} /N 1 /First ${header.length}${compressed ? ' /Filter /FlateDecode' : ''} ${options.trailing ?? ''}`));
  const xrefAt = Buffer.concat(parts).length;
  const rows = [Buffer.from([0, 0, 0, 0, 0, 0xff, 0xff])];
  for (let number = 1; number <= 8; number += 1) {
    const row = Buffer.alloc(7);
    if (number === 6) {
      row.writeUInt8(2, 0);
      row.writeUInt32BE(7, 1);
    } else {
      row.writeUInt8(1, 0);
      row.writeUInt32BE(number === 8 ? xrefAt : offsets[number], 1);
    }
    rows.push(row);
  }
  const table = Buffer.concat(rows);
  parts.push(Buffer.concat([bytes('8 0 obj\n'), streamBody(table, '/Type /XRef /Size 9 /W [1 4 2] /Root 1 0 R'), bytes(`\nendobj\nstartxref\n${xrefAt}\n%%EOF\n`)]));
  return Buffer.concat(parts);
}

/** `megabytes` of spaces, deflated (a few hundred kilobytes), without holding them. */
export async function deflatedSpaces(megabytes: number): Promise<Buffer> {
  const deflate = createDeflate({ level: 9 });
  const out: Buffer[] = [];
  deflate.on('data', (chunk: Buffer) => out.push(chunk));
  const block = Buffer.alloc(1024 * 1024, 0x20);
  for (let written = 0; written < megabytes; written += 1) if (!deflate.write(block)) await once(deflate, 'drain');
  deflate.end();
  await once(deflate, 'end');
  return Buffer.concat(out);
}

/**
 * A one-page PDF with object streams (objects 7, 8, …) whose data inflate to `megabytes` of spaces
 * each: a compression bomb of a few hundred kilobytes.
 */
export async function objectStreamBomb(...megabytes: number[]): Promise<Buffer> {
  const streams: PdfObject[] = [];
  for (const [index, size] of megabytes.entries()) streams.push([7 + index, streamBody(await deflatedSpaces(size), '/Type /ObjStm /N 1 /First 4 /Filter /FlateDecode')]);
  return buildPdf([...pageObjects('Bomb'), ...streams]);
}
