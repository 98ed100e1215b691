/**
 * Python's `pathlib.PurePosixPath` string rules, which decide the text of Prefect's COPY lines.
 * @module
 */

/**
 * `str(PurePosixPath(value))`: empty and `.` segments dropped, `..` kept, exactly two leading
 * slashes kept (POSIX leaves their meaning to the implementation), `.` for an empty path.
 */
export function purePosixPath(value: string): string {
  const root =
    value.startsWith("//") && !value.startsWith("///") ? "//" : value.startsWith("/") ? "/" : "";
  const parts = value.split("/").filter((part) => part !== "" && part !== ".");
  const joined = root + parts.join("/");
  return joined === "" ? "." : joined;
}
