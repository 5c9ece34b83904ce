/**
 * Reading from the user: a password without echo on a terminal, or from
 * stdin for scripts (`--password-stdin`, so it never shows in `ps` or the
 * shell history), and lines of stdin.
 */

import { createInterface } from "node:readline";
import { Writable } from "node:stream";
import { Code, ConnectError } from "@protochat/sdk";

/** Everything on stdin, as lines. */
export async function readStdinLines(stdin: NodeJS.ReadStream): Promise<string[]> {
  const lines: string[] = [];
  const rl = createInterface({ input: stdin, terminal: false });
  for await (const line of rl) lines.push(line);
  return lines;
}

/** Asks for a password on the terminal without showing it. */
function askHidden(stdin: NodeJS.ReadStream, question: string): Promise<string> {
  let muted = false;
  const output = new Writable({
    write(chunk, _enc, done) {
      if (!muted) process.stderr.write(chunk);
      done();
    },
  });
  const rl = createInterface({ input: stdin, output, terminal: true });
  return new Promise((resolve, reject) => {
    rl.question(question, (answer) => {
      rl.close();
      process.stderr.write("\n");
      resolve(answer);
    });
    muted = true;
    rl.on("SIGINT", () => {
      rl.close();
      reject(new ConnectError("cancelled", Code.Canceled));
    });
  });
}

/** The password: the first line of stdin, or asked for on a terminal. */
export async function readPassword(stdin: NodeJS.ReadStream, fromStdin: boolean): Promise<string> {
  if (fromStdin) {
    const [first = ""] = await readStdinLines(stdin);
    return first;
  }
  if (!stdin.isTTY) {
    throw new ConnectError(
      "no terminal to ask for the password: pass it on stdin with --password-stdin",
      Code.InvalidArgument,
    );
  }
  return askHidden(stdin, "Password: ");
}
