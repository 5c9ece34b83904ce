/** Outgoing webhook deliveries: one POST, bounded in time; any 2xx is an acknowledgement. */

/** POSTs `body`; resolves with whether it was acknowledged and why not. */
export async function postWebhook(
  url: string,
  headers: Record<string, string>,
  body: string,
  timeoutMs: number,
): Promise<{ ok: boolean; error?: string }> {
  try {
    const res = await fetch(url, {
      method: "POST",
      headers,
      body,
      redirect: "manual",
      signal: AbortSignal.timeout(timeoutMs),
    });
    // The body is not needed, but must be consumed for the connection to be reused.
    await res.arrayBuffer().catch(() => {});
    return res.ok ? { ok: true } : { ok: false, error: `HTTP ${res.status}` };
  } catch (err) {
    if (err instanceof Error && (err.name === "TimeoutError" || err.name === "AbortError")) {
      return { ok: false, error: `timeout after ${timeoutMs} ms` };
    }
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    return { ok: false, error: cause?.code ?? cause?.message ?? String(err) };
  }
}
