// @vitest-environment happy-dom
import { afterEach, describe, expect, it, vi } from "vitest";
import type { Clients } from "../../api/clients.js";
import { startUpload } from "./upload.js";

class FakeXhr {
  static last: FakeXhr | undefined;
  method = "";
  url = "";
  headers: Record<string, string> = {};
  status = 0;
  responseText = "";
  body: unknown;
  upload: {
    onprogress?: (e: { lengthComputable: boolean; loaded: number; total: number }) => void;
  } = {};
  onload?: () => void;
  onerror?: () => void;
  onabort?: () => void;
  constructor() {
    FakeXhr.last = this;
  }
  open(method: string, url: string) {
    this.method = method;
    this.url = url;
  }
  setRequestHeader(k: string, v: string) {
    this.headers[k] = v;
  }
  send(body: unknown) {
    this.body = body;
  }
  abort() {
    this.onabort?.();
  }
}

function fakeClients(): Pick<Clients, "uploads"> {
  return {
    uploads: {
      createUpload: vi.fn(async () => ({ upload: { uploadUrl: "/uploads/7" } })),
    },
  } as unknown as Pick<Clients, "uploads">;
}

const tick = () => new Promise((r) => setTimeout(r, 0));

describe("startUpload", () => {
  afterEach(() => vi.unstubAllGlobals());

  it("announces, PUTs with the token, reports progress and parses the attachment", async () => {
    vi.stubGlobal("XMLHttpRequest", FakeXhr);
    const progress: number[] = [];
    const file = new File(["hello"], "a.txt", { type: "text/plain" });
    const clients = fakeClients();
    const h = startUpload(
      clients,
      file,
      (p) => progress.push(p),
      () => "tok",
    );
    await tick();
    const x = FakeXhr.last;
    if (!x) throw new Error("no request");
    expect(clients.uploads.createUpload).toHaveBeenCalledWith(
      { name: "a.txt", sizeBytes: 5n, declaredType: "text/plain" },
      expect.anything(),
    );
    expect([x.method, new URL(x.url).pathname, x.headers.Authorization]).toEqual([
      "PUT",
      "/uploads/7",
      "Bearer tok",
    ]);
    x.upload.onprogress?.({ lengthComputable: true, loaded: 2, total: 4 });
    x.status = 200;
    x.responseText = JSON.stringify({ id: "7", name: "a.txt", sizeBytes: "5", url: "/files/7" });
    x.onload?.();
    const a = await h.promise;
    expect([a.id, a.name, a.url]).toEqual([7n, "a.txt", "/files/7"]);
    expect(progress).toEqual([0.5, 1]);
  });

  it("reports the server's error and can be cancelled", async () => {
    vi.stubGlobal("XMLHttpRequest", FakeXhr);
    const h = startUpload(
      fakeClients(),
      new File(["x"], "b"),
      () => {},
      () => "tok",
    );
    await tick();
    const x = FakeXhr.last;
    if (!x) throw new Error("no request");
    x.status = 413;
    x.responseText = JSON.stringify({ code: "invalid_argument", message: "too large" });
    x.onload?.();
    await expect(h.promise).rejects.toThrow("too large");

    const h2 = startUpload(
      fakeClients(),
      new File(["x"], "c"),
      () => {},
      () => "tok",
    );
    await tick();
    h2.cancel();
    await expect(h2.promise).rejects.toThrow("cancelled");
  });
});
