/** How CLI commands print: lines, a progress line on terminals, JSON when asked. */
import process from "node:process";

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
}

export function consoleOutput(json: boolean): Output {
  const tty = Boolean(process.stderr.isTTY);
  return {
    json,
    line: (text) => console.log(text),
    // Progress goes to stderr, so piped output stays clean.
    progress: (text) => void (tty && process.stderr.write(`\r\x1b[2K${text}`)),
    endProgress: () => void (tty && process.stderr.write("\r\x1b[2K")),
  };
}
