import JSZip from 'jszip';

/** An Office file (xlsx, docx) with one part replaced, packed again with deflate. */
export async function withPart(office: Buffer, path: string, content: string): Promise<Buffer> {
  const zip = await JSZip.loadAsync(office);
  zip.file(path, content);
  return zip.generateAsync({ type: 'nodebuffer', compression: 'DEFLATE', compressionOptions: { level: 9 } });
}

/**
 * The same archive with the unpacked size of one entry understated in its local header and in
 * the central directory (what a crafted "zip bomb" does to get past a check of declared sizes).
 */
export function understated(zip: Buffer, path: string, declared: number): Buffer {
  const out = Buffer.from(zip);
  const name = Buffer.from(path);
  let patched = 0;
  for (let at = 0; at < out.length - 46; at += 1) {
    const signature = out.readUInt32LE(at);
    // Local file header: size at +22, name length at +26, name at +30. Central directory: +24, +28, +46.
    const [sizeAt, lengthAt, nameAt] = signature === 0x04034b50 ? [22, 26, 30] : signature === 0x02014b50 ? [24, 28, 46] : [0, 0, 0];
    if (!nameAt || out.readUInt16LE(at + lengthAt) !== name.length || !out.subarray(at + nameAt, at + nameAt + name.length).equals(name)) continue;
    out.writeUInt32LE(declared, at + sizeAt);
    patched += 1;
  }
  if (patched !== 2) throw new Error(`expected a local header and a directory entry for ${path}, patched ${patched}`);
  return out;
}
