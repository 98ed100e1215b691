/**
 * Text helpers of the command line's output.
 * @module
 */
import type { VertexStatusEvent } from "../index.js";

// CSI (ESC [ ... final), OSC (ESC ] ... BEL or ESC \), charset designations and two-character
// escapes; built from strings so the control characters are spelled out.
const ESC = "\\u001b";
const ESCAPE_SEQUENCE = new RegExp(
  `${ESC}\\[[0-?]*[ -/]*[@-~]|${ESC}\\][^\\u0007${ESC}]*(?:\\u0007|${ESC}\\\\)?|${ESC}[()*+#%][0-~]?|${ESC}[@-_]?`,
  "g",
);

/** Whether a code point is a C0 or C1 control character other than the line feed. */
function isControl(code: number): boolean {
  return (code < 0x20 && code !== 0x0a) || (code >= 0x7f && code <= 0x9f);
}

/**
 * One line as it may be printed anywhere: no escape sequence or control character, a `\r`
 * overwrite reduced to what a terminal would show, tabs as spaces. Engine output is never trusted.
 */
export function sanitizeLine(text: string): string {
  const withoutEscapes = text.replace(ESCAPE_SEQUENCE, "");
  const lastReturn = withoutEscapes.lastIndexOf("\r");
  const shown = lastReturn === -1 ? withoutEscapes : withoutEscapes.slice(lastReturn + 1);
  let clean = "";
  for (const char of shown.replace(/\t/g, "  ")) {
    if (!isControl(char.codePointAt(0) ?? 0)) clean += char;
  }
  return clean;
}

/**
 * Splits chunks of engine text into complete lines, keeping at most `maxLineLength` characters of
 * one, so a step printing megabytes without a newline cannot grow memory.
 */
export class LineSplitter {
  #partial = "";

  constructor(private readonly maxLineLength = 4_096) {}

  /** The complete lines in `text` (plus what was kept from before), without their `\n`. */
  push(text: string): string[] {
    const parts = (this.#partial + text).split("\n");
    this.#partial = (parts.pop() ?? "").slice(-this.maxLineLength);
    return parts.map((line) => line.slice(0, this.maxLineLength));
  }

  /** What is left after the last line break, if anything; clears it. */
  flush(): string[] {
    const rest = this.#partial;
    this.#partial = "";
    return rest === "" ? [] : [rest];
  }
}

const SIZE_UNITS = ["B", "kB", "MB", "GB", "TB", "PB"];

/**
 * A byte count as go-units' `HumanSize` prints it: `512B`, `12.3kB`, `1.23MB`. Hand-written: the
 * npm packages use binary units or a space.
 */
export function humanSize(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return "?";
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < SIZE_UNITS.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${Number(value.toPrecision(3))}${SIZE_UNITS[unit]}`;
}

/** `current` bytes, or `current<separator>total` when the total is known. */
export function byteAmount(current: number, total: number | undefined, separator = "/"): string {
  return total === undefined
    ? humanSize(current)
    : `${humanSize(current)}${separator}${humanSize(total)}`;
}

/**
 * A BuildKit sub-task as the docker CLI shows it: its ID, which says what it is (`transferring
 * context:`, `sha256:…` of a layer, `writing image sha256:…`; the name is only the action, such
 * as `transferring`, shared by all of them), then the bytes when there are any.
 */
export function statusText(status: VertexStatusEvent): string {
  const label = status.id || (status.name ?? "");
  return status.total === undefined && status.current === 0
    ? label
    : `${label} ${byteAmount(status.current, status.total, " / ")}`;
}

/** A duration as BuildKit prints it: seconds with one decimal, `0.0s`, `12.3s`. */
export function seconds(ms: number): string {
  return `${(Math.max(0, ms) / 1000).toFixed(1)}s`;
}

/** A progress bar `[=====>      ]` of `width` characters in all. */
export function progressBar(current: number, total: number, width: number): string {
  const inner = Math.max(1, width - 2);
  const ratio = total > 0 ? Math.min(1, Math.max(0, current / total)) : 0;
  const done = Math.floor(ratio * inner);
  const head = done < inner ? ">" : "";
  return `[${"=".repeat(done)}${head}${" ".repeat(inner - done - head.length)}]`;
}

/** The East Asian wide and emoji ranges of Markus Kuhn's `wcwidth`, which terminals follow. */
const WIDE_RANGES: readonly (readonly [number, number])[] = [
  [0x1100, 0x115f],
  [0x2e80, 0xa4cf],
  [0xac00, 0xd7a3],
  [0xf900, 0xfaff],
  [0xfe30, 0xfe4f],
  [0xff00, 0xff60],
  [0xffe0, 0xffe6],
  [0x1f300, 0x1f64f],
  [0x1f900, 0x1f9ff],
  [0x20000, 0x3fffd],
];

/** Columns a code point takes on a terminal; a line cut by this never wraps out of the frame. */
function columns(codePoint: number): number {
  return WIDE_RANGES.some(([from, to]) => codePoint >= from && codePoint <= to) ? 2 : 1;
}

/** `text` cut to `width` columns, with `…` at the end when it was cut. */
export function truncate(text: string, width: number): string {
  if (width <= 0) return "";
  if (textWidth(text) <= width) return text;
  let cut = "";
  let used = 0;
  for (const char of text) {
    used += columns(char.codePointAt(0) ?? 0);
    // One column is left for the ellipsis.
    if (used > width - 1) break;
    cut += char;
  }
  return `${cut}…`;
}

/** Columns `text` takes on a terminal, as {@link truncate} counts them. */
export function textWidth(text: string): number {
  let used = 0;
  for (const char of text) used += columns(char.codePointAt(0) ?? 0);
  return used;
}

/** The first 12 hex digits of an image ID or digest, as the docker CLI shortens them. */
export function shortId(id: string): string {
  const hex = id.startsWith("sha256:") ? id.slice("sha256:".length) : id;
  return hex.slice(0, 12);
}
