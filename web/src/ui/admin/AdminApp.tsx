/**
 * The operator's page at /admin: the API key typed in (kept for this tab
 * only), live statistics with small charts, rooms and users with their
 * actions, webhook endpoints with lag and errors, and the audit log. Every
 * action is an AdminService call, so it lands in the audit log too.
 */
import type { Client } from "@connectrpc/connect";
import { ConnectError } from "@connectrpc/connect";
import { type FormEvent, useCallback, useEffect, useMemo, useState } from "react";
import type {
  AdminService,
  AuditEntry,
  GetStatsResponse,
  RoomInfo,
  UserInfo,
  Webhook,
} from "../../../../gen/chat/admin/v1/admin_pb.js";
import { adminClientOf, clearAdminKey, loadAdminKey, saveAdminKey } from "./admin-client.js";
import { Sparkline } from "./Sparkline.js";
import "./admin.css";

type Admin = Client<typeof AdminService>;

/** How often the page refreshes what it shows. */
const refreshMs = 2_000;
/** Points kept per chart. */
const history = 30;

export function AdminApp({ client }: { client?: Admin }) {
  const [key, setKey] = useState<string | undefined>(() => loadAdminKey());
  const admin = useMemo(() => client ?? adminClientOf(() => loadAdminKey()), [client]);
  if (!key) {
    return (
      <KeyForm
        onKey={(k) => {
          saveAdminKey(k);
          setKey(k);
        }}
      />
    );
  }
  return (
    <Dashboard
      admin={admin}
      onForget={() => {
        clearAdminKey();
        setKey(undefined);
      }}
    />
  );
}

function KeyForm({ onKey }: { onKey: (key: string) => void }) {
  const [value, setValue] = useState("");
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (value.trim()) onKey(value.trim());
  };
  return (
    <main className="admin">
      <h1>protochat admin</h1>
      <form onSubmit={submit}>
        <label>
          API key{" "}
          <input
            type="password"
            value={value}
            onChange={(e) => setValue(e.target.value)}
            autoComplete="off"
          />
        </label>
        <button type="submit">Open</button>
      </form>
      <p>
        The key stays in this tab only. Create one with npm run admin -- keys create --name NAME.
      </p>
    </main>
  );
}

function message(err: unknown): string {
  return ConnectError.from(err).rawMessage;
}

