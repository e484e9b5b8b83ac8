/** How CLI commands print: lines, a progress line on terminals, JSON when asked. */
import process from "node:process";
import { createInterface } from "node:readline/promises";

/** An error the user caused (bad arguments, a missing directory): one line, no stack trace. */
export class CliError extends Error {
  constructor(message: string, readonly exitCode = 2) {
    super(message);
  }
}

export interface Output {
  readonly json: boolean;
  line(text: string): void;
  progress(text: string): void;
  endProgress(): void;
  /** Asks a yes/no question on a terminal; false (without asking) when input is not one. */
  confirm(question: string): Promise<boolean>;
}

export function consoleOutput(json: boolean): Output {
  const tty = Boolean(process.stderr.isTTY);
  return {
    json,
    line: (text) => console.log(text),
    // Progress goes to stderr, so piped output stays clean.
    progress: (text) => void (tty && process.stderr.write(`\r\x1b[2K${text}`)),
    endProgress: () => void (tty && process.stderr.write("\r\x1b[2K")),
    async confirm(question) {
      if (!process.stdin.isTTY) return false;
      const prompt = createInterface({ input: process.stdin, output: process.stderr });
      try {
        return /^y(es)?$/i.test((await prompt.question(`${question} [y/N] `)).trim());
      } finally {
        prompt.close();
      }
    },
  };
}
