import type { User } from "@protochat/sdk";
import { useState } from "react";
import { displayName, hueOf, initials } from "../util/format.js";

/**
 * The user's picture, or their initials on a colour of their own. Only
 * https pictures are shown (the server accepts avatars only from the hosts
 * its operator allows, and the page's Content-Security-Policy lets the
 * browser load images from those hosts alone); a picture that does not load
 * (blocked by that policy, or gone) falls back to the initials.
 */
export function Avatar({
  user,
  id,
  size = 36,
}: {
  user: User | undefined;
  id: string;
  size?: number;
}) {
  const name = displayName(user, "?");
  const style = { width: size, height: size, fontSize: size * 0.4 };
  const url = user?.avatarUrl ?? "";
  const [failed, setFailed] = useState<string | undefined>(undefined);
  if (url.startsWith("https://") && failed !== url) {
    return (
      <img
        className="avatar"
        src={url}
        alt=""
        style={style}
        referrerPolicy="no-referrer"
        onError={() => setFailed(url)}
      />
    );
  }
  return (
    <span
      className="avatar"
      aria-hidden="true"
      style={{ ...style, background: `hsl(${hueOf(id)} 55% 42%)` }}
    >
      {initials(name)}
    </span>
  );
}
