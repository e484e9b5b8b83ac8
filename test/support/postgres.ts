/**
 * A fresh PostgreSQL database for one test file: created on the server at
 * EVENTFOLD_PG_URL (default: the machine's, postgres://postgres@127.0.0.1:5432/test) and
 * dropped by `dropDatabase`. Tests never touch a database they did not create.
 */
import process from "node:process";
import pg from "pg";

export const ADMIN_URL = process.env.EVENTFOLD_PG_URL ?? "postgres://postgres@127.0.0.1:5432/test";

let created: Promise<string> | undefined;
let name = "";

/** Runs `work` on one connection to `url`, then closes it. */
async function connected<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  client.on("error", () => {}); // its loss surfaces in the query that meets it
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** The URL of this run's own database (created on first use). */
export function databaseUrl(): Promise<string> {
  created ??= (async () => {
    name = `eventfold_test_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
    try {
      await connected(ADMIN_URL, (client) => client.query(`create database ${name}`));
    } catch (error) {
      throw new Error(`PostgreSQL is not reachable at ${ADMIN_URL} (set EVENTFOLD_PG_URL, or start it): ${(error as Error).message}`);
    }
    const url = new URL(ADMIN_URL);
    url.pathname = `/${name}`;
    return url.href;
  })();
  return created;
}

/** Runs one SQL statement on this run's database as the administrator; resolves to its rows. */
export async function admin(text: string): Promise<Record<string, unknown>[]> {
  return await connected(await databaseUrl(), async (client) => (await client.query(text)).rows);
}

/** Drops this run's database (connections and all). */
export async function dropDatabase(): Promise<void> {
  if (created === undefined) return;
  await created;
  await connected(ADMIN_URL, (client) => client.query(`drop database if exists ${name} with (force)`));
}
