import { StrictMode, useEffect, useState } from "react";
import { createRoot } from "react-dom/client";

/** Placeholder until the web client lands: shows whether the API is up. */
function App() {
  const [status, setStatus] = useState("checking…");
  useEffect(() => {
    fetch("/healthz")
      .then((r) => r.json() as Promise<{ status: string }>)
      .then((b) => setStatus(b.status))
      .catch(() => setStatus("unreachable"));
  }, []);
  return (
    <main
      style={{
        fontFamily: "system-ui, sans-serif",
        maxWidth: 640,
        margin: "4rem auto",
        padding: "0 1rem",
      }}
    >
      <h1>Chat</h1>
      <p>
        The API is served on this origin over Connect, gRPC and gRPC-Web. Server status:{" "}
        <strong>{status}</strong>
      </p>
      <p>
        The web client is on its way; meanwhile try the API with <code>buf curl</code> (see the
        README).
      </p>
    </main>
  );
}

const root = document.getElementById("root");
if (root) {
  createRoot(root).render(
    <StrictMode>
      <App />
    </StrictMode>,
  );
}
