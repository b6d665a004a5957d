import { extractText, getDocumentProxy } from 'unpdf';

/** The text layer of a PDF, page by page (unpdf's pdf.js); pages without text are empty strings. Run off the main thread: see `storedPdfTexts`. */
export async function pdfPageTexts(content: Uint8Array): Promise<string[]> {
  // pdf.js takes a plain Uint8Array only (not a Buffer).
  const pdf = await getDocumentProxy(new Uint8Array(content.buffer, content.byteOffset, content.byteLength));
  try {
    return (await extractText(pdf, { mergePages: false })).text;
  } finally {
    await pdf.destroy();
  }
}
