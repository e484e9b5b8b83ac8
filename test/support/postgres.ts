/**
 * A fresh PostgreSQL database for one test file: created on the server at
 * EVENTFOLD_PG_URL (default: the machine's, postgres://postgres@127.0.0.1:5432/test) and
 * dropped by `dropDatabase`. Tests never touch a database they did not create.
 */
import process from "node:process";
import postgres from "postgres";

export const ADMIN_URL = process.env.EVENTFOLD_PG_URL ?? "postgres://postgres@127.0.0.1:5432/test";

let created: Promise<string> | undefined;
let name = "";

/** The URL of this run's own database (created on first use). */
export function databaseUrl(): Promise<string> {
  created ??= (async () => {
    name = `eventfold_test_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
    const admin = postgres(ADMIN_URL, { connect_timeout: 5, onnotice: () => {} });
    try {
      await admin.unsafe(`create database ${name}`);
    } catch (error) {
      throw new Error(`PostgreSQL is not reachable at ${ADMIN_URL} (set EVENTFOLD_PG_URL, or start it): ${(error as Error).message}`);
    } finally {
      await admin.end({ timeout: 2 });
    }
    const url = new URL(ADMIN_URL);
    url.pathname = `/${name}`;
    return url.href;
  })();
  return created;
}

/** Runs SQL on this run's database as the administrator (to kill connections, inspect rows). */
export async function admin<T>(run: (sql: ReturnType<typeof postgres>) => Promise<T>): Promise<T> {
  const sql = postgres(await databaseUrl(), { connect_timeout: 5, onnotice: () => {} });
  try {
    return await run(sql);
  } finally {
    await sql.end({ timeout: 2 });
  }
}

/** Drops this run's database (connections and all). */
export async function dropDatabase(): Promise<void> {
  if (created === undefined) return;
  await created;
  const sql = postgres(ADMIN_URL, { connect_timeout: 5, onnotice: () => {} });
  try {
    await sql.unsafe(`drop database if exists ${name} with (force)`);
  } finally {
    await sql.end({ timeout: 2 });
  }
}
