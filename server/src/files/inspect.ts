import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { PassThrough, Transform, type TransformCallback } from 'node:stream';
import { fileTypeFromStream } from 'file-type/node';
import { fileTypeOfContent, type FileType } from '../../../card-types';

/** How much of the start of a file decides whether it is plain text. */
const TEXT_SAMPLE_BYTES = 64 * 1024;

export class FileTooLargeError extends Error {
  constructor(readonly limit: number) {
    super(`the file is larger than ${limit} bytes`);
  }
}

/**
 * Passes a file's bytes through while learning what they are: their SHA-256 and size, and their
 * type by content. `file-type` reads the bytes it needs from a side stream as they pass (office
 * documents are ZIP archives recognised by entries anywhere in them); nothing is held beyond the
 * side stream's buffer and a 64 KB sample that tells plain text. More than `limit` bytes fail the stream.
 */
export class FileInspection extends Transform {
  private readonly hash = createHash('sha256');
  private readonly decoder = new TextDecoder('utf-8', { fatal: true });
  private size = 0;
  private text = true;
  private readonly detector = new PassThrough();
  private detecting = true;
  private readonly detection: Promise<string | undefined>;

  constructor(private readonly limit: number) {
    super();
    // The Node stream itself, not a web stream made of it: Readable.toWeb's adapter throws
    // (ERR_INVALID_STATE, uncaught) when the side stream ends after the reader stopped, as it does
    // when a client cuts the upload off.
    this.detection = fileTypeFromStream(this.detector).then(
      (found) => found?.ext,
      () => undefined,
    );
    void this.detection.finally(() => {
      this.detecting = false;
      this.detector.destroy();
    });
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.size += chunk.length;
    if (this.size > this.limit) {
      callback(new FileTooLargeError(this.limit));
      return;
    }
    this.hash.update(chunk);
    this.sampleText(chunk);
    this.push(chunk);
    if (!this.detecting || this.detector.write(chunk)) {
      callback();
      return;
    }
    // The detector reads at its own pace; wait for it (or for its verdict) before taking more.
    void Promise.race([once(this.detector, 'drain'), this.detection]).then(() => callback(), callback);
  }

  override _flush(callback: TransformCallback): void {
    if (this.detecting) this.detector.end();
    callback();
  }

  private sampleText(chunk: Buffer): void {
    const seen = this.size - chunk.length;
    if (!this.text || seen >= TEXT_SAMPLE_BYTES) return;
    const part = chunk.subarray(0, TEXT_SAMPLE_BYTES - seen);
    try {
      this.decoder.decode(part, { stream: true });
      if (part.includes(0)) this.text = false;
    } catch {
      this.text = false;
    }
  }

  /** What the bytes were, once they have all passed. */
  async result(name: string): Promise<{ size: number; sha256: string; type: FileType | undefined }> {
    const sniffed = await this.detection;
    return { size: this.size, sha256: this.hash.digest('hex'), type: fileTypeOfContent(sniffed, this.text && this.size > 0, name) };
  }
}
