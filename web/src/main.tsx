import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { App } from "./ui/App.js";
import { AdminApp } from "./ui/admin/AdminApp.js";
import "./styles.css";

const root = document.getElementById("root");
if (root) {
  createRoot(root).render(
    <StrictMode>
      {globalThis.location.pathname.startsWith("/admin") ? <AdminApp /> : <App />}
    </StrictMode>,
  );
}
