/**
 * The one door to @connectrpc/connect's protocol modules. They are marked
 * @private (internals of connect-es, pinned to one exact version in
 * package.json); every use in the server goes through this file, so an
 * upgrade has one place to check. What each is used for:
 * - envelopes (5-byte frame header) of feed frames written directly;
 * - the end of a stream per protocol: Connect's end-stream message, gRPC's
 *   status trailers, gRPC-Web's trailer frame;
 * - Connect's name of a code (Chat command errors);
 * - the universal request/response types of connect's router, and each
 *   protocol's content types and error encodings (the RPC gate and the
 *   refusals it writes before connect-node runs);
 * - the request and response serializations of a method, as connect-node
 *   makes them (the direct unary path parses and answers with the same).
 */
export {
  createAsyncIterable,
  createMethodSerializationLookup,
  encodeEnvelope,
  type MethodSerializationLookup,
  type UniversalHandler,
  type UniversalServerRequest,
  type UniversalServerResponse,
} from "@connectrpc/connect/protocol";
export * as connectWire from "@connectrpc/connect/protocol-connect";
export {
  codeToString,
  endStreamFlag,
  endStreamToJson,
} from "@connectrpc/connect/protocol-connect";
export * as grpcWire from "@connectrpc/connect/protocol-grpc";
export { setTrailerStatus } from "@connectrpc/connect/protocol-grpc";
export * as grpcWebWire from "@connectrpc/connect/protocol-grpc-web";
export { trailerFlag, trailerSerialize } from "@connectrpc/connect/protocol-grpc-web";
