/**
 * Encodes tar headers the way the Docker CLI's Go `archive/tar` writer does for build contexts:
 * USTAR headers, uid/gid 0 with empty user and group names, and a PAX extended header only when a
 * value does not fit (names and link targets that are long or not ASCII, including names that
 * are not valid UTF-8, sizes of 8 GiB and more), laid out byte for byte as Go lays it out.
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
  /**
   * Path inside the archive, POSIX, without a trailing slash (added for directories). When the
   * name on disk is not valid UTF-8 this is a readable stand-in (each invalid byte as U+FFFD)
   * and {@link TarHeader.nameBytes} holds the real name.
   */
  readonly name: string;
  /** The exact bytes of the name, present only when they are not valid UTF-8. */
  readonly nameBytes?: Uint8Array | undefined;
  readonly type: TarEntryType;
  /** Permission bits plus setuid, setgid and sticky (`st_mode & 0o7777`). */
  readonly mode: number;
  /** Data size in bytes; 0 for everything but files. */
  readonly size: number;
  /** Modification time in whole seconds since the epoch. */
  readonly mtime: number;
  /** Target of a symlink, or the first name of a hardlinked file. */
  readonly linkname?: string | undefined;
  /** The exact bytes of the link target, present only when they are not valid UTF-8. */
  readonly linknameBytes?: Uint8Array | undefined;
}

const TYPEFLAG: Readonly<Record<TarEntryType, number>> = {
  file: 0x30,
  link: 0x31,
  symlink: 0x32,
  directory: 0x35,
};
const PAX_TYPEFLAG = 0x78;
const MAX_OCTAL_11 = 0o77777777777;
const NAME_SIZE = 100;
const PREFIX_SIZE = 155;
const SLASH = 0x2f;

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

/** Go's `isASCII`: every code unit below 0x80 and no NUL (control characters are fine). */
function isAscii(text: string): boolean {
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    if (code >= 0x80 || code === 0) return false;
  }
  return true;
}

function isAsciiBytes(bytes: Uint8Array): boolean {
  for (const byte of bytes) if (byte >= 0x80 || byte === 0) return false;
  return true;
}

/** Go's `toASCII`: drops every byte that is not ASCII. */
function toAscii(bytes: Buffer): Buffer {
  return isAsciiBytes(bytes) ? bytes : Buffer.from(bytes.filter((byte) => byte < 0x80 && byte));
}

/** Go's `formatString` for a name field: cut to the field, never ending in a cut-off `/`. */
function fitField(bytes: Buffer, size: number): Buffer {
  if (bytes.length <= size) return bytes;
  let end = size;
  if (bytes[size - 1] === SLASH) {
    end = size - 1;
    while (end > 0 && bytes[end - 1] === SLASH) end--;
  }
  return bytes.subarray(0, end);
}

/** Go's `splitUSTARPath`: a prefix (≤155) and name (≤100) split at a slash, for ASCII names. */
function splitUstar(name: Buffer): [prefix: Buffer, rest: Buffer] | undefined {
  if (name.length <= NAME_SIZE) return undefined;
  let slash = name.lastIndexOf(SLASH, Math.min(name.length, PREFIX_SIZE + 1) - 1);
  if (slash === name.length - 1) slash = name.lastIndexOf(SLASH, slash - 1);
  const restLength = name.length - slash - 1;
  if (slash <= 0 || restLength > NAME_SIZE || restLength === 0) return undefined;
  return [name.subarray(0, slash), name.subarray(slash + 1)];
}

