/**
 * Running a script of this repository as a child process on the runtime running the
 * tests: `deno run -A x.ts` on Deno, `bun x.ts` on Bun, and on Node the compiled `x.js`
 * beside the compiled tests (npm test builds them into build/node first).
 */
import process from "node:process";
import { fileURLToPath } from "node:url";

const isDeno = "Deno" in globalThis;
/** The repository's root as these tests see it (the compiled tree's root on Node). */
const root = new URL("../../", import.meta.url);
const compiled = import.meta.url.endsWith(".js");

/** The file path of repository script `path` (given as its .ts source path). */
export function scriptPath(path: string): string {
  return fileURLToPath(new URL(compiled ? path.replace(/\.ts$/, ".js") : path, root));
}

/** The runtime's executable and the arguments that run repository script `path` with `args`. */
export function scriptCommand(path: string, args: readonly string[] = []): [string, string[]] {
  const script = scriptPath(path);
  return [process.execPath, isDeno ? ["run", "-A", script, ...args] : [script, ...args]];
}
