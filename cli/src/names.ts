/**
 * Usernames by id, for showing who said what: learnt from member lists and
 * events, fetched with GetUser when unknown, never fetched twice.
 */
import type { ChatClient, User } from "@protochat/sdk";

export class Names {
  private readonly known = new Map<bigint, string>();
  private readonly fetching = new Map<bigint, Promise<string>>();

  constructor(private readonly client: ChatClient) {}

  remember(users: Iterable<User | undefined>): void {
    for (const u of users) if (u && u.id !== 0n) this.known.set(u.id, u.username);
  }

  /** The username if known. */
  peek(id: bigint): string | undefined {
    return id === 0n ? "server" : this.known.get(id);
  }

  /** The username, fetched if needed (`user <id>` if it cannot be). */
  async of(id: bigint): Promise<string> {
    const k = this.peek(id);
    if (k) return k;
    let p = this.fetching.get(id);
    if (!p) {
      p = this.client.users
        .getUser({ lookup: { case: "id", value: id } })
        .then((res) => {
          this.remember([res.user]);
          return res.user?.username ?? `user ${id}`;
        })
        .catch(() => `user ${id}`)
        .finally(() => this.fetching.delete(id));
      this.fetching.set(id, p);
    }
    return p;
  }

  /** Fetches every unknown id of `ids`. */
  async load(ids: Iterable<bigint>): Promise<void> {
    await Promise.all([...new Set(ids)].map((id) => this.of(id)));
  }
}
