/**
 * The account's privacy setting (ConsentService): who may add the user to
 * a room, group or direct conversation without asking. Everyone else sends
 * an invitation the user accepts or declines.
 */
import { useQuery } from "@connectrpc/connect-query";
import { type FormEvent, useEffect, useState } from "react";
import { AddPolicy, ConsentService } from "../../../../gen/chat/v1/consent_pb.js";
import { errorText } from "../../state/controller.js";
import { Dialog } from "../Dialog.js";
import { useLimitServices } from "../limits/services.js";

/** The choices, in the order shown. */
export const ADD_POLICY_CHOICES: { policy: AddPolicy; label: string }[] = [
  { policy: AddPolicy.ANYONE, label: "Anyone" },
  { policy: AddPolicy.SHARED_ROOM, label: "People I share a room with" },
  { policy: AddPolicy.NOBODY, label: "Nobody: always ask me first" },
];

const labelOf = (p: AddPolicy) => ADD_POLICY_CHOICES.find((c) => c.policy === p)?.label ?? "";

export function PrivacyDialog({ onClose }: { onClose: () => void }) {
  const { consent } = useLimitServices();
  const { data, error: loadError, refetch } = useQuery(ConsentService.method.getPrivacy, {});
  const [policy, setPolicy] = useState<AddPolicy>();
  const [error, setError] = useState<string>();
  const [saved, setSaved] = useState(false);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    if (data && policy === undefined) setPolicy(data.whoMayAdd);
  }, [data, policy]);

  async function save(e: FormEvent) {
    e.preventDefault();
    if (policy === undefined) return;
    setBusy(true);
    try {
      await consent.setPrivacy({ whoMayAdd: policy });
      await refetch();
      setSaved(true);
      setError(undefined);
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <Dialog title="Privacy" onClose={onClose}>
      <form className="form" onSubmit={save}>
        <fieldset className="radios">
          <legend>Who may add me to conversations</legend>
          <label>
            <input
              type="radio"
              name="who-may-add"
              checked={policy === AddPolicy.UNSPECIFIED}
              onChange={() => {
                setPolicy(AddPolicy.UNSPECIFIED);
                setSaved(false);
              }}
            />
            The server's default
            {data && ` (${labelOf(data.effectiveWhoMayAdd).toLowerCase()})`}
          </label>
          {ADD_POLICY_CHOICES.map((c) => (
            <label key={c.policy}>
              <input
                type="radio"
                name="who-may-add"
                checked={policy === c.policy}
                onChange={() => {
                  setPolicy(c.policy);
                  setSaved(false);
                }}
              />
              {c.label}
            </label>
          ))}
        </fieldset>
        <p className="muted small">
          Anyone else sends you an invitation, which you accept or decline.
        </p>
        {(error || loadError) && (
          <p className="error" role="alert">
            {error ?? (loadError ? errorText(loadError) : "")}
          </p>
        )}
        {saved && (
          <p className="small" role="status">
            Saved.
          </p>
        )}
        <div className="form-actions">
          <button type="button" onClick={onClose}>
            Close
          </button>
          <button type="submit" className="primary" disabled={busy || policy === undefined}>
            Save
          </button>
        </div>
      </form>
    </Dialog>
  );
}
