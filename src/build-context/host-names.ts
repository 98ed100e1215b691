import type { BuildContextFs } from "./context-fs.js";

/**
 * A path on the host: a string, or bytes when some part is not valid UTF-8 (Linux names are
 * bytes), so it reaches the tar exactly as the Docker CLI sends it.
 */
export type HostPath = string | Buffer;

/** A name read from the host. */
export interface HostName {
  /** The name as text; each byte that is not valid UTF-8 is U+FFFD. */
  readonly text: string;
  /** The exact bytes, only when they are not valid UTF-8. */
  readonly bytes: Buffer | undefined;
}

/** Length of the valid UTF-8 sequence starting at `at`, or 0 (Go's `utf8.DecodeRune` rules). */
function sequenceLength(bytes: Uint8Array, at: number): number {
  const first = bytes[at] as number;
  if (first < 0x80) return 1;
  let length: number;
  let low = 0x80;
  let high = 0xbf;
  if (first >= 0xc2 && first <= 0xdf) length = 2;
  else if (first >= 0xe0 && first <= 0xef) {
    length = 3;
    if (first === 0xe0) low = 0xa0;
    if (first === 0xed) high = 0x9f; // no surrogates
  } else if (first >= 0xf0 && first <= 0xf4) {
    length = 4;
    if (first === 0xf0) low = 0x90;
    if (first === 0xf4) high = 0x8f;
  } else return 0;
  if (at + length > bytes.length) return 0;
  const second = bytes[at + 1] as number;
  if (second < low || second > high) return 0;
  for (let index = 2; index < length; index++) {
    const next = bytes[at + index] as number;
    if (next < 0x80 || next > 0xbf) return 0;
  }
  return length;
}

/** Decodes UTF-8 as Go's `range` does: every invalid byte becomes one U+FFFD. */
export function goString(bytes: Uint8Array): string {
  let text = "";
  let start = 0;
  let index = 0;
  while (index < bytes.length) {
    const length = sequenceLength(bytes, index);
    if (length > 0) {
      index += length;
      continue;
    }
    text += `${Buffer.from(bytes.subarray(start, index)).toString("utf8")}\ufffd`;
    index++;
    start = index;
  }
  return text + Buffer.from(bytes.subarray(start)).toString("utf8");
}

/** A name from raw bytes: text only, unless the bytes are not valid UTF-8. */
export function hostName(bytes: Buffer): HostName {
  const text = bytes.toString("utf8");
  // U+FFFD in the text is either a real U+FFFD or bytes Node replaced: only the bytes can tell.
  if (!text.includes("\ufffd") || Buffer.from(text).equals(bytes))
    return { text, bytes: undefined };
  return { text: goString(bytes), bytes };
}

/** `parent/name` on the host, as bytes when either part needs them. */
export function joinHost(parent: HostPath, name: HostName): HostPath {
  if (typeof parent === "string" && name.bytes === undefined) return `${parent}/${name.text}`;
  return Buffer.concat([
    typeof parent === "string" ? Buffer.from(parent) : parent,
    Buffer.from("/"),
    name.bytes ?? Buffer.from(name.text),
  ]);
}

/** `rel/name` inside the context, as bytes when either part needs them. */
export function joinRelative(
  parentText: string,
  parentBytes: Buffer | undefined,
  name: HostName,
): { text: string; bytes: Buffer | undefined } {
  const text = parentText === "" ? name.text : `${parentText}/${name.text}`;
  if (parentBytes === undefined && name.bytes === undefined) return { text, bytes: undefined };
  const own = name.bytes ?? Buffer.from(name.text);
  const bytes =
    parentText === ""
      ? own
      : Buffer.concat([parentBytes ?? Buffer.from(parentText), Buffer.from("/"), own]);
  return { text, bytes };
}

/** A symlink's target as the host has it. */
export function readLink(fs: BuildContextFs, host: HostPath): HostName {
  if (typeof host === "string") {
    const text = fs.readlinkSync(host);
    if (!text.includes("\ufffd")) return { text, bytes: undefined };
  }
  return hostName(fs.readlinkSync(host, { encoding: "buffer" }));
}

/** A host path as text, for messages and `BuildContextEntry.source`. */
export function hostText(host: HostPath): string {
  return typeof host === "string" ? host : goString(host);
}
