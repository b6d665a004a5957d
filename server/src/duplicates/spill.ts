import { createReadStream } from 'node:fs';
import { mkdtemp, open, readFile, rm, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';

/** Bytes a file's records are gathered in before they are written (per file: memory stays bounded whatever the installation). */
const BUFFER_BYTES = 256 * 1024;

/** An append-only file of JSON records, one a line, written through a small buffer. */
class RecordFile {
  private handle: FileHandle | null = null;
  private pending: string[] = [];
  private size = 0;
  /** Something was written (the file exists). */
  wrote = false;
  /** Bytes written so far. */
  bytes = 0;
  /** Records added so far. */
  records = 0;

  constructor(readonly file: string) {}

  async add(record: unknown): Promise<void> {
    const line = `${JSON.stringify(record)}\n`;
    this.records += 1;
    this.pending.push(line);
    this.size += line.length;
    if (this.size >= BUFFER_BYTES) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.pending.length === 0) return;
    this.handle ??= await open(this.file, 'a');
    this.wrote = true;
    const text = this.pending.join('');
    this.pending = [];
    this.size = 0;
    const { bytesWritten } = await this.handle.write(text);
    this.bytes += bytesWritten;
  }

  async close(): Promise<void> {
    await this.flush();
    await this.handle?.close();
    this.handle = null;
  }
}

/**
 * Records spilled to temporary files so that a scan's memory does not grow with the installation:
 * `stream` is one file read back in the order written; `buckets` split records by a key's hash, so
 * that each bucket holds every record of its keys and can be grouped in memory on its own.
 */
export class Spill {
  private constructor(
    private readonly dir: string,
    private readonly stream: RecordFile,
    private readonly buckets: RecordFile[],
  ) {}

  static async create(prefix: string, buckets: number): Promise<Spill> {
    const dir = await mkdtemp(path.join(tmpdir(), prefix));
    return new Spill(
      dir,
      new RecordFile(path.join(dir, 'stream')),
      Array.from({ length: buckets }, (_, at) => new RecordFile(path.join(dir, `bucket-${at}`))),
    );
  }

  get bucketCount(): number {
    return this.buckets.length;
  }

  /** Bytes written to all the files so far (what the spill costs on disk). */
  get bytes(): number {
    return [this.stream, ...this.buckets].reduce((sum, file) => sum + file.bytes, 0);
  }

  /** Records appended to the stream, and put in the buckets, so far (the work of reading them back). */
  get streamRecords(): number {
    return this.stream.records;
  }

  get bucketRecords(): number {
    return this.buckets.reduce((sum, file) => sum + file.records, 0);
  }

  append(record: unknown): Promise<void> {
    return this.stream.add(record);
  }

  toBucket(bucket: number, record: unknown): Promise<void> {
    return this.buckets[bucket].add(record);
  }

  /** The stream's records in the order written (read line by line). */
  async *readStream<T>(): AsyncGenerator<T> {
    await this.stream.close();
    if (!this.stream.wrote) return;
    const lines = createInterface({ input: createReadStream(this.stream.file), crlfDelay: Infinity });
    for await (const line of lines) if (line) yield JSON.parse(line) as T;
  }

  /** One bucket's records, in the order written (a bucket is small enough to be held whole). */
  async readBucket<T>(bucket: number): Promise<T[]> {
    const file = this.buckets[bucket];
    await file.close();
    if (!file.wrote) return [];
    return (await readFile(file.file, 'utf8'))
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as T);
  }

  /** Closes every file and removes them. */
  async dispose(): Promise<void> {
    await Promise.allSettled([this.stream, ...this.buckets].map((file) => file.close()));
    await rm(this.dir, { recursive: true, force: true });
  }
}
