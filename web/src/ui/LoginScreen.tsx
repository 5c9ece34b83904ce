import { Code, ConnectError } from "@connectrpc/connect";
import type { User } from "@protochat/sdk";
import { type FormEvent, useId, useState } from "react";
import type { Clients } from "../api/clients.js";

/** Reads a field violation or the message of an error. */
function explain(err: unknown, mode: "login" | "register"): string {
  const ce = ConnectError.from(err);
  if (mode === "login" && ce.code === Code.Unauthenticated) return "Wrong username or password.";
  if (ce.code === Code.AlreadyExists) return "That username is taken.";
  if (ce.code === Code.Unknown || ce.code === Code.Unavailable) {
    return "Cannot reach the server. Check your connection and try again.";
  }
  return ce.rawMessage || "Something went wrong.";
}

export function LoginScreen({
  clients,
  notice,
  onSignedIn,
}: {
  clients: Clients;
  notice: string | undefined;
  onSignedIn: (token: string, user: User | undefined) => void;
}) {
  const [mode, setMode] = useState<"login" | "register">("login");
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [displayName, setDisplayName] = useState("");
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);
  const ids = { u: useId(), p: useId(), d: useId(), err: useId() };

  async function submit(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      if (mode === "register") {
        await clients.auth.register({ username, password, displayName });
      }
      const res = await clients.auth.login({
        username,
        password,
        deviceName: globalThis.navigator?.userAgent.slice(0, 64) ?? "",
      });
      onSignedIn(res.accessToken, res.user);
    } catch (err) {
      setError(explain(err, mode));
      setBusy(false);
    }
  }

  const registering = mode === "register";
  return (
    <main className="login">
      <form className="login-card" onSubmit={submit} aria-describedby={error ? ids.err : undefined}>
        <h1>protochat</h1>
        {notice && (
          <p className="notice" role="status">
            {notice}
          </p>
        )}
        <div className="tabs" role="tablist" aria-label="Account">
          <button
            type="button"
            role="tab"
            aria-selected={!registering}
            onClick={() => setMode("login")}
          >
            Log in
          </button>
          <button
            type="button"
            role="tab"
            aria-selected={registering}
            onClick={() => setMode("register")}
          >
            Register
          </button>
        </div>
        <label htmlFor={ids.u}>Username</label>
        <input
          id={ids.u}
          name="username"
          autoComplete="username"
          required
          minLength={registering ? 3 : 1}
          maxLength={32}
          pattern={registering ? "[A-Za-z0-9_.\\-]+" : undefined}
          value={username}
          onChange={(e) => setUsername(e.target.value)}
        />
        {registering && (
          <>
            <label htmlFor={ids.d}>Display name (optional)</label>
            <input
              id={ids.d}
              name="displayName"
              maxLength={64}
              value={displayName}
              onChange={(e) => setDisplayName(e.target.value)}
            />
          </>
        )}
        <label htmlFor={ids.p}>Password</label>
        <input
          id={ids.p}
          name="password"
          type="password"
          autoComplete={registering ? "new-password" : "current-password"}
          required
          minLength={registering ? 8 : 1}
          value={password}
          onChange={(e) => setPassword(e.target.value)}
        />
        {registering && <p className="hint">At least 8 characters.</p>}
        {error && (
          <p id={ids.err} className="error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" className="primary" disabled={busy}>
          {registering ? "Create account" : "Log in"}
        </button>
      </form>
    </main>
  );
}
