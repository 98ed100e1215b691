/**
 * The JavaScript regular expressions the library used to build from `.dockerignore` patterns
 * (before it matched in linear time): an oracle for property tests on short inputs, where
 * backtracking does no harm. Same translation of moby's `Pattern.compile` as before.
 * @module
 */
type MatchKind = "exact" | "prefix" | "suffix" | "regexp";

const MOBY_ESCAPED = new Set([".", "+", "(", ")", "|", "{", "}", "$"]);

function literal(char: string): string {
  return /^[A-Za-z0-9_]$/.test(char) ? char : `\\u{${(char.codePointAt(0) ?? 0).toString(16)}}`;
}

const GO_PERL_CLASSES: Readonly<Record<string, string>> = {
  d: "[0-9]",
  D: "[^0-9]",
  s: "[\\t\\n\\f\\r ]",
  S: "[^\\t\\n\\f\\r ]",
  w: "[0-9A-Za-z_]",
  W: "[^0-9A-Za-z_]",
  b: "\\b",
  B: "\\B",
  A: "^",
  z: "$",
  a: "\\u{7}",
  f: "\\f",
  t: "\\t",
  n: "\\n",
  r: "\\r",
  v: "\\v",
};

export function oracleCompile(pattern: string): { kind: MatchKind; source: string } {
  const chars = Array.from(pattern);
  let kind: MatchKind = "exact";
  let source = "^";
  for (let i = 0; i < chars.length; i++) {
    const char = chars[i] ?? "";
    if (char === "*") {
      if (chars[i + 1] === "*") {
        const start = i;
        i++;
        if (chars[i + 1] === "/") i++;
        if (i + 1 >= chars.length) {
          if (kind === "exact") kind = "prefix";
          else {
            source += "[^\\n]*";
            kind = "regexp";
          }
        } else {
          // Go's `.` does not match a newline; JavaScript's also skips `\r`, `\u2028` and `\u2029`.
          source += "(?:[^\\n]*/)?";
          kind = "regexp";
        }
        if (start === 0) kind = "suffix";
      } else {
        source += "[^/]*";
        kind = "regexp";
      }
    } else if (char === "?") {
      source += "[^/]";
      kind = "regexp";
    } else if (MOBY_ESCAPED.has(char)) {
      source += literal(char);
    } else if (char === "\\") {
      const next = chars[i + 1];
      if (next === undefined) {
        source += literal("\\");
        continue;
      }
      i++;
      kind = "regexp";
      if (/^[A-Za-z0-9]$/.test(next)) {
        const translated = GO_PERL_CLASSES[next];
        if (translated === undefined) {
          throw new Error(`unsupported escape ${next}`);
        }
        source += translated;
      } else {
        source += literal(next);
      }
    } else if (char === "[") {
      kind = "regexp";
      let end = i + 1;
      let body = "[";
      if (chars[end] === "^") {
        body += "^";
        end++;
      }
      let first = true;
      while (end < chars.length && (chars[end] !== "]" || first)) {
        first = false;
        let item = chars[end] ?? "";
        if (item === "\\") {
          end++;
          item = chars[end] ?? "";
        }
        if (item === "-" && chars[end - 1] !== "\\") body += "-";
        else body += literal(item);
        end++;
      }
      source += `${body}]`;
      i = end;
    } else if (char === "]") {
      kind = "regexp";
      source += literal("]");
    } else if (char === "^") {
      // moby passes `^` through to Go's regexp, where it is an anchor.
      source += "^";
    } else {
      source += literal(char);
    }
  }
  return { kind, source: `${source}$` };
}

/** Whether the old translation matches `file`, with moby's exact, prefix and suffix shortcuts. */
export function oracleMatch(pattern: string, file: string): boolean {
  const { kind, source } = oracleCompile(pattern);
  switch (kind) {
    case "exact":
      return file === pattern;
    case "prefix":
      return file.startsWith(pattern.slice(0, -2));
    case "suffix": {
      const suffix = pattern.slice(2);
      return file.endsWith(suffix) || (suffix.startsWith("/") && file === suffix.slice(1));
    }
    case "regexp":
      return new RegExp(source, "u").test(file);
  }
}
