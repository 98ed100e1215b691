import { stripVTControlCharacters } from "node:util";
import { LOG_TAIL_LINES, MAX_LOG_TAIL_LINE_CHARS } from "../defaults.js";

/** Raw characters kept per line, as a multiple of the longest shown: room for colour codes. */
const RAW_LINE_FACTOR = 4;
const ELLIPSIS = "\u2026";

/** Options of {@link LineTail}. */
export interface LineTailOptions {
  /** Lines kept. @default LOG_TAIL_LINES (50) */
  readonly lines?: number;
  /**
   * Longest line kept, in UTF-16 code units; a longer one is cut and ends with `…`.
   * @default MAX_LOG_TAIL_LINE_CHARS (4096)
   */
  readonly maxLineChars?: number;
}

/**
 * The last lines of an operation's output (`BuildError.logTail`, `PushError.logTail`), in linear
 * time and bounded memory: 50 MB without a newline keeps one cut line. ANSI escape codes, empty
 * lines and a trailing `\r` are removed so the tail reads as plain text in an error message.
 */
export class LineTail {
  readonly #size: number;
  readonly #maxLineChars: number;
  readonly #rawLimit: number;
  readonly #lines: string[] = [];
  /** The unfinished line, at most `#rawLimit` code units, and whether it lost text past that. */
  #partial = "";
  #cut = false;

  constructor(options: LineTailOptions = {}) {
    this.#size = options.lines ?? LOG_TAIL_LINES;
    this.#maxLineChars = options.maxLineChars ?? MAX_LOG_TAIL_LINE_CHARS;
    this.#rawLimit = this.#maxLineChars * RAW_LINE_FACTOR;
  }

  /** Adds output text; lines end at `\n` and may be split across calls in any way. */
  push(text: string): void {
    let start = 0;
    for (;;) {
      const newline = text.indexOf("\n", start);
      if (newline === -1) {
        this.#append(text, start, text.length);
        return;
      }
      this.#append(text, start, newline);
      this.#finish();
      start = newline + 1;
    }
  }

  /** The kept lines, oldest first, including an unfinished last one. */
  lines(): string[] {
    const partial = this.#partial === "" ? undefined : this.#clean(this.#partial, this.#cut);
    const all = partial ? [...this.#lines, partial] : [...this.#lines];
    return all.slice(-this.#size);
  }

  #append(text: string, start: number, end: number): void {
    const room = this.#rawLimit - this.#partial.length;
    if (end - start > room) {
      this.#cut = true;
      this.#partial += text.slice(start, start + room);
    } else if (end > start) {
      this.#partial += text.slice(start, end);
    }
  }

  #finish(): void {
    const line = this.#clean(this.#partial, this.#cut);
    this.#partial = "";
    this.#cut = false;
    if (line === "") return;
    this.#lines.push(line);
    if (this.#lines.length > this.#size) this.#lines.shift();
  }

  #clean(raw: string, cut: boolean): string {
    const line = stripVTControlCharacters(raw).replace(/\r$/, "");
    if (!cut && line.length <= this.#maxLineChars) return line;
    let end = this.#maxLineChars - ELLIPSIS.length;
    // Never end on half of a surrogate pair.
    const last = line.charCodeAt(end - 1);
    if (last >= 0xd800 && last <= 0xdbff) end--;
    return `${line.slice(0, end)}${ELLIPSIS}`;
  }
}
