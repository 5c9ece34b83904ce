/**
 * Cleanup that runs exactly once, whichever way a benchmark ends: normal
 * completion, an exception, or Ctrl-C / SIGTERM. Actions run last-in
 * first-out (stop the load generator before the server, the server before
 * dropping its database), and a failing action never skips the others.
 */

/** A stack of cleanup actions. */
export class Cleanup {
  private readonly actions: { name: string; fn: () => Promise<void> | void }[] = [];
  private running: Promise<void> | undefined;

  /** Registers an action; it runs before every action registered earlier. */
  add(name: string, fn: () => Promise<void> | void): void {
    this.actions.push({ name, fn });
  }

  /** Runs every registered action once; later calls return the same promise. */
  run(): Promise<void> {
    this.running ??= (async () => {
      for (let action = this.actions.pop(); action; action = this.actions.pop()) {
        try {
          await action.fn();
        } catch (err) {
          process.stderr.write(`cleanup "${action.name}" failed: ${String(err)}\n`);
        }
      }
    })();
    return this.running;
  }

  /**
   * Runs the cleanup on SIGINT/SIGTERM, then exits (130/143). A second
   * signal exits at once. Returns a function that removes the handlers.
   */
  onSignals(): () => void {
    let signalled = false;
    const handler = (signal: NodeJS.Signals) => {
      if (signalled) process.exit(1);
      signalled = true;
      process.stderr.write(`\n${signal}: cleaning up (again to exit at once)\n`);
      void this.run().finally(() => process.exit(signal === "SIGINT" ? 130 : 143));
    };
    process.on("SIGINT", handler);
    process.on("SIGTERM", handler);
    return () => {
      process.off("SIGINT", handler);
      process.off("SIGTERM", handler);
    };
  }
}
