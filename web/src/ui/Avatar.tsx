import type { User } from "@protochat/sdk";
import { displayName, hueOf, initials } from "../util/format.js";

/** The user's picture, or their initials on a colour of their own. */
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
  if (user?.avatarUrl && /^https?:\/\//.test(user.avatarUrl)) {
    return <img className="avatar" src={user.avatarUrl} alt="" style={style} />;
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
