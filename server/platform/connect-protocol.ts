/**
 * The one door to @connectrpc/connect's protocol modules. They are marked
 * @private (internals of connect-es, pinned to one exact version in
 * package.json); every use in the server goes through this file, so an
 * upgrade has one place to check. What each is used for:
 * - envelopes (5-byte frame header) of feed frames written directly;
 * - the end of a stream per protocol: Connect's end-stream message, gRPC's
 *   status trailers, gRPC-Web's trailer frame;
 * - Connect's name of a code (Chat command errors);
 * - the universal request/response types of connect's router (the RPC gate).
 */
export { encodeEnvelope } from "@connectrpc/connect/protocol";
export {
  codeToString,
  endStreamFlag,
  endStreamToJson,
} from "@connectrpc/connect/protocol-connect";
export { setTrailerStatus } from "@connectrpc/connect/protocol-grpc";
export { trailerFlag, trailerSerialize } from "@connectrpc/connect/protocol-grpc-web";
