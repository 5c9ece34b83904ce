/** Assertions on ConnectErrors and their details. */
import { Code, ConnectError } from "@connectrpc/connect";
import { expect } from "vitest";
import { BadRequestSchema, ErrorInfoSchema } from "../../gen/google/rpc/error_details_pb.js";

/** Awaits `p`, expecting it to reject with a ConnectError of `code`. */
export async function expectCode(p: Promise<unknown>, code: Code): Promise<ConnectError> {
  try {
    await p;
  } catch (err) {
    const ce = ConnectError.from(err);
    expect(Code[ce.code], ce.message).toBe(Code[code]);
    return ce;
  }
  throw new Error(`expected ${Code[code]}, but the call succeeded`);
}

/** The ErrorInfo reason of an error, if any. */
export function reasonOf(err: ConnectError): string | undefined {
  return err.findDetails(ErrorInfoSchema)[0]?.reason;
}

/** Field paths named by the BadRequest detail of an error. */
export function badFields(err: ConnectError): string[] {
  return (err.findDetails(BadRequestSchema)[0]?.fieldViolations ?? []).map((v) => v.field).sort();
}
