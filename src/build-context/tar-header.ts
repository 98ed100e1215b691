/**
 * Tar headers byte for byte as the Docker CLI's Go `archive/tar` writer lays them out: USTAR,
 * uid/gid 0 without names, and a PAX extended header only when a value does not fit (long or
 * non-ASCII names and link targets, sizes of 8 GiB and more).
 *
 * Not tar-stream's packer, which hands every header and file through its own stream as separate
 * buffers: here headers and file data go straight into reused 1 MiB chunks, no allocation per
 * entry. tar-stream still reads back every tar in the tests.
 * @module
 */

/** Size of a tar block. Headers take one; file data is padded to a multiple. */
export const BLOCK = 512;

/** Tar entry kinds written into a build context. */
export type TarEntryType = "file" | "directory" | "symlink" | "link";

/** The fields of one tar header. */
export interface TarHeader {
  /**
   * Path inside the archive, POSIX, without a trailing slash (added for directories); for a
   * name that is not valid UTF-8, a stand-in with U+FFFD for each invalid byte.
   */
  readonly name: string;
  /** The exact bytes of the name, only when they are not valid UTF-8. */
  readonly nameBytes?: Uint8Array | undefined;
  readonly type: TarEntryType;
  /** `st_mode & 0o7777`. */
  readonly mode: number;
  /** Data size in bytes; 0 for everything but files. */
  readonly size: number;
  /** Whole seconds since the epoch. */
  readonly mtime: number;
  /** Target of a symlink, or the first name of a hardlinked file. */
  readonly linkname?: string | undefined;
  /** The exact bytes of the link target, only when they are not valid UTF-8. */
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
/** What the devmajor and devminor fields add to {@link TEMPLATE_SUM}. */
const DEVICE_SUM = 2 * 7 * 0x30;
const EMPTY = Buffer.alloc(0);
/** A PAX extended header's own fields: Go leaves mode and mtime at zero. */
const PAX_HEADER: Fields = {
  name: EMPTY,
  prefix: EMPTY,
  linkname: EMPTY,
  typeflag: PAX_TYPEFLAG,
  mode: 0,
  size: 0,
  mtime: 0,
};

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

function writeBytes(block: Buffer, at: number, bytes: Uint8Array): number {
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
  readonly name: Uint8Array;
  readonly prefix: Uint8Array;
  readonly linkname: Uint8Array;
  readonly typeflag: number;
  readonly mode: number;
  readonly size: number;
  readonly mtime: number;
}

/**
 * Writes one 512-byte USTAR header at `at`; every field must already fit. Go writes a PAX
 * extended header's device numbers as zero bytes.
 */
function writeUstar(target: Buffer, at: number, fields: Fields, pax = false): void {
  TEMPLATE.copy(target, at);
  // TEMPLATE_SUM already counts the checksum field as eight spaces, as the format requires.
  let sum = TEMPLATE_SUM;
  if (pax) {
    target.fill(0, at + 329, at + 345);
    sum -= DEVICE_SUM;
  }
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
  readonly pax?: { readonly fields: Fields; readonly records: Buffer };
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
    const [prefix, rest] = split ?? [EMPTY, name];
    const { size, mtime } = header;
    return { fields: { name: rest, prefix, linkname, typeflag, mode, size, mtime } };
  }
  // Go sorts the records by key.
  const pairs: Buffer[] = [];
  if (!linkFits) pairs.push(paxRecord("linkpath", linkname));
  if (!mtimeFits) pairs.push(paxRecord("mtime", Buffer.from(String(header.mtime))));
  if (!nameAscii || name.length > NAME_SIZE) pairs.push(paxRecord("path", name));
  if (!sizeFits) pairs.push(paxRecord("size", Buffer.from(String(header.size))));
  const records = Buffer.concat(pairs);
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
      prefix: EMPTY,
      linkname: fitField(toAscii(linkname), NAME_SIZE),
      typeflag,
      mode,
      size: sizeFits ? header.size : 0,
      mtime: mtimeFits ? header.mtime : 0,
    },
    pax: {
      fields: { ...PAX_HEADER, name: stub, size: records.length },
      records,
    },
  };
}

/** Bytes {@link writeHeader} writes for `header`: 512, more when a PAX header comes first. */
export function headerSize(header: TarHeader): number {
  if (fitsUstar(header)) return BLOCK;
  const { pax } = layout(header);
  return pax === undefined ? BLOCK : 2 * BLOCK + padded(pax.records.length);
}

/** `size` rounded up to a whole number of blocks. */
export function padded(size: number): number {
  return Math.ceil(size / BLOCK) * BLOCK;
}

/** Writes the header(s) for `header` at `at` (`target` must have room); returns their size. */
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
    writeUstar(target, offset, pax.fields, true);
    offset += BLOCK;
    pax.records.copy(target, offset);
    const end = offset + padded(pax.records.length);
    target.fill(0, offset + pax.records.length, end);
    offset = end;
  }
  writeUstar(target, offset, fields);
  return offset + BLOCK - at;
}
