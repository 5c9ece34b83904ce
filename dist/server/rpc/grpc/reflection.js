import { create, toBinary } from "@bufbuild/protobuf";
import { nestedTypes } from "@bufbuild/protobuf/reflect";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { Code } from "@connectrpc/connect";
import * as v1 from "../../../gen/grpc/reflection/v1/reflection_pb.js";
import * as v1alpha from "../../../gen/grpc/reflection/v1alpha/reflection_pb.js";
/**
 * Registers `grpc.reflection.v1.ServerReflection` and
 * `grpc.reflection.v1alpha.ServerReflection` on the router.
 *
 * `list_services` answers with the services actually registered on `router`
 * (read when a stream opens, so services registered after this call are
 * included), which always covers reflection itself and health when it is
 * registered. Their files, the `files` given here (for types that no service
 * references, e.g. error detail enums) and all transitive imports (well-known
 * types included) can be looked up by file name, symbol and extension.
 */
export function registerReflection(router, files = []) {
    router.service(v1.ServerReflection, {
        serverReflectionInfo: (requests) => serve(router, files, requests, (req, answer) => create(v1.ServerReflectionResponseSchema, {
            validHost: req.host,
            originalRequest: req,
            messageResponse: answer,
        })),
    });
    router.service(v1alpha.ServerReflection, {
        serverReflectionInfo: (requests) => serve(router, files, requests, (req, answer) => create(v1alpha.ServerReflectionResponseSchema, {
            validHost: req.host,
            originalRequest: req,
            messageResponse: answer,
        })),
    });
}
/** The bidi loop: one response per request, in order, until the client half-closes. */
async function* serve(router, files, requests, respond) {
    const index = buildIndex(router, files);
    // The spec lets a server skip files it already sent on this stream, which
    // keeps clients that walk many symbols from re-downloading descriptor.proto.
    const sent = new Set();
    for await (const req of requests) {
        yield respond(req, answer(index, sent, req));
    }
}
function answer(index, sent, req) {
    const r = req.messageRequest;
    switch (r.case) {
        case "listServices":
            return {
                case: "listServicesResponse",
                value: { service: index.services.map((name) => ({ name })) },
            };
        case "fileByFilename":
            return withFile(index.files.get(r.value), sent, `file "${r.value}"`);
        case "fileContainingSymbol":
            return withFile(index.symbols.get(r.value), sent, `symbol "${r.value}"`);
        case "fileContainingExtension": {
            const { containingType, extensionNumber } = r.value;
            const ext = index.extensions.get(containingType)?.find((e) => e.number === extensionNumber);
            return withFile(ext?.file, sent, `extension ${extensionNumber} of "${containingType}"`);
        }
        case "allExtensionNumbersOfType": {
            // Only messages are extendable; anything else is an unknown type.
            if (!index.messages.has(r.value)) {
                return notFound(`message type "${r.value}"`);
            }
            const numbers = (index.extensions.get(r.value) ?? []).map((e) => e.number);
            return {
                case: "allExtensionNumbersResponse",
                value: { baseTypeName: r.value, extensionNumber: numbers },
            };
        }
        default:
            return {
                case: "errorResponse",
                value: { errorCode: Code.InvalidArgument, errorMessage: "empty reflection request" },
            };
    }
}
/**
 * The requested file first (always, even if sent before: an empty answer
 * would confuse clients), then every transitive import not yet sent.
 */
function withFile(file, sent, what) {
    if (!file)
        return notFound(what);
    const out = [];
    const queue = [file];
    for (let f = queue.shift(); f; f = queue.shift()) {
        if (f !== file && sent.has(f.proto.name))
            continue;
        sent.add(f.proto.name);
        out.push(encode(f));
        queue.push(...f.dependencies.filter((d) => !sent.has(d.proto.name)));
    }
    return { case: "fileDescriptorResponse", value: { fileDescriptorProto: out } };
}
function notFound(what) {
    // Reported in-band so the stream survives and the client can go on asking.
    return {
        case: "errorResponse",
        value: { errorCode: Code.NotFound, errorMessage: `${what} not found` },
    };
}
const encoded = new WeakMap();
/** Serialized FileDescriptorProto, cached: descriptors never change at runtime. */
function encode(file) {
    let bytes = encoded.get(file);
    if (!bytes) {
        bytes = toBinary(FileDescriptorProtoSchema, file.proto);
        encoded.set(file, bytes);
    }
    return bytes;
}
function buildIndex(router, extra) {
    const services = [...new Set(router.handlers.map((h) => h.service.typeName))].sort();
    const roots = [...router.handlers.map((h) => h.service.file), ...extra];
    const files = new Map();
    const symbols = new Map();
    const messages = new Set();
    const extensions = new Map();
    for (let f = roots.shift(); f; f = roots.shift()) {
        if (files.has(f.proto.name))
            continue;
        files.set(f.proto.name, f);
        roots.push(...f.dependencies);
        for (const t of nestedTypes(f)) {
            symbols.set(t.typeName, f);
            if (t.kind === "service") {
                for (const m of t.methods)
                    symbols.set(`${t.typeName}.${m.name}`, f);
            }
            if (t.kind === "message") {
                messages.add(t.typeName);
                // Fields are symbols too (grpcurl `describe pkg.Msg.field`).
                for (const fd of t.fields)
                    symbols.set(`${t.typeName}.${fd.name}`, f);
            }
            if (t.kind === "extension") {
                extensions.set(t.extendee.typeName, [...(extensions.get(t.extendee.typeName) ?? []), t]);
            }
        }
    }
    return { services, files, symbols, messages, extensions };
}
//# sourceMappingURL=reflection.js.map