import { describe, expect, it } from "vitest";
import { cleanFileName } from "./uploads.js";

describe("cleanFileName", () => {
  it("drops path parts and control characters", () => {
    expect(cleanFileName("../../etc/passwd")).toBe("passwd");
    expect(cleanFileName("C:\\Users\\me\\cat.jpg")).toBe("cat.jpg");
    expect(cleanFileName("a\u0000b\nc.txt")).toBe("abc.txt");
  });
  it("never leaves an empty or special name", () => {
    expect(cleanFileName("dir/")).toBe("file");
    expect(cleanFileName("..")).toBe("file");
    expect(cleanFileName(" ")).toBe("file");
  });
  it("keeps at most 255 characters", () => {
    expect(Array.from(cleanFileName("é".repeat(300)))).toHaveLength(255);
  });
});
