/**
 * Everything the client prints. Human mode writes readable lines; `--json`
 * writes one JSON object per line (JSON lines) for scripts: a `type` field
 * and the contract's own JSON form of what it carries (64-bit ids as
 * strings, as in protobuf's JSON mapping). Errors go to stderr in both.
 */
import { decodeError } from "@protochat/sdk";

/** A JSON record (bigints become decimal strings). */
export type JsonRecord = { type: string } & Record<string, unknown>;

export class Output {
  /** Wraps every write (the interactive mode keeps its prompt below the output). */
  around: (write: () => void) => void = (write) => write();

  constructor(
    readonly json: boolean,
    private readonly out: NodeJS.WritableStream = process.stdout,
    private readonly err: NodeJS.WritableStream = process.stderr,
  ) {}

  /** Prints `human` in human mode, `record()` in JSON mode. */
  emit(human: string | undefined, record: () => JsonRecord): void {
    if (this.json) {
      const line = JSON.stringify(record(), (_k, v) => (typeof v === "bigint" ? v.toString() : v));
      this.around(() => this.out.write(`${line}\n`));
    } else if (human !== undefined) {
      this.around(() => this.out.write(`${human}\n`));
    }
  }

  /** A remark for people (human mode only, on stderr: never mixed into data). */
  note(text: string): void {
    if (!this.json) this.around(() => this.err.write(`${text}\n`));
  }

  /** Reports an error: its message, code, reason and bad fields. */
  error(err: unknown, hint?: string): void {
    const d = decodeError(err);
    if (this.json) {
      const line = JSON.stringify({
        type: "error",
        code: d.codeName,
        message: d.message,
        reason: d.reasonName,
        fieldViolations: d.fieldViolations,
        hint,
      });
      this.around(() => this.err.write(`${line}\n`));
      return;
    }
    const lines = [`protochat: ${d.message || d.codeName} (${d.codeName})`];
    for (const v of d.fieldViolations) lines.push(`  ${v.field}: ${v.description}`);
    if (hint) lines.push(hint);
    this.around(() => this.err.write(`${lines.join("\n")}\n`));
  }
}