/** One PAX record, `"<length> <key>=<value>\n"`, its length counting itself. */
function paxRecord(key: string, value: Buffer): Buffer {
  const bodyLength = key.length + value.length + 3;
  let length = bodyLength + String(bodyLength).length;
  if (String(length).length > String(bodyLength).length)
    length = bodyLength + String(length).length;
  return Buffer.concat([Buffer.from(`${length} ${key}=`), value, Buffer.from("\n")]);
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

function writeBytes(block: Buffer, at: number, bytes: Uint8Array | string): number {
  if (typeof bytes === "string") return writeText(block, at, bytes);
  let sum = 0;
  for (let index = 0; index < bytes.length; index++) {
    const code = bytes[index] as number;
    block[at + index] = code;
    sum += code;
  }
  return sum;
}

/** {@link writeBytes} for text already known to be ASCII: one loop the JIT keeps monomorphic. */
function writeText(block: Buffer, at: number, text: string): number {
  let sum = 0;
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    block[at + index] = code;
    sum += code;
  }
  return sum;
}

interface Fields {
  readonly name: Uint8Array | string;
  readonly prefix: Uint8Array | string;
  readonly linkname: Uint8Array | string;
  readonly typeflag: number;
  readonly mode: number;
  readonly size: number;
  readonly mtime: number;
}

/** Writes one 512-byte USTAR header at `at`; every field must already fit. */
function writeUstar(target: Buffer, at: number, fields: Fields): void {
  TEMPLATE.copy(target, at);
  // TEMPLATE_SUM already counts the checksum field as eight spaces, as the format requires.
  let sum = TEMPLATE_SUM;
  sum += writeBytes(target, at, fields.name);
  sum += writeOctal(target, at + 100, fields.mode, 7);
  sum += writeOctal(target, at + 124, fields.size, 11);
  sum += writeOctal(target, at + 136, fields.mtime, 11);
  target[at + 156] = fields.typeflag;
  sum += fields.typeflag;
  sum += writeBytes(target, at + 157, fields.linkname);
  sum += writeBytes(target, at + 345, fields.prefix);
  writeOctal(target, at + 148, sum, 6);
  target[at + 155] = 0x20;
}

/** The PAX extended header block: Go leaves mode, mtime and the device numbers at zero. */
function writePaxHeader(target: Buffer, at: number, name: Buffer, size: number): void {
  writeUstar(target, at, {
    name,
    prefix: "",
    linkname: "",
    typeflag: PAX_TYPEFLAG,
    mode: 0,
    size,
    mtime: 0,
  });
  target.fill(0, at + 329, at + 345);
  let sum = 0;
  target.fill(0x20, at + 148, at + 156);
  for (let index = 0; index < BLOCK; index++) sum += target[at + index] as number;
  writeOctal(target, at + 148, sum, 6);
  target[at + 155] = 0x20;
}

/** The common case: one USTAR header with the name in its name field. */
function fitsUstar(header: TarHeader): boolean {
  const { name, linkname } = header;
  return (
    header.nameBytes === undefined &&
    header.linknameBytes === undefined &&
    name.length < NAME_SIZE &&
    isAscii(name) &&
    (linkname === undefined || (linkname.length <= NAME_SIZE && isAscii(linkname))) &&
    header.size <= MAX_OCTAL_11 &&
    header.mtime >= 0 &&
    header.mtime <= MAX_OCTAL_11
  );
}

interface Layout {
  readonly fields: Fields;
  /** The PAX extended header's name and records, when one is needed. */
  readonly pax?: { readonly name: Buffer; readonly records: Buffer };
}

