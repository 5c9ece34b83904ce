#!/usr/bin/env node
// The built client (npm run build); inside the repository without a build,
// run it from source with `npm run protochat -- <args>`.
import "../dist/main.js";
