import { pathToString } from "@bufbuild/protobuf/reflect";
import { createValidator } from "@bufbuild/protovalidate";
import { Code, ConnectError } from "@connectrpc/connect";
import { invalidArgument } from "../../platform/errors.js";
// One validator for the process: it caches the compiled rules per message.
const validator = createValidator();
/**
 * Throws `InvalidArgument` with a BadRequest detail when `message` breaks
 * its schema's rules. Exported for bidi handlers that validate each command
 * themselves.
 */
export function validateMessage(schema, message) {
    const result = validator.validate(schema, message);
    if (result.kind === "invalid")
        throw invalidArgument(result.violations.map(toFieldViolation));
    if (result.kind === "error") {
        // A rule that fails to compile is our bug, not the client's.
        throw new ConnectError("request validation failed to run", Code.Internal, undefined, undefined, result.error);
    }
}
/** Creates the interceptor. */
export function validationInterceptor() {
    return (next) => async (req) => {
        if (!req.stream) {
            validateMessage(req.method.input, req.message);
            return next(req);
        }
        // Bidi handlers answer a bad command with an error for that command
        // and keep the stream open, so they validate each message themselves.
        if (req.method.methodKind === "bidi_streaming")
            return next(req);
        const input = req.message;
        const schema = req.method.input;
        return next({
            ...req,
            message: (async function* () {
                for await (const m of input) {
                    validateMessage(schema, m);
                    yield m;
                }
            })(),
        });
    };
}
function toFieldViolation(v) {
    return { field: pathToString(v.field), description: v.message };
}
//# sourceMappingURL=validation.js.map