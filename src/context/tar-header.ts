/**
 * Encodes tar headers the way the Docker CLI's Go `archive/tar` writer does for build contexts:
 * USTAR headers, uid/gid 0 with empty user and group names, and a PAX extended header only when a
 * value does not fit (long or non-ASCII names and link targets, sizes of 8 GiB and more).
 *
 * Written here rather than taken from tar-stream because the context engine writes headers and
 * file data straight into reused 1 MiB chunks, one socket write per chunk and no allocation per
 * entry; tar-stream's packer hands every header and file through its own stream as separate
 * buffers. tar-stream still reads back every tar in the tests.
 * @module
 */

/** Size of a tar block. Headers take one; file data is padded to a multiple. */
export const BLOCK = 512;

/** Tar entry kinds written into a build context. */
export type TarEntryType = "file" | "directory" | "symlink" | "link";

/** The fields of one tar header. */
export interface TarHeader {
  /** Path inside the archive, POSIX, without a trailing slash (added for directories). */
  readonly name: string;
  readonly type: TarEntryType;
  /** Permission bits plus setuid, setgid and sticky (`st_mode & 0o7777`). */
  readonly mode: number;
  /** Data size in bytes; 0 for everything but files. */
  readonly size: number;
  /** Modification time in whole seconds since the epoch. */
  readonly mtime: number;
  /** Target of a symlink, or the first name of a hardlinked file. */
  readonly linkname?: string | undefined;
}

const TYPEFLAG: Readonly<Record<TarEntryType, number>> = {
  file: 0x30,
  link: 0x31,
  symlink: 0x32,
  directory: 0x35,
};
const PAX_TYPEFLAG = 0x78;
const MAX_OCTAL_11 = 0o77777777777;

const TEMPLATE = (() => {
  const block = Buffer.alloc(BLOCK);
  block.write("0000000\0", 108, "latin1"); // uid
  block.write("0000000\0", 116, "latin1"); // gid
  block.write("        ", 148, "latin1"); // checksum counts as spaces while summing
  block.write("ustar\u000000", 257, "latin1");
  block.write("0000000\0", 329, "latin1"); // devmajor
  block.write("0000000\0", 337, "latin1"); // devminor
  return block;
})();
const TEMPLATE_SUM = TEMPLATE.reduce((sum, byte) => sum + byte, 0);

/** Whether `text` is printable ASCII only, so its UTF-16 length is its byte length. */
function isAscii(text: string): boolean {
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    if (code < 0x20 || code > 0x7e) return false;
  }
  return true;
}

/** Splits a long ASCII name into USTAR's prefix (≤155) and name (≤100) where Go's writer does. */
function splitUstar(name: string): [prefix: string, rest: string] | undefined {
  if (name.length <= 100) return ["", name];
  const slash = name.lastIndexOf("/", Math.min(name.length, 156) - 1);
  const restLength = name.length - slash - 1;
  if (slash <= 0 || restLength > 100 || restLength === 0) return undefined;
  return [name.slice(0, slash), name.slice(slash + 1)];
}

function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  const bodyLength = Buffer.byteLength(body);
  let length = bodyLength + String(bodyLength).length;
  if (String(length).length > String(bodyLength).length)
    length = bodyLength + String(length).length;
  return `${length}${body}`;
}

/** Writes `value` as `digits` zero-padded octal digits and a NUL; returns the bytes' sum. */
function writeOctal(block: Buffer, at: number, value: number, digits: number): number {
  let sum = 0;
  let rest = value;
  for (let index = digits - 1; index >= 0; index--) {
    const code = 0x30 + (rest % 8);
    block[at + index] = code;
    sum += code;
    rest = Math.floor(rest / 8);
  }
  block[at + digits] = 0;
  return sum;
}

function writeAscii(block: Buffer, at: number, text: string): number {
  let sum = 0;
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    block[at + index] = code;
    sum += code;
  }
  return sum;
}

/** Writes one 512-byte USTAR header at `at`; every field must already fit. */
function writeUstar(
  target: Buffer,
  at: number,
  name: string,
  prefix: string,
  typeflag: number,
  mode: number,
  size: number,
  mtime: number,
  linkname: string,
): void {
  TEMPLATE.copy(target, at);
  // TEMPLATE_SUM already counts the checksum field as eight spaces, as the format requires.
  let sum = TEMPLATE_SUM;
  sum += writeAscii(target, at, name);
  sum += writeOctal(target, at + 100, mode, 7);
  sum += writeOctal(target, at + 124, size, 11);
  sum += writeOctal(target, at + 136, mtime, 11);
  target[at + 156] = typeflag;
  sum += typeflag;
  sum += writeAscii(target, at + 157, linkname);
  sum += writeAscii(target, at + 345, prefix);
  writeOctal(target, at + 148, sum, 6);
  target[at + 155] = 0x20;
}

