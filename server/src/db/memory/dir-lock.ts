/**
 * One process per data directory. Two LMDB environments opened over one directory each keep their
 * own idea of which pages are free, and acknowledged writes are lost; so a durable directory is
 * claimed with `kartoteka.lock`, created exclusively and holding the owner's pid. A lock whose
 * process no longer runs (killed, machine restarted) is stale and taken over.
 */
import { closeSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';

export const LOCK_FILE = 'kartoteka.lock';

/** Whether a process with this pid runs (EPERM: it does, as another user). */
function running(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0 || pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function ownerOf(file: string): number | null {
  try {
    return Number(readFileSync(file, 'utf8').trim());
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

/**
 * Claims `directory` for this process; returns the release. Throws, naming the directory and the
 * owner, while another running process holds it.
 */
export function lockDirectory(directory: string): () => void {
  const file = path.join(directory, LOCK_FILE);
  for (let attempt = 0; attempt < 3; attempt += 1) {
    try {
      const fd = openSync(file, 'wx');
      try {
        writeSync(fd, `${process.pid}\n`);
      } finally {
        closeSync(fd);
      }
      const release = () => {
        if (ownerOf(file) === process.pid) rmSync(file, { force: true });
      };
      process.once('exit', release);
      return () => {
        process.off('exit', release);
        release();
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const owner = ownerOf(file);
    if (owner !== null && running(owner)) {
      throw new Error(
        `the data directory ${path.resolve(directory)} is in use by another process (pid ${owner}): one database process per directory. Stop it first; if no such process runs, delete ${file}`,
      );
    }
    // Left by a process that is gone: take it over.
    rmSync(file, { force: true });
  }
  throw new Error(`the data directory ${path.resolve(directory)} could not be locked (${file} keeps reappearing)`);
}
