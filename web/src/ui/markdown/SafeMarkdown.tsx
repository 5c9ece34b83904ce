/**
 * Message text as Markdown, safely: raw HTML is never rendered (it shows as
 * the text it is), links only go to http(s) and mailto and open in a new tab
 * without referrer or opener, images are not loaded (their alt text shows),
 * nesting deeper than MAX_DEPTH is flattened to plain text, and @mentions
 * keep their highlight (never inside code or links).
 *
 * Parsing is bounded too (a message is parsed once, not on every render of
 * the list): deep line nesting is cut before parsing (limit-nesting.ts), and
 * a message with more than MAX_DELIMITERS emphasis characters is shown as
 * plain text, since micromark's emphasis matching grows with their square
 * (4000 characters of `*a*a…` took 2 s in Node).
 */
import { memo, type ReactNode } from "react";
import Markdown, { type Components } from "react-markdown";
import "./markdown.css";
import { splitMentions } from "../../util/format.js";
import { limitNesting } from "./limit-nesting.js";

/** Deepest block or inline nesting rendered as structure. */
export const MAX_DEPTH = 8;

/** More `*` and `_` than this in one message and it is shown as plain text. */
export const MAX_DELIMITERS = 400;

function countDelimiters(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 42 || c === 95) n++;
  }
  return n;
}

const SAFE_PROTOCOLS = new Set(["http:", "https:", "mailto:"]);

/** The URL if it is http(s) or mailto, else "" (the link renders as text). */
export function safeUrl(url: string): string {
  const trimmed = url.trim();
  try {
    const u = new URL(trimmed);
    return SAFE_PROTOCOLS.has(u.protocol) ? trimmed : "";
  } catch {
    return "";
  }
}

// A tiny mdast: only what the plugins below touch.
interface MdNode {
  type: string;
  value?: string;
  alt?: string;
  children?: MdNode[];
  data?: { hName?: string; hProperties?: Record<string, unknown> };
}

const PHRASING = new Set(["emphasis", "strong", "delete", "link", "linkReference"]);

function plainText(n: MdNode): string {
  if (typeof n.value === "string") return n.value;
  if (typeof n.alt === "string") return n.alt;
  return (n.children ?? []).map(plainText).join(n.type === "list" ? "\n" : "");
}

/** Flattens nodes below MAX_DEPTH into their text. */
function flattenDeep(node: MdNode, depth: number): void {
  const kids = node.children;
  if (!kids) return;
  for (let i = 0; i < kids.length; i++) {
    const k = kids[i] as MdNode;
    if (depth >= MAX_DEPTH && k.children && k.type !== "listItem") {
      const text: MdNode = { type: "text", value: plainText(k) };
      kids[i] =
        PHRASING.has(k.type) || node.type === "paragraph"
          ? text
          : { type: "paragraph", children: [text] };
    } else {
      flattenDeep(k, depth + 1);
    }
  }
}

/** Raw HTML shows as the text it is (React escapes it). */
function htmlAsText(node: MdNode): void {
  for (const k of node.children ?? []) {
    if (k.type === "html") k.type = "text";
    else htmlAsText(k);
  }
}

/** Turns @username in text (not in code or links) into mention spans. */
function markMentions(node: MdNode, mine: string | undefined): void {
  const kids = node.children;
  if (!kids || node.type === "link" || node.type === "linkReference") return;
  const out: MdNode[] = [];
  for (const k of kids) {
    if (k.type === "text" && typeof k.value === "string" && k.value.includes("@")) {
      for (const p of splitMentions(k.value)) {
        if (!p.mention) {
          out.push({ type: "text", value: p.text });
          continue;
        }
        const me = p.mention.toLowerCase() === mine;
        out.push({
          type: "mention",
          data: {
            hName: "span",
            hProperties: { className: me ? ["mention", "mention-me"] : ["mention"] },
          },
          children: [{ type: "text", value: p.text }],
        });
      }
    } else {
      markMentions(k, mine);
      out.push(k);
    }
  }
  node.children = out;
}

const components: Components = {
  a: ({ href, children }) =>
    href ? (
      <a href={href} target="_blank" rel="noopener noreferrer nofollow">
        {children}
      </a>
    ) : (
      <span>{children}</span>
    ),
  // Images are not loaded from message text (tracking, mixed content).
  img: ({ alt }) => <span className="md-img-alt">{alt ?? ""}</span>,
  // Headings are shown as bold lines, not as page headings.
  h1: ({ children }) => <p className="md-heading">{children}</p>,
  h2: ({ children }) => <p className="md-heading">{children}</p>,
  h3: ({ children }) => <p className="md-heading">{children}</p>,
  h4: ({ children }) => <p className="md-heading">{children}</p>,
  h5: ({ children }) => <p className="md-heading">{children}</p>,
  h6: ({ children }) => <p className="md-heading">{children}</p>,
};

/** The message text rendered as safe Markdown (memoized: parsed again only when it changes). */
export const SafeMarkdown = memo(function SafeMarkdown({
  text,
  me,
}: {
  text: string;
  me?: string | undefined;
}): ReactNode {
  if (countDelimiters(text) > MAX_DELIMITERS) {
    return (
      <div className="md md-plain">
        <p>{text}</p>
      </div>
    );
  }
  const mine = me?.toLowerCase();
  const remarkSafe = () => (tree: MdNode) => {
    htmlAsText(tree);
    flattenDeep(tree, 0);
    markMentions(tree, mine);
  };
  return (
    <div className="md">
      <Markdown
        skipHtml
        remarkPlugins={[remarkSafe]}
        urlTransform={(url) => safeUrl(url)}
        components={components}
      >
        {limitNesting(text, MAX_DEPTH + 2)}
      </Markdown>
    </div>
  );
});
