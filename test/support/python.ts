/**
 * Runs the real Python reference once per test file: requests are collected, sent to
 * `/usr/bin/python3` as one JSON batch on stdin, and the answers (or the exception Python raised)
 * come back in order.
 *
 * The Python side uses Debian's python3-slugify / python3-unidecode / python3-packaging and carries
 * verbatim copies of the functions under test: Prefect's dockerutils helpers (from
 * `prefect/utilities/dockerutils.py`) and python-slugify 8.0.4's `slugify` / `smart_truncate`
 * (MIT, Val Neekman), the version Prefect depends on; Debian ships python-slugify 4.0.0, which is
 * also run for comparison. A missing module fails the tests; they are never skipped.
 */

import { spawnSync } from "node:child_process";

/** `/usr/bin/python3`, never a pyenv shim: it is the interpreter with Debian's modules. */
export const PYTHON = "/usr/bin/python3";

const SETUP_HINT =
  "the parity tests compare with real Python: run scripts/test-services.sh (as root) to install python3, python3-slugify and python3-packaging";

const SCRIPT = String.raw`
import json, re, sys, unicodedata, warnings
# Unidecode warns about surrogates; the answers are what matter.
warnings.simplefilter("ignore")

missing = []
try:
    import slugify as installed_slugify
except ImportError:
    missing.append("python3-slugify (import slugify)")
try:
    from packaging.version import Version, InvalidVersion
except ImportError:
    missing.append("python3-packaging (import packaging.version)")
try:
    import unidecode
except ImportError:
    try:
        import text_unidecode as unidecode
    except ImportError:
        missing.append("python3-unidecode (import unidecode)")
if missing:
    sys.stderr.write("MISSING: " + ", ".join(missing) + "\n")
    sys.exit(3)

from html.entities import name2codepoint

# ---- python-slugify 8.0.4, slugify/slugify.py (MIT), verbatim.
CHAR_ENTITY_PATTERN = re.compile(r'&(%s);' % '|'.join(name2codepoint))
DECIMAL_PATTERN = re.compile(r'&#(\d+);')
HEX_PATTERN = re.compile(r'&#x([\da-fA-F]+);')
QUOTE_PATTERN = re.compile(r'[\']+')
DISALLOWED_CHARS_PATTERN = re.compile(r'[^-a-zA-Z0-9]+')
DISALLOWED_UNICODE_CHARS_PATTERN = re.compile(r'[\W_]+')
DUPLICATE_DASH_PATTERN = re.compile(r'-{2,}')
NUMBERS_PATTERN = re.compile(r'(?<=\d),(?=\d)')
DEFAULT_SEPARATOR = '-'


def smart_truncate(string, max_length=0, word_boundary=False, separator=" ", save_order=False):
    string = string.strip(separator)
    if not max_length:
        return string
    if len(string) < max_length:
        return string
    if not word_boundary:
        return string[:max_length].strip(separator)
    if separator not in string:
        return string[:max_length]
    truncated = ''
    for word in string.split(separator):
        if word:
            next_len = len(truncated) + len(word)
            if next_len < max_length:
                truncated += '{}{}'.format(word, separator)
            elif next_len == max_length:
                truncated += '{}'.format(word)
                break
            else:
                if save_order:
                    break
    if not truncated:
        truncated = string[:max_length]
    return truncated.strip(separator)


def slugify(text, entities=True, decimal=True, hexadecimal=True, max_length=0, word_boundary=False,
            separator=DEFAULT_SEPARATOR, save_order=False, stopwords=(), regex_pattern=None,
            lowercase=True, replacements=(), allow_unicode=False):
    if replacements:
        for old, new in replacements:
            text = text.replace(old, new)
    if not isinstance(text, str):
        text = str(text, 'utf-8', 'ignore')
    text = QUOTE_PATTERN.sub(DEFAULT_SEPARATOR, text)
    if allow_unicode:
        text = unicodedata.normalize('NFKC', text)
    else:
        text = unicodedata.normalize('NFKD', text)
        text = unidecode.unidecode(text)
    if not isinstance(text, str):
        text = str(text, 'utf-8', 'ignore')
    if entities:
        text = CHAR_ENTITY_PATTERN.sub(lambda m: chr(name2codepoint[m.group(1)]), text)
    if decimal:
        try:
            text = DECIMAL_PATTERN.sub(lambda m: chr(int(m.group(1))), text)
        except Exception:
            pass
    if hexadecimal:
        try:
            text = HEX_PATTERN.sub(lambda m: chr(int(m.group(1), 16)), text)
        except Exception:
            pass
    if allow_unicode:
        text = unicodedata.normalize('NFKC', text)
    else:
        text = unicodedata.normalize('NFKD', text)
    if lowercase:
        text = text.lower()
    text = QUOTE_PATTERN.sub('', text)
    text = NUMBERS_PATTERN.sub('', text)
    if allow_unicode:
        pattern = regex_pattern or DISALLOWED_UNICODE_CHARS_PATTERN
    else:
        pattern = regex_pattern or DISALLOWED_CHARS_PATTERN
    text = re.sub(pattern, DEFAULT_SEPARATOR, text)
    text = DUPLICATE_DASH_PATTERN.sub(DEFAULT_SEPARATOR, text).strip(DEFAULT_SEPARATOR)
    if stopwords:
        if lowercase:
            stopwords_lower = [s.lower() for s in stopwords]
            words = [w for w in text.split(DEFAULT_SEPARATOR) if w not in stopwords_lower]
        else:
            words = [w for w in text.split(DEFAULT_SEPARATOR) if w not in stopwords]
        text = DEFAULT_SEPARATOR.join(words)
    if replacements:
        for old, new in replacements:
            text = text.replace(old, new)
    if max_length > 0:
        text = smart_truncate(text, max_length, word_boundary, DEFAULT_SEPARATOR, save_order)
    if separator != DEFAULT_SEPARATOR:
        text = text.replace(DEFAULT_SEPARATOR, separator)
    return text


# ---- prefect/utilities/dockerutils.py, verbatim except for the marked substitutions.
def get_prefect_image_name(prefect_version=None, python_version=None, flavor=None, *,
                           default_version, short_sha, python_minor):
    parsed_version = Version(prefect_version or default_version)  # was: prefect.__version__
    is_prod_build = parsed_version.local is None
    # was: short_sha from git rev-parse --short=7 HEAD, else prefect.__version_info__
    prefect_version = parsed_version.public if is_prod_build else f"sha-{short_sha}"

    python_version = python_version or python_minor  # was: python_version_minor()

    tag = slugify(
        f"{prefect_version}-python{python_version}" + (f"-{flavor}" if flavor else ""),
        lowercase=False,
        max_length=128,
        # Docker allows these characters for tag names
        regex_pattern=r"[^a-zA-Z0-9_.-]+",
    )

    image = "prefect" if is_prod_build else "prefect-dev"
    return f"prefecthq/{image}:{tag}"


def to_run_command(command):
    if not command:
        return ""

    run_command = f"RUN {command[0]}"
    if len(command) > 1:
        run_command += " " + " ".join([repr(arg) for arg in command[1:]])

    return run_command


def parse_image_tag(name):
    tag = None
    name_parts = name.split("/")

    if len(name_parts) == 1:
        if "@" in name_parts[0]:
            image_name, tag = name_parts[0].split("@")
        elif ":" in name_parts[0]:
            image_name, tag = name_parts[0].split(":")

        else:
            image_name = name_parts[0]
    else:
        index_name = name_parts[0]
        image_path = "/".join(name_parts[1:])

        if "@" in image_path:
            image_path, tag = image_path.split("@")
        elif ":" in image_path:
            image_path, tag = image_path.split(":")

        image_name = f"{index_name}/{image_path}"

    return image_name, tag


def split_repository_path(repository_path):
    parts = repository_path.split("/", 2)

    if len(parts) == 3 or (len(parts) == 2 and ("." in parts[0] or ":" in parts[0])):
        namespace = "/".join(parts[:-1])
        repository = parts[-1]
    elif len(parts) == 2:
        namespace = parts[0]
        repository = parts[1]
    else:
        namespace = None
        repository = parts[0]

    return namespace, repository


def format_outlier_version_name(version):
    return version.replace("-ce", "").replace("-ee", "")


# ---- dispatcher
def capture(fn):
    try:
        return {"ok": True, "value": fn()}
    except Exception as exc:
        return {"ok": False, "type": type(exc).__name__, "message": str(exc)}


def slugify_request(req):
    kw = req["kw"]
    return {
        "v8": capture(lambda: slugify(req["s"], **kw)),
        "installed": capture(lambda: installed_slugify.slugify(req["s"], **kw)),
    }


def version_request(s):
    v = Version(s)
    return {"public": v.public, "local": v.local, "baseVersion": v.base_version}


OPS = {
    "repr": lambda r: {
        "repr": repr(r["s"]),
        "unassigned": [ord(c) for c in r["s"] if unicodedata.category(c) == "Cn"],
    },
    "slugify": slugify_request,
    "parse_image_tag": lambda r: list(parse_image_tag(r["s"])),
    "split_repository_path": lambda r: list(split_repository_path(r["s"])),
    "format_outlier_version_name": lambda r: format_outlier_version_name(r["s"]),
    "to_run_command": lambda r: {
        "command": to_run_command(r["args"]),
        "unassigned": [ord(c) for a in r["args"][1:] for c in a if unicodedata.category(c) == "Cn"],
    },
    "version": lambda r: version_request(r["s"]),
    "image_name": lambda r: get_prefect_image_name(
        *r["args"], default_version=r["defaultVersion"], short_sha=r["sha"],
        python_minor=r["pythonMinor"]),
    "info": lambda r: {"unidata": unicodedata.unidata_version, "python": sys.version.split()[0]},
}

requests = json.loads(sys.stdin.buffer.read().decode("utf-8"))
answers = [capture(lambda: OPS[req["op"]](req)) for req in requests]
sys.stdout.write(json.dumps(answers, ensure_ascii=True))
`;

