/**
 * Request validation as an interceptor: the protovalidate rules written in
 * the .proto files are checked before any handler runs, so a handler only
 * sees well-formed input and a rejected call never touches storage.
 */
import type { DescMessage } from "@bufbuild/protobuf";
import { pathToString } from "@bufbuild/protobuf/reflect";
import { createValidator, type Violation } from "@bufbuild/protovalidate";
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { invalidArgument } from "../errors.js";

/** Creates the interceptor; one validator (and its compiled rules) is shared. */
export function validationInterceptor(): Interceptor {
  const validator = createValidator();
  const check = <T extends DescMessage>(
    schema: T,
    message: Parameters<typeof validator.validate<T>>[1],
  ) => {
    const result = validator.validate(schema, message);
    if (result.kind === "invalid") throw invalidArgument(result.violations.map(toFieldViolation));
    if (result.kind === "error") {
      // A rule that fails to compile is our bug, not the client's.
      throw new ConnectError(
        "request validation failed to run",
        Code.Internal,
        undefined,
        undefined,
        result.error,
      );
    }
  };
  return (next) => async (req) => {
    if (!req.stream) {
      check(req.method.input, req.message);
      return next(req);
    }
    const input = req.message;
    const schema = req.method.input;
    return next({
      ...req,
      message: (async function* () {
        for await (const m of input) {
          check(schema, m);
          yield m;
        }
      })(),
    });
  };
}

function toFieldViolation(v: Violation) {
  return { field: pathToString(v.field), description: v.message };
}
