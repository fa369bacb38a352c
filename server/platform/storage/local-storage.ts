import { randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { copyFile, mkdir, readdir, realpath, rename, rm, stat } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { isStorageKey, type ByteRange, type PutOptions, type Storage, type StoredObjectInfo } from './storage.js';

/** Folder of upload spools inside the storage root; not reachable by keys (they contain no dot folders). */
export const TEMP_FOLDER = '.tmp';

/**
 * Files under a directory (`STORAGE_DIR`), which every instance and worker must share (one
 * volume, or an NFS mount) for uploads made on one instance to be served by another.
 *
 * Every path is derived from a generated key, resolved, and checked to lie inside the root
 * before any filesystem call, so neither a key nor a folder can point outside it.
 */
export class LocalStorage implements Storage {
  readonly provider = 'local' as const;
  #root: string;

  private constructor(root: string) {
    this.#root = root;
  }

  /** Creates the root and its temporary folder when missing, and resolves symlinks once. */
  static async open(directory: string): Promise<LocalStorage> {
    await mkdir(join(resolve(directory), TEMP_FOLDER), { recursive: true });
    return new LocalStorage(await realpath(resolve(directory)));
  }

  get root(): string {
    return this.#root;
  }

  /** The absolute path of `relativePath`, which must stay inside the root. */
  #inside(relativePath: string): string {
    const absolute = resolve(this.#root, relativePath);
    const rel = relative(this.#root, absolute);
    if (rel === '' || rel.startsWith('..') || isAbsolute(rel) || rel.split(sep).includes('..')) {
      throw new Error(`Storage path escapes the storage root: ${relativePath}`);
    }
    return absolute;
  }

  #pathOf(key: string): string {
    if (!isStorageKey(key)) throw new Error(`Not a storage key: ${key}`);
    return this.#inside(key);
  }

  #newKey({ folder, extension }: PutOptions): string {
    const key = `${folder ? `${folder}/` : ''}${randomUUID()}.${extension.toLowerCase()}`;
    if (!isStorageKey(key)) throw new Error(`Invalid folder or extension for a storage key: ${key}`);
    return key;
  }

  async createTempPath(): Promise<string> {
    const directory = this.#inside(TEMP_FOLDER);
    await mkdir(directory, { recursive: true });
    return join(directory, `${randomUUID()}.part`);
  }

  async discardTemp(tempPath: string): Promise<void> {
    const absolute = this.#inside(relative(this.#root, tempPath));
    if (dirname(absolute) !== this.#inside(TEMP_FOLDER)) throw new Error(`Not a temporary upload path: ${tempPath}`);
    await rm(absolute, { force: true });
  }

  async put(source: { tempPath: string } | Readable, options: PutOptions): Promise<string> {
    const key = this.#newKey(options);
    const target = this.#pathOf(key);
    await mkdir(dirname(target), { recursive: true });
    if ('tempPath' in source) {
      const from = this.#inside(relative(this.#root, source.tempPath));
      try {
        // Same filesystem: atomic, so readers never see a half-written object.
        await rename(from, target);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EXDEV') throw error;
        await copyFile(from, target);
        await rm(from, { force: true });
      }
      return key;
    }
    const tempPath = await this.createTempPath();
    try {
      await pipeline(source, createWriteStream(tempPath, { flags: 'wx' }));
      await rename(tempPath, target);
    } catch (error) {
      await rm(tempPath, { force: true });
      throw error;
    }
    return key;
  }

  async createReadStream(key: string, range?: ByteRange): Promise<Readable> {
    const path = this.#pathOf(key);
    const stream = createReadStream(path, range ? { start: range.start, end: range.end } : {});
    // Surface "no such file" here rather than as a stream error after the headers went out.
    await new Promise<void>((resolveOpen, rejectOpen) => {
      stream.once('open', () => resolveOpen());
      stream.once('error', rejectOpen);
    });
    return stream;
  }

  async stat(key: string): Promise<StoredObjectInfo | null> {
    try {
      const info = await stat(this.#pathOf(key));
      return info.isFile() ? { size: info.size, modifiedAt: info.mtime } : null;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
  }

  async delete(key: string): Promise<void> {
    await rm(this.#pathOf(key), { force: true });
  }

  /**
   * Removes spools older than `maxAgeMs` that a crashed process left behind. Younger ones may
   * belong to an upload in progress on another instance sharing the directory.
   */
  async sweepTemp(maxAgeMs: number, now = Date.now()): Promise<number> {
    const directory = this.#inside(TEMP_FOLDER);
    let removed = 0;
    for (const name of await readdir(directory).catch(() => [] as string[])) {
      const path = join(directory, name);
      const info = await stat(path).catch(() => null);
      if (info && now - info.mtimeMs > maxAgeMs) {
        await rm(path, { force: true, recursive: true });
        removed++;
      }
    }
    return removed;
  }
}
