// Applies the few fixes this project makes to installed dependencies, run by
// npm after every install ("postinstall"). Each fix names the exact version
// it was written for and the text it replaces; a version bump or a changed
// file makes the install fail loudly instead of silently running unpatched.
// Running it again is harmless (already patched files are left alone).
//
// @connectrpc/connect 2.1.2: a request body that is not valid protobuf
// (malformed wire data, invalid UTF-8 in a string field) is answered
// `Internal` (HTTP 500, gRPC 13) because the server parses request messages
// with the same binary serialization as clients parse responses, and that
// one reports every parse failure as Internal. A malformed request is the
// client's error: INVALID_ARGUMENT, as connect-go and connect-es 1.x answer,
// and as the JSON path of 2.1.2 already does. Only the request side of the
// server changes (createMethodSerializationLookup's input parser; clients
// only serialize with it); a client still reports a malformed response as
// Internal.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");

// The replaced lines hold a template literal of the patched file, `${m}`.
const m = ["$", "{m}"].join("");

const fixes = [
  {
    pkg: "@connectrpc/connect",
    version: "2.1.2",
    files: {
      "dist/esm/protocol/serialization.js": [
        [
          "export function createBinarySerialization(desc, options) {",
          "export function createBinarySerialization(desc, options, parseErrorCode = Code.Internal) {",
        ],
        [
          `throw new ConnectError(\`parse binary: ${m}\`, Code.Internal);`,
          `throw new ConnectError(\`parse binary: ${m}\`, parseErrorCode);`,
        ],
        [
          "const inputBinary = limitSerialization(createBinarySerialization(method.input, binaryOptions), limitOptions);",
          "const inputBinary = limitSerialization(createBinarySerialization(method.input, binaryOptions, Code.InvalidArgument), limitOptions);",
        ],
      ],
      "dist/cjs/protocol/serialization.js": [
        [
          "function createBinarySerialization(desc, options) {",
          "function createBinarySerialization(desc, options, parseErrorCode = code_js_1.Code.Internal) {",
        ],
        [
          `throw new connect_error_js_1.ConnectError(\`parse binary: ${m}\`, code_js_1.Code.Internal);`,
          `throw new connect_error_js_1.ConnectError(\`parse binary: ${m}\`, parseErrorCode);`,
        ],
        [
          "const inputBinary = limitSerialization(createBinarySerialization(method.input, binaryOptions), limitOptions);",
          "const inputBinary = limitSerialization(createBinarySerialization(method.input, binaryOptions, code_js_1.Code.InvalidArgument), limitOptions);",
        ],
      ],
    },
  },
];

let failed = false;
for (const fix of fixes) {
  // The package as Node resolves it from this project (npm hoists it to the top).
  const dir = join(root, "node_modules", fix.pkg);
  if (!existsSync(join(dir, "package.json"))) continue; // not installed: nothing to patch
  const { version } = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
  if (version !== fix.version) {
    console.error(
      `patch-dependencies: ${fix.pkg} is ${version}, the fix is for ${fix.version}: check whether it is still needed and update scripts/patch-dependencies.mjs`,
    );
    failed = true;
    continue;
  }
  for (const [file, replacements] of Object.entries(fix.files)) {
    const path = join(dir, file);
    let text = readFileSync(path, "utf8");
    let changed = false;
    for (const [from, to] of replacements) {
      if (text.includes(to)) continue;
      if (!text.includes(from)) {
        console.error(`patch-dependencies: ${fix.pkg}/${file}: expected text not found: ${from}`);
        failed = true;
        continue;
      }
      text = text.replace(from, to);
      changed = true;
    }
    if (changed) {
      writeFileSync(path, text);
      console.log(`patch-dependencies: patched ${fix.pkg}/${file}`);
    }
  }
}
if (failed) process.exit(1);