/** python-slugify's keyword arguments, as sent to Python. */
export interface PySlugifyKwargs {
  entities?: boolean;
  decimal?: boolean;
  hexadecimal?: boolean;
  max_length?: number;
  word_boundary?: boolean;
  separator?: string;
  save_order?: boolean;
  stopwords?: string[];
  regex_pattern?: string;
  lowercase?: boolean;
  replacements?: [string, string][];
}

/** One question for Python. */
export type PyRequest =
  | { op: "repr"; s: string }
  | { op: "slugify"; s: string; kw: PySlugifyKwargs }
  | { op: "parse_image_tag"; s: string }
  | { op: "split_repository_path"; s: string }
  | { op: "format_outlier_version_name"; s: string }
  | { op: "to_run_command"; args: string[] }
  | { op: "version"; s: string }
  | {
      op: "image_name";
      args: [string | null, string | null, string | null];
      defaultVersion: string;
      sha: string;
      pythonMinor: string;
    }
  | { op: "info" };

/** Python's answer: a value, or the exception it raised. */
export type PyResult = { ok: true; value: unknown } | { ok: false; type: string; message: string };

/** The answer to a `slugify` request. */
export interface PySlugifyAnswer {
  /** python-slugify 8.0.4 with Python's Unidecode. */
  v8: PyResult;
  /** Debian's installed python-slugify (4.0.0). */
  installed: PyResult;
}