/** What Go's `tar.Writer.WriteHeader` writes for `header`: USTAR when it can, else PAX. */
function layout(header: TarHeader): Layout {
  const suffix = header.type === "directory" ? "/" : "";
  const name = header.nameBytes
    ? Buffer.concat([header.nameBytes, Buffer.from(suffix)])
    : Buffer.from(`${header.name}${suffix}`);
  const linkname = header.linknameBytes
    ? Buffer.from(header.linknameBytes)
    : Buffer.from(header.linkname ?? "");
  const typeflag = TYPEFLAG[header.type];
  const mode = header.mode & 0o7777;
  const nameAscii = isAsciiBytes(name);
  const split = nameAscii ? splitUstar(name) : undefined;
  const nameFits = nameAscii && (name.length <= NAME_SIZE || split !== undefined);
  const linkFits = isAsciiBytes(linkname) && linkname.length <= NAME_SIZE;
  const sizeFits = header.size <= MAX_OCTAL_11;
  const mtimeFits = header.mtime >= 0 && header.mtime <= MAX_OCTAL_11;
  if (nameFits && linkFits && sizeFits && mtimeFits) {
    const [prefix, rest] = split ?? [Buffer.alloc(0), name];
    const { size, mtime } = header;
    return { fields: { name: rest, prefix, linkname, typeflag, mode, size, mtime } };
  }
  // Go sorts the records by key.
  const records: Buffer[] = [];
  if (!linkFits) records.push(paxRecord("linkpath", linkname));
  if (!mtimeFits) records.push(paxRecord("mtime", Buffer.from(String(header.mtime))));
  if (!nameAscii || name.length > NAME_SIZE) records.push(paxRecord("path", name));
  if (!sizeFits) records.push(paxRecord("size", Buffer.from(String(header.size))));
  const slash = name.lastIndexOf(SLASH, name.length - 1);
  const directory = name.subarray(0, slash + 1);
  const file = name.subarray(slash + 1);
  const paxName = Buffer.concat([
    directory,
    Buffer.from(file.length > 0 ? "PaxHeaders.0/" : "PaxHeaders.0"),
    file,
  ]);
  let stub = toAscii(paxName).subarray(0, NAME_SIZE);
  while (stub.length > 0 && stub[stub.length - 1] === SLASH) stub = stub.subarray(0, -1);
  return {
    fields: {
      name: fitField(toAscii(name), NAME_SIZE),
      prefix: "",
      linkname: fitField(toAscii(linkname), NAME_SIZE),
      typeflag,
      mode,
      size: sizeFits ? header.size : 0,
      mtime: mtimeFits ? header.mtime : 0,
    },
    pax: { name: stub, records: Buffer.concat(records) },
  };
}

/**
 * Number of bytes {@link writeHeader} writes for `header`: 512, or more when a PAX extended header
 * has to come first.
 */
export function headerSize(header: TarHeader): number {
  if (fitsUstar(header)) return BLOCK;
  const { pax } = layout(header);
  return pax === undefined ? BLOCK : 2 * BLOCK + padded(pax.records.length);
}

/** `size` rounded up to a whole number of blocks. */
export function padded(size: number): number {
  return Math.ceil(size / BLOCK) * BLOCK;
}

/**
 * Writes the header(s) for `header` into `target` at `at` and returns the number of bytes written
 * (see {@link headerSize}). `target` must have room for them.
 */
export function writeHeader(target: Buffer, at: number, header: TarHeader): number {
  if (fitsUstar(header)) {
    // The common case, field by field: no layout object per entry.
    TEMPLATE.copy(target, at);
    const typeflag = TYPEFLAG[header.type];
    let sum = TEMPLATE_SUM + typeflag;
    sum += writeText(target, at, header.name);
    if (header.type === "directory") {
      target[at + header.name.length] = SLASH;
      sum += SLASH;
    }
    sum += writeOctal(target, at + 100, header.mode & 0o7777, 7);
    sum += writeOctal(target, at + 124, header.size, 11);
    sum += writeOctal(target, at + 136, header.mtime, 11);
    target[at + 156] = typeflag;
    if (header.linkname !== undefined) sum += writeText(target, at + 157, header.linkname);
    writeOctal(target, at + 148, sum, 6);
    target[at + 155] = 0x20;
    return BLOCK;
  }
  const { fields, pax } = layout(header);
  let offset = at;
  if (pax !== undefined) {
    writePaxHeader(target, offset, pax.name, pax.records.length);
    offset += BLOCK;
    pax.records.copy(target, offset);
    const end = offset + padded(pax.records.length);
    target.fill(0, offset + pax.records.length, end);
    offset = end;
  }
  writeUstar(target, offset, fields);
  return offset + BLOCK - at;
}
