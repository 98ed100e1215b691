/**
 * The redrawn part of the terminal display. Not log-update: 7.2 (the last for Node 20) rewrites
 * only changed lines, and loses lines when some are inserted mid-frame (the tmux tests caught it).
 * Erasing the old frame and writing the new one in one synchronised write never shows half a frame.
 * @module
 */
import type { RenderTarget } from "./renderer.js";

const CSI = "\u001b[";
/** DEC mode 2026: the terminal shows what comes between these two at once. */
const SYNC_BEGIN = `${CSI}?2026h`;
const SYNC_END = `${CSI}?2026l`;
const HIDE_CURSOR = `${CSI}?25l`;
const SHOW_CURSOR = `${CSI}?25h`;

/** Lines written once above a frame that is redrawn in place below them. */
export class LiveFrame {
  readonly #target: RenderTarget;
  /** Rows of the frame on screen; the cursor is on the row below it. */
  #rows = 0;
  #cursorHidden = false;
  readonly #restoreCursor = () => {
    if (this.#cursorHidden) this.#target.write(SHOW_CURSOR);
  };

  constructor(target: RenderTarget) {
    this.#target = target;
  }

  /**
   * Replaces the frame on screen by `persist` (lines that stay) and `frame` (lines the next update
   * replaces), in one write. Each line must fit the terminal's width.
   */
  update(persist: readonly string[], frame: readonly string[]): void {
    if (this.#rows === 0 && persist.length === 0 && frame.length === 0) return;
    let out = SYNC_BEGIN;
    if (!this.#cursorHidden && frame.length > 0) {
      out += HIDE_CURSOR;
      this.#cursorHidden = true;
      // A crash or a second Ctrl-C must not leave the terminal without its cursor.
      process.once("exit", this.#restoreCursor);
    }
    if (this.#rows > 0) out += `${CSI}${this.#rows}F${CSI}J`;
    for (const line of persist) out += `${line}\n`;
    for (const line of frame) out += `${line}\n`;
    this.#rows = frame.length;
    out += SYNC_END;
    this.#target.write(out);
  }

  /** Leaves what is on screen as it is and shows the cursor again. */
  done(): void {
    if (this.#cursorHidden) {
      this.#target.write(SHOW_CURSOR);
      this.#cursorHidden = false;
      process.off("exit", this.#restoreCursor);
    }
    this.#rows = 0;
  }
}
