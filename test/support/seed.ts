/** Seeds for randomised tests: EVENTFOLD_SEED replays a run; otherwise a fresh one, printed on failure. */
import process from "node:process";

export function testSeed(): number {
  const fromEnv = process.env.EVENTFOLD_SEED;
  return fromEnv !== undefined ? Number(fromEnv) : (Math.random() * 0x7fffffff) | 0;
}

/** Runs `body`; on failure, prefixes the error with how to replay it. */
export async function withSeed<T>(name: string, seed: number, body: () => T | Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (error) {
    const message = `${name} failed with seed ${seed} (replay: EVENTFOLD_SEED=${seed})`;
    console.error(message);
    if (error instanceof Error) error.message = `${message}\n${error.message}`;
    throw error;
  }
}