/**
 * Number of bytes {@link writeHeader} writes for `header`: 512, or more when a PAX extended header
 * has to come first.
 */
export function headerSize(header: TarHeader): number {
  if (fitsUstar(header)) return BLOCK;
  const pax = layout(header).pax;
  return pax === undefined ? BLOCK : 2 * BLOCK + padded(Buffer.byteLength(pax));
}

/** `size` rounded up to a whole number of blocks. */
export function padded(size: number): number {
  return Math.ceil(size / BLOCK) * BLOCK;
}

interface Layout {
  readonly name: string;
  readonly prefix: string;
  readonly pax: string | undefined;
}

function layout(header: TarHeader): Layout {
  const fullName = header.type === "directory" ? `${header.name}/` : header.name;
  const linkname = header.linkname ?? "";
  let records = "";
  let name = fullName;
  let prefix = "";
  const split = isAscii(fullName) ? splitUstar(fullName) : undefined;
  if (split === undefined) {
    records += paxRecord("path", fullName);
    name = asciiStub(fullName);
  } else {
    [prefix, name] = split;
  }
  if (linkname.length > 100 || !isAscii(linkname)) records += paxRecord("linkpath", linkname);
  if (header.size > MAX_OCTAL_11) records += paxRecord("size", String(header.size));
  if (header.mtime < 0 || header.mtime > MAX_OCTAL_11)
    records += paxRecord("mtime", String(header.mtime));
  return { name, prefix, pax: records === "" ? undefined : records };
}

/** The common case: one USTAR header with the name in its name field. */
function fitsUstar(header: TarHeader): boolean {
  const { name, linkname } = header;
  return (
    name.length < 100 &&
    isAscii(name) &&
    (linkname === undefined || (linkname.length <= 100 && isAscii(linkname))) &&
    header.size <= MAX_OCTAL_11 &&
    header.mtime >= 0 &&
    header.mtime <= MAX_OCTAL_11
  );
}

/** A printable ASCII stand-in of at most 100 bytes for readers that ignore PAX headers. */
function asciiStub(name: string): string {
  const ascii = name.replace(/[^\x20-\x7e]/g, "_");
  return ascii.length <= 100 ? ascii : ascii.slice(ascii.length - 100);
}

/**
 * Writes the header(s) for `header` into `target` at `at` and returns the number of bytes written
 * (see {@link headerSize}). `target` must have room for them.
 */
export function writeHeader(target: Buffer, at: number, header: TarHeader): number {
  const typeflag = TYPEFLAG[header.type];
  if (fitsUstar(header)) {
    const name = header.type === "directory" ? `${header.name}/` : header.name;
    const { mode, size, mtime } = header;
    writeUstar(target, at, name, "", typeflag, mode & 0o7777, size, mtime, header.linkname ?? "");
    return BLOCK;
  }
  const { name, prefix, pax } = layout(header);
  const linkname = header.linkname ?? "";
  const fitsLink = linkname.length <= 100 && isAscii(linkname);
  const size = header.size > MAX_OCTAL_11 ? 0 : header.size;
  const mtime = header.mtime < 0 || header.mtime > MAX_OCTAL_11 ? 0 : header.mtime;
  let offset = at;
  if (pax !== undefined) {
    const data = Buffer.from(pax, "utf8");
    const paxName = asciiStub(
      `PaxHeaders.0/${header.name.slice(header.name.lastIndexOf("/") + 1)}`,
    );
    writeUstar(target, offset, paxName, "", PAX_TYPEFLAG, 0o644, data.length, mtime, "");
    offset += BLOCK;
    data.copy(target, offset);
    const end = offset + padded(data.length);
    target.fill(0, offset + data.length, end);
    offset = end;
  }
  writeUstar(
    target,
    offset,
    name,
    prefix,
    typeflag,
    header.mode & 0o7777,
    size,
    mtime,
    fitsLink ? linkname : asciiStub(linkname),
  );
  return offset + BLOCK - at;
}
