// Text for a terminal. Names in output come from the input (object, program, map, type and
// variable names, file names) and may hold control characters: an ESC sequence in a program
// name would otherwise reach the terminal raw (recolour, move the cursor, retitle the
// window, fake lines). These escape them the way JSON and C would: \n, \t, \x1b, \u202e.

// C0, DEL, C1, and the Unicode bidi controls that reorder what a terminal shows
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
const CONTROL_BUT_NEWLINE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
const NAMED: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

function escapeChar(c: string): string {
  const named = NAMED[c];
  if (named) return named;
  const code = c.charCodeAt(0);
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

/** One line of output (or one name): every control character escaped, newlines included. */
export function safeLine(s: string): string {
  return s.replace(CONTROL, escapeChar);
}

/** A multi-line message: control characters escaped except newlines and tabs. */
export function safeText(s: string): string {
  return s.replace(CONTROL_BUT_NEWLINE, escapeChar);
}
