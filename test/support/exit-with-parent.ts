/**
 * Preloaded (`node --import`) into the server processes of tests
 * (processes.ts): exits when the process that started this one is gone,
 * so a test runner killed hard leaves no server behind.
 */
const parent = process.ppid;
setInterval(() => {
  try {
    process.kill(parent, 0);
  } catch {
    process.exit(1);
  }
}, 1_000).unref();