function Dashboard({ admin, onForget }: { admin: Admin; onForget: () => void }) {
  const [stats, setStats] = useState<GetStatsResponse>();
  const [series, setSeries] = useState<{ messages: number[]; deliveries: number[] }>({
    messages: [],
    deliveries: [],
  });
  const [rooms, setRooms] = useState<RoomInfo[]>([]);
  const [users, setUsers] = useState<UserInfo[]>([]);
  const [query, setQuery] = useState("");
  const [webhooks, setWebhooks] = useState<Webhook[]>([]);
  const [audit, setAudit] = useState<AuditEntry[]>([]);
  const [error, setError] = useState<string>();

  const refresh = useCallback(async () => {
    try {
      const [s, r, u, w, a] = await Promise.all([
        admin.getStats({}),
        admin.listRooms({ pageSize: 50 }),
        admin.listUsers({ query, pageSize: 50 }),
        admin.listWebhooks({}),
        admin.listAuditLog({ pageSize: 20 }),
      ]);
      setStats(s);
      setSeries((old) => ({
        messages: [...old.messages, s.cluster?.messagesPerSecond ?? 0].slice(-history),
        deliveries: [...old.deliveries, s.cluster?.deliveriesPerSecond ?? 0].slice(-history),
      }));
      setRooms(r.rooms);
      setUsers(u.users);
      setWebhooks(w.webhooks);
      setAudit(a.entries);
      setError(undefined);
    } catch (err) {
      setError(message(err));
    }
  }, [admin, query]);

  useEffect(() => {
    void refresh();
    const t = setInterval(() => void refresh(), refreshMs);
    return () => clearInterval(t);
  }, [refresh]);

  const act = (fn: () => Promise<unknown>) => async () => {
    try {
      await fn();
      setError(undefined);
    } catch (err) {
      setError(message(err));
    }
    await refresh();
  };

  const streams = stats?.cluster?.streamsByProtocol ?? {};
  return (
    <main className="admin">
      <h1>protochat admin</h1>
      <button type="button" onClick={onForget}>
        Forget key
      </button>
      {error && (
        <p className="admin-error" role="alert">
          {error}
        </p>
      )}

      <section aria-label="Statistics">
        <h2>Statistics</h2>
        <div className="admin-figures">
          <div className="admin-figure">
            Online users <strong data-testid="online-users">{stats?.onlineUsers ?? 0}</strong>
          </div>
          <div className="admin-figure">
            Instances <strong>{stats?.instances.length ?? 0}</strong>
          </div>
          <div className="admin-figure">
            Open streams{" "}
            <strong data-testid="open-streams">
              {Object.values(streams).reduce((a, b) => a + b, 0)}
            </strong>
            {Object.entries(streams)
              .map(([p, n]) => `${p} ${n}`)
              .join(", ")}
          </div>
          <div className="admin-figure">
            Connections <strong>{stats?.cluster?.connections ?? 0}</strong>
          </div>
          <div className="admin-figure">
            Messages/s <strong>{(stats?.cluster?.messagesPerSecond ?? 0).toFixed(1)}</strong>
            <Sparkline values={series.messages} label="messages per second" />
          </div>
          <div className="admin-figure">
            Deliveries/s <strong>{(stats?.cluster?.deliveriesPerSecond ?? 0).toFixed(1)}</strong>
            <Sparkline values={series.deliveries} label="deliveries per second" />
          </div>
        </div>
      </section>

      <section aria-label="Rooms">
        <h2>Rooms</h2>
        <table>
          <thead>
            <tr>
              <th>Room</th>
              <th>Members</th>
              <th>Online</th>
              <th>Messages</th>
              <th>Actions</th>
            </tr>
          </thead>
          <tbody>
            {rooms.map((r) => (
              <tr key={String(r.room?.id)} data-testid={`room-${r.room?.id}`}>
                <td>
                  {r.room?.name || `#${r.room?.id}`} {r.room?.archiveTime ? "(archived)" : ""}
                </td>
                <td>{r.room?.memberCount}</td>
                <td>
                  {r.onlineMembers} (peak {r.peakOnlineMembers})
                </td>
                <td>{String(r.messageCount)}</td>
                <td>
                  <button
                    type="button"
                    onClick={act(() =>
                      admin.broadcast({
                        text: "Notice from the operators",
                        target: { case: "roomId", value: r.room?.id ?? 0n },
                      }),
                    )}
                  >
                    Broadcast
                  </button>
                  {!r.room?.archiveTime && (
                    <button
                      type="button"
                      onClick={act(() => admin.archiveRoom({ roomId: r.room?.id ?? 0n }))}
                    >
                      Archive
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>

      <section aria-label="Users">
        <h2>Users</h2>
        <input
          aria-label="Search users"
          placeholder="Search users"
          value={query}
          onChange={(e) => setQuery(e.target.value)}
        />
        <table>
          <thead>
            <tr>
              <th>User</th>
              <th>State</th>
              <th>Sessions</th>
              <th>Actions</th>
            </tr>
          </thead>
          <tbody>
            {users.map((u) => (
              <tr key={String(u.user?.id)} data-testid={`user-${u.user?.username}`}>
                <td>
                  {u.user?.username} {u.user?.displayName ? `(${u.user.displayName})` : ""}
                </td>
                <td>{u.disabled ? "disabled" : u.online ? "online" : "offline"}</td>
                <td>{u.sessionCount}</td>
                <td>
                  {u.disabled ? (
                    <button
                      type="button"
                      onClick={act(() => admin.enableUser({ userId: u.user?.id ?? 0n }))}
                    >
                      Enable
                    </button>
                  ) : (
                    <button
                      type="button"
                      onClick={act(() => admin.disableUser({ userId: u.user?.id ?? 0n }))}
                    >
                      Disable
                    </button>
                  )}
                  <button
                    type="button"
                    onClick={act(() => admin.logoutUser({ userId: u.user?.id ?? 0n }))}
                  >
                    Log out
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>

      <section aria-label="Webhooks">
        <h2>Webhooks</h2>
        <table>
          <thead>
            <tr>
              <th>URL</th>
              <th>Lag</th>
              <th>Delivered</th>
              <th>Failures</th>
              <th>Last error</th>
              <th>Actions</th>
            </tr>
          </thead>
          <tbody>
            {webhooks.map((w) => (
              <tr key={String(w.id)}>
                <td>
                  {w.url} {w.paused ? "(paused)" : ""}
                </td>
                <td>{String(w.lagEvents)}</td>
                <td>{String(w.deliveredBatches)}</td>
                <td>{w.failures}</td>
                <td>{w.lastError}</td>
                <td>
                  <button
                    type="button"
                    onClick={act(() =>
                      admin.setWebhookPaused({ webhookId: w.id, paused: !w.paused }),
                    )}
                  >
                    {w.paused ? "Resume" : "Pause"}
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>

      <section aria-label="Audit log">
        <h2>Audit log</h2>
        <table>
          <thead>
            <tr>
              <th>Key</th>
              <th>Method</th>
              <th>Target</th>
              <th>Result</th>
            </tr>
          </thead>
          <tbody>
            {audit.map((e) => (
              <tr key={String(e.id)}>
                <td>{e.keyName || "(none)"}</td>
                <td>{e.method}</td>
                <td>{e.target}</td>
                <td>{e.result}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
    </main>
  );
}
