/**
 * Python's `pathlib.PurePosixPath` string rules, which decide the text of Prefect's COPY lines.
 * @module
 */

/**
 * `str(PurePosixPath(value))`: empty and `.` segments dropped, repeated slashes collapsed, a
 * trailing slash removed, `..` kept, exactly two leading slashes kept (POSIX leaves their meaning
 * to the implementation), and `.` for an empty path.
 *
 * @example
 * ```ts
 * purePosixPath("/app//src/"); // "/app/src"
 * purePosixPath("./hello.txt"); // "hello.txt"
 * ```
 */
export function purePosixPath(value: string): string {
  const root =
    value.startsWith("//") && !value.startsWith("///") ? "//" : value.startsWith("/") ? "/" : "";
  const parts = value.split("/").filter((part) => part !== "" && part !== ".");
  const joined = root + parts.join("/");
  return joined === "" ? "." : joined;
}

/** `PurePosixPath(value).name`: the last segment, or `""` for `/`, `.` and the empty path. */
export function purePosixName(value: string): string {
  const parts = value.split("/").filter((part) => part !== "" && part !== ".");
  return parts.at(-1) ?? "";
}
