/**
 * The layers of a pull or push on the terminal: a line each while they move, then one summary.
 * @module
 */
import type { LayerStatusEvent } from "../../index.js";
import { byteAmount, humanSize, progressBar, sanitizeLine, truncate } from "../format.js";

/** Layer states that need no progress bar. */
const LAYER_DONE =
  /^(Pushed|Layer already exists|Mounted from|Pull complete|Already exists|Download complete)/;

interface Layer {
  status: string;
  current: number | undefined;
  total: number | undefined;
  done: boolean;
}

/** The layers seen so far, by id, in order of appearance. */
export class LayerTable {
  readonly #layers = new Map<string, Layer>();

  get size(): number {
    return this.#layers.size;
  }

  /** Records a status event of a layer (one with an `id`). */
  update(event: LayerStatusEvent & { id: string }): void {
    const done = LAYER_DONE.test(event.status);
    const previous = this.#layers.get(event.id);
    this.#layers.set(event.id, {
      status: event.status,
      current: done ? previous?.total : event.current,
      total: event.total ?? previous?.total,
      done,
    });
  }

  /** One line per layer, `width` columns at most; `done` colours finished ones. */
  lines(width: number, done: (text: string) => string): string[] {
    return [...this.#layers].map(([id, layer]) => {
      const head = ` => ${truncate(sanitizeLine(id), 12).padEnd(12)} ${truncate(sanitizeLine(layer.status), 22).padEnd(22)}`;
      if (layer.done) {
        const size = layer.total === undefined ? "" : ` ${humanSize(layer.total)}`;
        return done(truncate(`${head}${size}`, width));
      }
      if (layer.current === undefined) return truncate(head, width);
      const amount = byteAmount(layer.current, layer.total);
      const room = width - head.length - amount.length - 2;
      const bar =
        layer.total !== undefined && room >= 10
          ? ` ${progressBar(layer.current, layer.total, Math.min(40, room))}`
          : "";
      return truncate(`${head}${bar} ${amount}`, width);
    });
  }

  /** What happened to the layers, in one line's words, and forgets them. */
  collapse(operation: "pull" | "push"): string {
    const byStatus = new Map<string, number>();
    let moved = 0;
    for (const layer of this.#layers.values()) {
      const status = layer.status.replace(/^Mounted from .*/, "Mounted");
      byStatus.set(status, (byStatus.get(status) ?? 0) + 1);
      if (/^(Pushed|Pull complete|Download complete)$/.test(status)) moved += layer.total ?? 0;
    }
    const what = [...byStatus]
      .map(([status, count]) => `${count} ${status.toLowerCase()}`)
      .join(", ");
    const noun = this.#layers.size === 1 ? "layer" : "layers";
    const verb = operation === "push" ? "uploaded" : "downloaded";
    const summary = `${this.#layers.size} ${noun}: ${what}${moved > 0 ? ` (${humanSize(moved)} ${verb})` : ""}`;
    this.#layers.clear();
    return summary;
  }
}
