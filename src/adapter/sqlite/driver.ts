/**
 * The SQLite driver: `node:sqlite` where the runtime has it (Deno, Bun, Node ≥ 22.13),
 * else `better-sqlite3` (Node 20, whose end of life was April 2026, has no `node:sqlite`:
 * `npm install better-sqlite3@12` there). Both are synchronous and have the same shape for
 * what this adapter uses, which is all `SqliteDatabase` names.
 */
import { StorageError } from "../../core/errors.ts";

/** A prepared statement: positional parameters, rows as plain objects. */
export interface SqliteStatement {
  run(...params: unknown[]): unknown;
  get(...params: unknown[]): Record<string, unknown> | undefined;
  all(...params: unknown[]): Record<string, unknown>[];
}

/** An open database connection. */
export interface SqliteDatabase {
  exec(sql: string): void;
  prepare(sql: string): SqliteStatement;
  close(): void;
}

type Driver = { name: string; open(path: string, timeoutMs: number): SqliteDatabase };
let driver: Promise<Driver> | undefined;

/** Loads the first driver the runtime can use (once per process). */
export function sqliteDriver(): Promise<Driver> {
  return driver ??= (async () => {
    try {
      const { DatabaseSync } = await import("node:sqlite");
      return { name: "node:sqlite", open: (path, timeout) => new DatabaseSync(path, { timeout }) as unknown as SqliteDatabase };
    } catch {
      // No node:sqlite here (Node < 22.13 without the flag): try better-sqlite3.
    }
    // A name in a variable: a bundler or type checker must not require the package.
    const optional = "better-sqlite3";
    try {
      const { default: Database } = await import(optional) as { default: new (path: string, options: { timeout: number }) => SqliteDatabase };
      return { name: "better-sqlite3", open: (path, timeout) => new Database(path, { timeout }) };
    } catch (error) {
      throw new StorageError(
        "SQLite storage needs node:sqlite (Deno, Bun, Node ≥ 22.13) or, on Node 20, the better-sqlite3 package (npm install better-sqlite3@12)",
        { cause: error },
      );
    }
  })();
}

/** What kind of failure an SQLite error is, from its message (the one thing every driver gives). */
export function sqliteFailure(error: unknown): "busy" | "fatal" | "other" {
  const text = `${(error as { code?: string })?.code ?? ""} ${(error as Error)?.message ?? error}`;
  if (/database is locked|SQLITE_BUSY/.test(text)) return "busy";
  // The file or the disk failed: SQLite has rolled back, but what is on disk can no
  // longer be trusted to take the next write (fail-stop, as the file WAL does).
  if (/disk I\/O error|database or disk is full|malformed|not a database|SQLITE_(IOERR|FULL|CORRUPT|NOTADB)/.test(text)) return "fatal";
  return "other";
}
