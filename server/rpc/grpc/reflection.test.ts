import { create, createFileRegistry, type DescFile, fromBinary } from "@bufbuild/protobuf";
import {
  type FileDescriptorProto,
  FileDescriptorProtoSchema,
  FileDescriptorSetSchema,
} from "@bufbuild/protobuf/wkt";
import { type Client, createClient, createRouterTransport } from "@connectrpc/connect";
import { createAsyncIterable, createWritableIterable } from "@connectrpc/connect/protocol";
import { describe, expect, it } from "vitest";
import { AuthService, file_chat_v1_auth } from "../../../gen/chat/v1/auth_pb.js";
import { file_chat_v1_errors } from "../../../gen/chat/v1/errors_pb.js";
import * as v1 from "../../../gen/grpc/reflection/v1/reflection_pb.js";
import * as v1alpha from "../../../gen/grpc/reflection/v1alpha/reflection_pb.js";
import { HealthMonitor, registerHealth } from "./health.js";
import { registerReflection } from "./reflection.js";

const NOT_FOUND = 5;

function transport() {
  return createRouterTransport((router) => {
    router.service(AuthService, {});
    registerHealth(router, new HealthMonitor({ checks: {} }), { services: [] });
    registerReflection(router, [file_chat_v1_errors]);
  });
}

type Request = v1.ServerReflectionRequest["messageRequest"];

/** Sends all requests on one stream and collects the responses. */
async function ask(requests: Request[]): Promise<v1.ServerReflectionResponse[]> {
  const client = createClient(v1.ServerReflection, transport());
  const out: v1.ServerReflectionResponse[] = [];
  const reqs = requests.map((messageRequest) =>
    create(v1.ServerReflectionRequestSchema, { host: "test", messageRequest }),
  );
  for await (const res of client.serverReflectionInfo(createAsyncIterable(reqs))) out.push(res);
  return out;
}

/** File names in a file_descriptor_response, in order. */
function fileNames(res: v1.ServerReflectionResponse | undefined): string[] {
  expect(res?.messageResponse.case).toBe("fileDescriptorResponse");
  if (res?.messageResponse.case !== "fileDescriptorResponse") return [];
  return res.messageResponse.value.fileDescriptorProto.map(
    (b) => fromBinary(FileDescriptorProtoSchema, b).name,
  );
}

/** `file` plus all its transitive imports, by name. */
function closure(file: DescFile): Set<string> {
  const names = new Set<string>([file.proto.name]);
  for (const dep of file.dependencies) for (const n of closure(dep)) names.add(n);
  return names;
}

const expectedServices = [
  "chat.v1.AuthService",
  "grpc.health.v1.Health",
  "grpc.reflection.v1.ServerReflection",
  "grpc.reflection.v1alpha.ServerReflection",
];

