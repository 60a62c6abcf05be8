// The embedded datastore (DATASTORE_TYPE=file): a directory, or a list of YAML/JSON files, of
// the same resources the Kubernetes datastore watches (Pods, Namespaces, ServiceAccounts,
// NetworkPolicies, Calico policies, tiers and network sets). Reloaded when the files change;
// each reload is diffed against what is in force, so only real changes reach the calculation.
import { watch, type FSWatcher } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { dirname, extname, join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { Logger } from '../../daemon/log.js';
import { isRecord } from '../../calico/spec-fields.js';
import type { Datastore, DatastoreCallbacks } from './object-tracker.js';
import { ObjectTracker } from './object-tracker.js';

export interface FileDatastoreOptions {
  /** Directories (read recursively) and/or files. */
  readonly paths: readonly string[];
  readonly log: Logger;
  /** Safety net for file systems where fs.watch misses changes. */
  readonly pollIntervalMs?: number;
  /** Coalesces the burst of events an editor's save produces. */
  readonly debounceMs?: number;
}

const EXTENSIONS = new Set(['.yaml', '.yml', '.json']);

export class FileDatastore implements Datastore {
  private tracker: ObjectTracker | null = null;
  private readonly watchers: FSWatcher[] = [];
  private pollTimer: NodeJS.Timeout | null = null;
  private debounceTimer: NodeJS.Timeout | null = null;
  /** Per file: what it looked like when last read, and the objects it held. */
  private readonly files = new Map<string, { readonly stamp: string; readonly keys: readonly string[] }>();
  private reloading: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(private readonly opts: FileDatastoreOptions) {}

  async start(callbacks: DatastoreCallbacks): Promise<void> {
    this.tracker = new ObjectTracker(callbacks);
    await this.reload();
    callbacks.onEvent({ type: 'in-sync' });
    for (const dir of new Set(await this.watchedDirectories())) {
      try {
        const w = watch(dir, { recursive: false }, () => this.scheduleReload());
        w.on('error', (err) =>
          this.opts.log.warn({ dir, err }, 'file datastore watch failed; relying on polling'),
        );
        this.watchers.push(w);
      } catch (err) {
        this.opts.log.warn({ dir, err }, 'cannot watch directory; relying on polling');
      }
    }
    this.pollTimer = setInterval(() => this.scheduleReload(), this.opts.pollIntervalMs ?? 1000);
    this.pollTimer.unref();
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const w of this.watchers) w.close();
    if (this.pollTimer !== null) clearInterval(this.pollTimer);
    if (this.debounceTimer !== null) clearTimeout(this.debounceTimer);
    await this.reloading;
  }

  /** Re-reads the files that changed since the last look (tests and `explain` call this directly). */
  reload(): Promise<void> {
    this.reloading = this.reloading
      .then(() => this.reloadNow())
      .catch((err: unknown) => this.opts.log.error({ err }, 'file datastore reload failed'));
    return this.reloading;
  }

  private scheduleReload(): void {
    if (this.closed) return;
    if (this.debounceTimer !== null) clearTimeout(this.debounceTimer);
    this.debounceTimer = setTimeout(() => {
      this.debounceTimer = null;
      void this.reload();
    }, this.opts.debounceMs ?? 10);
  }

  /** Parses only files whose size, times or inode moved; objects that vanished are deleted. */
  private async reloadNow(): Promise<void> {
    const tracker = this.tracker;
    if (tracker === null || this.closed) return;
    const seen = new Set<string>();
    const present = new Set<string>();
    for (const file of await this.listFiles()) {
      const st = await stat(file).catch(() => null);
      if (st === null) continue;
      present.add(file);
      const stamp = `${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`;
      const cached = this.files.get(file);
      if (cached !== undefined && cached.stamp === stamp) {
        for (const k of cached.keys) seen.add(k);
        continue;
      }
      const keys: string[] = [];
      for (const obj of await this.readObjects(file)) {
        const key = tracker.upsert(obj);
        if (key !== null) keys.push(key);
      }
      this.files.set(file, { stamp, keys });
      for (const k of keys) seen.add(k);
    }
    for (const file of [...this.files.keys()]) if (!present.has(file)) this.files.delete(file);
    for (const key of tracker.keys()) if (!seen.has(key)) tracker.remove(key);
  }

  private async readObjects(file: string): Promise<unknown[]> {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      this.opts.log.warn({ file, err }, 'cannot read resource file');
      return [];
    }
    const out: unknown[] = [];
    parseAllDocuments(text).forEach((doc, index) => {
      if (doc.errors.length > 0) {
        this.opts.log.warn(
          { file, document: index, error: doc.errors[0]?.message },
          'skipping document that is not valid YAML',
        );
        return;
      }
      const value: unknown = doc.toJS();
      if (value === null || value === undefined) return;
      // kubectl-style lists: `kind: List` (or FooList) with items.
      if (isRecord(value) && Array.isArray(value['items']) && String(value['kind']).endsWith('List'))
        out.push(...value['items']);
      else out.push(value);
    });
    return out;
  }

  private async listFiles(): Promise<string[]> {
    const out: string[] = [];
    for (const p of this.opts.paths) {
      const s = await stat(p).catch(() => null);
      if (s === null) this.opts.log.warn({ path: p }, 'resource path does not exist');
      else if (s.isDirectory()) out.push(...(await listDirectory(p)));
      else out.push(p);
    }
    return out;
  }

  private async watchedDirectories(): Promise<string[]> {
    const dirs: string[] = [];
    for (const p of this.opts.paths) {
      const s = await stat(p).catch(() => null);
      if (s?.isDirectory() === true) dirs.push(p, ...(await listSubdirectories(p)));
      else dirs.push(dirname(p));
    }
    return dirs;
  }
}

async function listDirectory(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  const out: string[] = [];
  for (const e of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const full = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await listDirectory(full)));
    else if (EXTENSIONS.has(extname(e.name))) out.push(full);
  }
  return out;
}

async function listSubdirectories(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  const out: string[] = [];
  for (const e of entries) {
    if (!e.isDirectory()) continue;
    const full = join(dir, e.name);
    out.push(full, ...(await listSubdirectories(full)));
  }
  return out;
}
