// Untrusted text that is echoed back (in an error, a log line, a debug page) is shortened and
// escaped first, so a 10 MB node id or a secret file's bytes never travel further than a short,
// printable excerpt of them.

/** The longest excerpt echoed, in characters, before the `…(N more)` marker. */
export const excerptChars = 120;

/**
 * At most `max` characters of `text` with control and non-ASCII-printable characters escaped
 * (`\n`, `\u0000`), and how much was left out.
 */
export function excerpt(text: string, max: number = excerptChars): string {
  const head = text.length > max ? text.slice(0, max) : text;
  const escaped = head.replace(
    // eslint-disable-next-line no-control-regex -- control characters are exactly what is escaped
    /[\u0000-\u001f\u007f-\u009f\u2028\u2029\ufffd]/g,
    (c) => (c === "\n" ? "\\n" : c === "\t" ? "\\t" : `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`),
  );
  return text.length > max ? `${escaped}…(${text.length - max} more characters)` : escaped;
}