describe("server reflection", () => {
  it("lists the registered services (v1)", async () => {
    const [res] = await ask([{ case: "listServices", value: "*" }]);
    expect(res?.messageResponse.case).toBe("listServicesResponse");
    if (res?.messageResponse.case !== "listServicesResponse") return;
    expect(res.messageResponse.value.service.map((s) => s.name)).toEqual(expectedServices);
    expect(res.validHost).toBe("test");
    expect(res.originalRequest?.messageRequest.case).toBe("listServices");
  });

  it("lists the registered services (v1alpha)", async () => {
    const client = createClient(v1alpha.ServerReflection, transport());
    const req = create(v1alpha.ServerReflectionRequestSchema, {
      messageRequest: { case: "listServices", value: "" },
    });
    const out: v1alpha.ServerReflectionResponse[] = [];
    for await (const res of client.serverReflectionInfo(createAsyncIterable([req]))) out.push(res);
    expect(out).toHaveLength(1);
    expect(out[0]?.$typeName).toBe("grpc.reflection.v1alpha.ServerReflectionResponse");
    const r = out[0]?.messageResponse;
    expect(r?.case).toBe("listServicesResponse");
    if (r?.case !== "listServicesResponse") return;
    expect(r.value.service.map((s) => s.name)).toEqual(expectedServices);
  });

  it("sends a file with its dependencies exactly once per stream", async () => {
    const responses = await ask([
      { case: "fileContainingSymbol", value: "chat.v1.LoginRequest" },
      { case: "fileContainingSymbol", value: "chat.v1.AuthService" },
      { case: "fileContainingSymbol", value: "chat.v1.AuthService.Login" },
      { case: "fileContainingSymbol", value: "chat.v1.User" },
      { case: "fileByFilename", value: "google/protobuf/timestamp.proto" },
    ]);
    const [login, service, method, user, timestamp] = responses.map(fileNames);

    // The first answer carries auth.proto first, then its whole import closure.
    expect(login?.[0]).toBe("chat/v1/auth.proto");
    expect(new Set(login)).toEqual(closure(file_chat_v1_auth));
    expect(login).toHaveLength(new Set(login).size);
    expect(login).toContain("google/protobuf/descriptor.proto");
    // Later answers repeat only the requested file: its imports were sent.
    expect(service).toEqual(["chat/v1/auth.proto"]);
    expect(method).toEqual(["chat/v1/auth.proto"]);
    expect(user).toEqual(["chat/v1/user.proto"]);
    expect(timestamp).toEqual(["google/protobuf/timestamp.proto"]);

    // What was sent is a self-contained schema a client can build a registry from.
    const first = responses[0]?.messageResponse;
    if (first?.case !== "fileDescriptorResponse") throw new Error("no files");
    const protos = first.value.fileDescriptorProto.map((b) =>
      fromBinary(FileDescriptorProtoSchema, b),
    );
    // A FileDescriptorSet must list imports before their importers.
    const byName = new Map(protos.map((p) => [p.name, p]));
    const ordered: FileDescriptorProto[] = [];
    const visit = (name: string) => {
      const p = byName.get(name);
      if (!p || ordered.includes(p)) return;
      for (const dep of p.dependency) visit(dep);
      ordered.push(p);
    };
    for (const p of protos) visit(p.name);
    expect(ordered).toHaveLength(protos.length);
    const registry = createFileRegistry(create(FileDescriptorSetSchema, { file: ordered }));
    expect(registry.getService("chat.v1.AuthService")?.methods.map((m) => m.name)).toContain(
      "Login",
    );
    expect(registry.getExtension("buf.validate.field")).toBeDefined();
  });

  it("finds nested types, enums, fields and extra files", async () => {
    const responses = await ask([
      { case: "fileContainingSymbol", value: "grpc.health.v1.HealthCheckResponse.ServingStatus" },
      { case: "fileContainingSymbol", value: "grpc.health.v1.HealthListResponse" },
      { case: "fileContainingSymbol", value: "chat.v1.LoginRequest.username" },
      { case: "fileContainingSymbol", value: "chat.v1.ErrorReason" },
      { case: "fileByFilename", value: "grpc/reflection/v1alpha/reflection.proto" },
    ]);
    expect(responses.map((r) => fileNames(r)[0])).toEqual([
      "grpc/health/v1/health.proto",
      "grpc/health/v1/health.proto",
      "chat/v1/auth.proto",
      "chat/v1/errors.proto",
      "grpc/reflection/v1alpha/reflection.proto",
    ]);
  });

  it("answers extension queries", async () => {
    const [byNumber, numbers, unknownNumber, notMessage] = await ask([
      {
        case: "fileContainingExtension",
        value: create(v1.ExtensionRequestSchema, {
          containingType: "google.protobuf.FieldOptions",
          extensionNumber: 1159,
        }),
      },
      { case: "allExtensionNumbersOfType", value: "google.protobuf.FieldOptions" },
      {
        case: "fileContainingExtension",
        value: create(v1.ExtensionRequestSchema, {
          containingType: "google.protobuf.FieldOptions",
          extensionNumber: 4242,
        }),
      },
      { case: "allExtensionNumbersOfType", value: "chat.v1.AuthService" },
    ]);
    expect(fileNames(byNumber)[0]).toBe("buf/validate/validate.proto");
    expect(numbers?.messageResponse).toMatchObject({
      case: "allExtensionNumbersResponse",
      value: { baseTypeName: "google.protobuf.FieldOptions" },
    });
    if (numbers?.messageResponse.case === "allExtensionNumbersResponse") {
      // buf.validate.field and buf.validate.predefined.
      expect(numbers.messageResponse.value.extensionNumber).toEqual(
        expect.arrayContaining([1159, 1160]),
      );
    }
    expect(unknownNumber?.messageResponse).toMatchObject({
      case: "errorResponse",
      value: { errorCode: NOT_FOUND },
    });
    expect(notMessage?.messageResponse).toMatchObject({
      case: "errorResponse",
      value: { errorCode: NOT_FOUND },
    });
  });

  it("reports unknown symbols and files in-band and keeps the stream open", async () => {
    // Interleaved: each answer is read before the next request is written.
    const client: Client<typeof v1.ServerReflection> = createClient(
      v1.ServerReflection,
      transport(),
    );
    const reqs = createWritableIterable<v1.ServerReflectionRequest>();
    const responses = client.serverReflectionInfo(reqs)[Symbol.asyncIterator]();
    const send = async (messageRequest: Request) => {
      void reqs.write(create(v1.ServerReflectionRequestSchema, { messageRequest }));
      const next = await responses.next();
      if (next.done) throw new Error("stream ended early");
      return next.value.messageResponse;
    };

    expect(await send({ case: "fileContainingSymbol", value: "chat.v1.Nope" })).toEqual({
      case: "errorResponse",
      value: expect.objectContaining({
        errorCode: NOT_FOUND,
        errorMessage: expect.stringContaining("chat.v1.Nope"),
      }),
    });
    expect(await send({ case: "fileByFilename", value: "nope.proto" })).toMatchObject({
      case: "errorResponse",
      value: { errorCode: NOT_FOUND },
    });
    const ok = await send({ case: "fileContainingSymbol", value: "grpc.health.v1.Health.Check" });
    expect(ok.case).toBe("fileDescriptorResponse");

    reqs.close();
    expect((await responses.next()).done).toBe(true);
  });
});