/**
 * Escapes, in our output, the code points that the reference Python does not know yet
 * (`pythonUnassigned`, category Cn there) but Node does: Node's Unicode (17.0 in Node 20.20) is
 * newer than CPython 3.11's 14.0, so `repr()` escapes them there and keeps them here. Code points
 * unassigned in Node too are left alone, so only that documented difference is forgiven.
 */
export function escapeNewlyAssigned(text: string, pythonUnassigned: readonly number[]): string {
  let adjusted = text;
  for (const codePoint of new Set(pythonUnassigned)) {
    const char = String.fromCodePoint(codePoint);
    if (/\p{Cn}/u.test(char)) continue;
    const escaped =
      codePoint <= 0xffff
        ? `\\u${codePoint.toString(16).padStart(4, "0")}`
        : `\\U${codePoint.toString(16).padStart(8, "0")}`;
    adjusted = adjusted.replaceAll(char, escaped);
  }
  return adjusted;
}

/** Sends `requests` to Python in one run and returns its answers in the same order. */
export function runPython(requests: readonly PyRequest[]): PyResult[] {
  const run = spawnSync(PYTHON, ["-c", SCRIPT], {
    input: JSON.stringify(requests),
    encoding: "utf8",
    maxBuffer: 512 * 1024 * 1024,
  });
  if (run.error)
    throw new Error(`${PYTHON} could not be run (${run.error.message}); ${SETUP_HINT}`);
  if (run.status === 3) throw new Error(`${run.stderr.trim()} in ${PYTHON}; ${SETUP_HINT}`);
  if (run.status !== 0) throw new Error(`${PYTHON} failed (exit ${run.status}): ${run.stderr}`);
  const answers = JSON.parse(run.stdout) as PyResult[];
  if (answers.length !== requests.length) {
    throw new Error(`${PYTHON} answered ${answers.length} of ${requests.length} requests`);
  }
  return answers;
}

/**
 * Collects requests while a test file is defined, runs Python once (call {@link run} in
 * `beforeAll`), then hands out the answers.
 */
export class PythonBatch {
  private readonly requests: PyRequest[] = [];
  private answers: PyResult[] | undefined;

  /** Queues a request; the returned number fetches its answer after {@link run}. */
  add(request: PyRequest): number {
    if (this.answers) throw new Error("PythonBatch: add() after run()");
    return this.requests.push(request) - 1;
  }

  /** How many requests are queued. */
  get size(): number {
    return this.requests.length;
  }

  /** Runs Python once for everything queued. */
  run(): void {
    this.answers = runPython(this.requests);
  }

  /** Python's answer to request `ref`. */
  result(ref: number): PyResult {
    const answer = this.answers?.[ref];
    if (!answer) throw new Error(`PythonBatch: no answer for request ${ref}; did run() fail?`);
    return answer;
  }

  /** Python's value for request `ref`; throws with Python's exception when it raised. */
  value<T = unknown>(ref: number): T {
    const answer = this.result(ref);
    if (!answer.ok) throw new Error(`Python raised ${answer.type}: ${answer.message}`);
    return answer.value as T;
  }
}
