/**
 * The moderation queue of a room, for its owners and admins: the open
 * reports, newest first, each with what was reported, by whom and why, and
 * the actions (dismiss, delete the message, mute 10 min, kick, ban). Every
 * action but dismiss is a room event the room sees like any other.
 */
import { timestampDate } from "@bufbuild/protobuf/wkt";
import type { User } from "@protochat/sdk";
import { useCallback, useEffect, useState } from "react";
import { type Report, ReportAction, ReportState } from "../../../../gen/chat/v1/moderation_pb.js";
import { errorText } from "../../state/controller.js";
import { displayName, friendlyTime } from "../../util/format.js";
import { REASONS } from "./ReportDialog.js";
import { useModeration } from "./services.js";
import "./moderation.css";

/** Mute length offered by the queue. */
const muteSeconds = 600;

const ACTIONS: { action: ReportAction; label: string; messageOnly?: boolean; danger?: boolean }[] =
  [
    { action: ReportAction.DISMISS, label: "Dismiss" },
    { action: ReportAction.DELETE_MESSAGE, label: "Delete message", messageOnly: true },
    { action: ReportAction.MUTE, label: "Mute 10 min" },
    { action: ReportAction.KICK, label: "Kick", danger: true },
    { action: ReportAction.BAN, label: "Ban", danger: true },
  ];

export function ModerationPanel({ roomId, onClose }: { roomId: string; onClose: () => void }) {
  const moderation = useModeration();
  const [reports, setReports] = useState<Report[]>();
  const [users, setUsers] = useState<Record<string, User>>({});
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState<bigint>();
  const load = useCallback(async () => {
    try {
      const res = await moderation.listReports({
        roomId: BigInt(roomId),
        state: ReportState.OPEN,
        pageSize: 100,
      });
      setReports(res.reports);
      setUsers(Object.fromEntries(res.users.map((u) => [u.id.toString(), u])));
      setError(undefined);
    } catch (err) {
      setError(errorText(err));
    }
  }, [moderation, roomId]);
  useEffect(() => {
    void load();
  }, [load]);

  async function resolve(r: Report, action: ReportAction) {
    setBusy(r.id);
    try {
      await moderation.resolveReport({
        reportId: r.id,
        action,
        muteSeconds: action === ReportAction.MUTE ? muteSeconds : 0,
      });
      await load();
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(undefined);
    }
  }

  const now = new Date();
  const name = (id: bigint) => displayName(users[id.toString()], "Unknown user");
  return (
    <aside className="members-panel moderation-panel" aria-label="Moderation queue">
      <div className="panel-head">
        <h2>Reports</h2>
        {/* Reports are not room events (members never see them), so the queue is re-read on demand. */}
        <button type="button" onClick={() => void load()}>
          Refresh
        </button>
        <button type="button" className="icon-button" aria-label="Close reports" onClick={onClose}>
          ×
        </button>
      </div>
      {error && (
        <p className="error small" role="alert">
          {error}
        </p>
      )}
      {!reports && !error && <p className="muted">Loading…</p>}
      {reports?.length === 0 && <p className="muted">No open reports.</p>}
      {reports && reports.length > 0 && (
        <ol className="report-list">
          {reports.map((r) => {
            const time = r.createTime ? timestampDate(r.createTime) : undefined;
            const reason = REASONS.find((x) => x.value === r.reason)?.label ?? "Other";
            return (
              <li key={r.id.toString()} className="report" data-testid="report">
                <p className="small">
                  <strong>{reason}</strong>: {r.messageId ? "a message from " : "the user "}
                  <strong>{name(r.userId)}</strong>
                  <span className="muted">
                    {" "}
                    · reported by {name(r.reporterId)}
                    {time && ` · ${friendlyTime(time, now)}`}
                  </span>
                </p>
                {r.messageId !== 0n && (
                  <blockquote className="report-quote" data-testid="report-message">
                    {r.messageText || <em className="muted">(no text)</em>}
                  </blockquote>
                )}
                {r.text && <p className="small report-text">“{r.text}”</p>}
                <div className="report-actions">
                  {ACTIONS.filter((a) => !a.messageOnly || r.messageId !== 0n).map((a) => (
                    <button
                      key={a.action}
                      type="button"
                      className={a.danger ? "danger" : undefined}
                      disabled={busy === r.id}
                      onClick={() => void resolve(r, a.action)}
                    >
                      {a.label}
                    </button>
                  ))}
                </div>
              </li>
            );
          })}
        </ol>
      )}
    </aside>
  );
}
