// The cases of github.com/distribution/reference's own tests (reference_test.go, normalize_test.go,
// regexp_test.go), restated as what the normalising parse the docker CLI uses
// (ParseNormalizedNamed) gives for each: the same valid/invalid verdicts, with the registry, path,
// tag and digest each valid input normalises to.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { InvalidArgumentError } from "../../src/errors.js";
import {
  checkImageId,
  checkRepositoryName,
  checkTag,
  type ImageReference,
  parseImageReference,
  parseReference,
} from "../../src/reference/image-reference.js";
import { HOSTILE_IMAGE_IDS } from "../support/hostile-ids.js";

const F64 = "f".repeat(64);
const SHA = `sha256:${F64}`;
const BE17 = "sha256:be178c0543eb17f5f3043021c9e5fcf30285e557a4fc309cce97ff9ca6182912";
const DBCC = "sha256:dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9c";
const ID = "1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a";

type Row = [input: string, registry: string, path: string, tag?: string, digest?: string];

/** Valid references: [input, registry, path, tag, digest]. */
const VALID: Row[] = [
  // A name with no "/" is an official Docker Hub image, whatever dots or digits it has; a ":"
  // after it is always the tag, never a port.
  ["test_com", "docker.io", "library/test_com"],
  ["test.com:tag", "docker.io", "library/test.com", "tag"],
  ["test.com:5000", "docker.io", "library/test.com", "5000"],
  ["foo_bar.com:8080", "docker.io", "library/foo_bar.com", "8080"],
  ["192.168.1.1", "docker.io", "library/192.168.1.1"],
  ["192.168.1.1:tag", "docker.io", "library/192.168.1.1", "tag"],
  ["192.168.1.1:5000", "docker.io", "library/192.168.1.1", "5000"],
  ["192.168.0.1:80", "docker.io", "library/192.168.0.1", "80"],
  ["lowercase:Uppercase", "docker.io", "library/lowercase", "Uppercase"],
  [`localhost@${BE17}`, "docker.io", "library/localhost", undefined, BE17],
  [`localhost:8080@${BE17}`, "docker.io", "library/localhost", "8080", BE17],
  [
    "thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev",
    "docker.io",
    "library/thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev",
  ],
  // 63 hex digits, or fewer, are a name; only exactly 64 is an image ID.
  [ID.slice(0, 63), "docker.io", `library/${ID.slice(0, 63)}`],
  ["dbcc1", "docker.io", "library/dbcc1"],
  // A first component with "." or ":", "localhost", or upper case is the registry.
  ["test.com/repo:tag", "test.com", "repo", "tag"],
  ["test:5000/repo", "test:5000", "repo"],
  ["test:5000/repo:tag", "test:5000", "repo", "tag"],
  [`test:5000/repo@${SHA}`, "test:5000", "repo", undefined, SHA],
  [`test:5000/repo:tag@${SHA}`, "test:5000", "repo", "tag", SHA],
  ["test.com:8080/foo", "test.com:8080", "foo"],
  ["test-com:8080/foo", "test-com:8080", "foo"],
  ["xn--n3h.com:18080/foo", "xn--n3h.com:18080", "foo"],
  ["sub-dom1.foo.com/bar/baz/quux", "sub-dom1.foo.com", "bar/baz/quux"],
  [
    "sub-dom1.foo.com/bar/baz/quux:some-long-tag",
    "sub-dom1.foo.com",
    "bar/baz/quux",
    "some-long-tag",
  ],
  [
    "b.gcr.io/test.example.com/my-app:test.example.com",
    "b.gcr.io",
    "test.example.com/my-app",
    "test.example.com",
  ],
  ["xn--n3h.com/myimage:xn--n3h.com", "xn--n3h.com", "myimage", "xn--n3h.com"],
  [`xn--7o8h.com/myimage:xn--7o8h.com@${SHA}`, "xn--7o8h.com", "myimage", "xn--7o8h.com", SHA],
  ["example.com/xn--7o8h.com/myimage", "example.com", "xn--7o8h.com/myimage"],
  [
    "example.com/some_separator__underscore/myimage",
    "example.com",
    "some_separator__underscore/myimage",
  ],
  [
    "registry.io/foo/project--id.module--name.ver---sion--name",
    "registry.io",
    "foo/project--id.module--name.ver---sion--name",
  ],
  ["192.168.1.1/repo", "192.168.1.1", "repo"],
  ["192.168.1.1:5000/repo", "192.168.1.1:5000", "repo"],
  ["192.168.1.1:5000/repo:5050", "192.168.1.1:5000", "repo", "5050"],
  ["192.168.0.1:8/debian", "192.168.0.1:8", "debian"],
  ["192.168.0.2:25000/debian", "192.168.0.2:25000", "debian"],
  ["192.168.1.1:75050/x", "192.168.1.1:75050", "x"],
  ["127.0.0.1:5000/docker/docker", "127.0.0.1:5000", "docker/docker"],
  ["127.0.0.1:5000/library/debian", "127.0.0.1:5000", "library/debian"],
  ["127.0.0.1:5000/debian", "127.0.0.1:5000", "debian"],
  ["localhost:8080/bar", "localhost:8080", "bar"],
  ["localhost/library/debian", "localhost", "library/debian"],
  ["localhost/debian", "localhost", "debian"],
  [`localhost:8080/name@${BE17}`, "localhost:8080", "name", undefined, BE17],
  ["LOCALDOMAIN/library/debian", "LOCALDOMAIN", "library/debian"],
  ["LOCALDOMAIN/debian", "LOCALDOMAIN", "debian"],
  ["Docker/docker", "Docker", "docker"],
  ["DOCKER/docker", "DOCKER", "docker"],
  ["Uppercase/lowercase:tag", "Uppercase", "lowercase", "tag"],
  ["Asdf.com/foo/bar", "Asdf.com", "foo/bar"],
  ["ab.c-om/x", "ab.c-om", "x"],
  ["0101.com/x", "0101.com", "x"],
  ["001a.com/x", "001a.com", "x"],
  ["b.gbc.io:443/x", "b.gbc.io:443", "x"],
  ["example.com:8000/named", "example.com:8000", "named"],
  ["example.com:8000/named:tagged", "example.com:8000", "named", "tagged"],
  [
    "other.com/named@sha256:1234567890098765432112345667890098765432112345667890098765432112",
    "other.com",
    "named",
    undefined,
    "sha256:1234567890098765432112345667890098765432112345667890098765432112",
  ],
  [`registry.com:8080/myapp@${BE17}`, "registry.com:8080", "myapp", undefined, BE17],
  [`registry.com:8080/myapp:tag2@${BE17}`, "registry.com:8080", "myapp", "tag2", BE17],
  // IPv6 registries in brackets, with or without a port (no zones, no embedded IPv4).
  ["[2001:db8::1]/repo", "[2001:db8::1]", "repo"],
  ["[2001:db8:1:2:3:4:5:6]/repo:tag", "[2001:db8:1:2:3:4:5:6]", "repo", "tag"],
  ["[2001:db8::1]:5000/repo", "[2001:db8::1]:5000", "repo"],
  ["[2001:db8::1]:5000/repo:tag", "[2001:db8::1]:5000", "repo", "tag"],
  [`[2001:db8::1]:5000/repo@${SHA}`, "[2001:db8::1]:5000", "repo", undefined, SHA],
  [`[2001:db8::1]:5000/repo:tag@${SHA}`, "[2001:db8::1]:5000", "repo", "tag", SHA],
  ["[2001:db8::]:5000/repo", "[2001:db8::]:5000", "repo"],
  ["[::1]:5000/repo", "[::1]:5000", "repo"],
  ["[fc00::1]:5000/docker", "[fc00::1]:5000", "docker"],
  ["[fc00::1]:5000/docker/docker", "[fc00::1]:5000", "docker/docker"],
  ["[fc00:1:2:3:4:5:6:7]:5000/library/debian", "[fc00:1:2:3:4:5:6:7]:5000", "library/debian"],
  ["[fd00:1:2::3]:75050/x", "[fd00:1:2::3]:75050", "x"],
  // The grammar takes any hex and colons in brackets; checking the address is left to the network.
  ["[fd00123123123]:75050/x", "[fd00123123123]:75050", "x"],
  // Any other first component is a Docker Hub namespace.
  ["foo/foo_bar.com:8080", "docker.io", "foo/foo_bar.com", "8080"],
  ["test_com/foo", "docker.io", "test_com/foo"],
  ["docker/migrator", "docker.io", "docker/migrator"],
  ["docker/docker", "docker.io", "docker/docker"],
  ["library/debian", "docker.io", "library/debian"],
  ["debian", "docker.io", "library/debian"],
  ["docker-rules/docker", "docker.io", "docker-rules/docker"],
  ["docker---rules/docker", "docker.io", "docker---rules/docker"],
  ["doc/docker", "docker.io", "doc/docker"],
  ["d/docker", "docker.io", "d/docker"],
  ["jess/t", "docker.io", "jess/t"],
  ["dock__er/docker", "docker.io", "dock__er/docker"],
  ["do__cker/docker", "docker.io", "do__cker/docker"],
  ["aa-a/a", "docker.io", "aa-a/a"],
  ["a/a/a/a", "docker.io", "a/a/a/a"],
  [
    "aa/aa/aa/aa/aa/aa/aa/aa/aa/bb/bb/bb/bb/bb/bb",
    "docker.io",
    "aa/aa/aa/aa/aa/aa/aa/aa/aa/bb/bb/bb/bb/bb/bb",
  ],
  // Docker Hub under its own names; official images get "library/".
  ["docker.io/docker/docker", "docker.io", "docker/docker"],
  ["docker.io/library/debian", "docker.io", "library/debian"],
  ["docker.io/debian", "docker.io", "library/debian"],
  ["docker.io/library/foo/bar", "docker.io", "library/foo/bar"],
  ["index.docker.io/docker/docker", "docker.io", "docker/docker"],
  ["index.docker.io/library/debian", "docker.io", "library/debian"],
  ["index.docker.io/debian", "docker.io", "library/debian"],
  // With a registry in front, 64 hex digits are a name again.
  [`docker.io/${ID}`, "docker.io", `library/${ID}`],
  // Both a tag and a digest are kept.
  [
    `busybox:latest@sha256:86e0e091d0da6bde2456dbb48306f3956bbeb2eae1b5b9a43045843f69fe4aaa`,
    "docker.io",
    "library/busybox",
    "latest",
    "sha256:86e0e091d0da6bde2456dbb48306f3956bbeb2eae1b5b9a43045843f69fe4aaa",
  ],
  [`redis@${DBCC}`, "docker.io", "library/redis", undefined, DBCC],
  [`dmcgowan/myapp@${DBCC}`, "docker.io", "dmcgowan/myapp", undefined, DBCC],
  ["gcr.io/library/busybox", "gcr.io", "library/busybox"],
  // sha512 is one of the OCI image specification's algorithms (distribution's own test rejects it
  // only because its test binary does not link sha512).
  [
    `validname@sha512:${"f".repeat(128)}`,
    "docker.io",
    "library/validname",
    undefined,
    `sha512:${"f".repeat(128)}`,
  ],
  // Length limits: 255 characters of path, 128 of tag; the registry does not count.
  [`example.com/${"a".repeat(255)}:tag`, "example.com", "a".repeat(255), "tag"],
  [
    `${"a/".repeat(127)}a:tag-puts-this-over-max`,
    "docker.io",
    `${"a/".repeat(127)}a`,
    "tag-puts-this-over-max",
  ],
  [`x:${"t".repeat(128)}`, "docker.io", "library/x", "t".repeat(128)],
];

describe("parseImageReference on the distribution tables", () => {
  it.each(VALID)("parses %j", (input, registry, path, tag, digest) => {
    const parsed = parseImageReference(input);
    expect(parsed).toEqual({
      registry,
      path,
      tag,
      digest,
      familiarName: parsed.familiarName,
      normalizedName: `${registry}/${path}`,
    });
    expect(Object.keys(parsed).sort()).toEqual(
      ["digest", "familiarName", "normalizedName", "path", "registry", "tag"].sort(),
    );
  });

  it("gives the examples of the issue exactly", () => {
    expect(parseImageReference("ubuntu")).toStrictEqual({
      registry: "docker.io",
      path: "library/ubuntu",
      tag: undefined,
      digest: undefined,
      familiarName: "ubuntu",
      normalizedName: "docker.io/library/ubuntu",
    });
    expect(parseImageReference("localhost:5000/foo/bar:v1")).toStrictEqual({
      registry: "localhost:5000",
      path: "foo/bar",
      tag: "v1",
      digest: undefined,
      familiarName: "localhost:5000/foo/bar",
      normalizedName: "localhost:5000/foo/bar",
    });
  });

  // normalize_test.go's repository-info table: every spelling of a name gives the same familiar
  // and full names. [spellings, familiar, normalized, registry, path]
  it.each<[string[], string, string, string, string]>([
    [["localhost/fooo"], "localhost/fooo", "localhost/fooo", "localhost", "fooo"],
    [["localhost/fooo/bar"], "localhost/fooo/bar", "localhost/fooo/bar", "localhost", "fooo/bar"],
    [["LOCALDOMAIN/fooo"], "LOCALDOMAIN/fooo", "LOCALDOMAIN/fooo", "LOCALDOMAIN", "fooo"],
    [
      ["LOCALDOMAIN/fooo/bar"],
      "LOCALDOMAIN/fooo/bar",
      "LOCALDOMAIN/fooo/bar",
      "LOCALDOMAIN",
      "fooo/bar",
    ],
    [
      ["fooo/bar", "docker.io/fooo/bar", "index.docker.io/fooo/bar"],
      "fooo/bar",
      "docker.io/fooo/bar",
      "docker.io",
      "fooo/bar",
    ],
    [
      ["ubuntu", "docker.io/library/ubuntu", "library/ubuntu"],
      "ubuntu",
      "docker.io/library/ubuntu",
      "docker.io",
      "library/ubuntu",
    ],
    [
      ["nonlibrary/ubuntu", "docker.io/nonlibrary/ubuntu"],
      "nonlibrary/ubuntu",
      "docker.io/nonlibrary/ubuntu",
      "docker.io",
      "nonlibrary/ubuntu",
    ],
    [
      ["other/library", "docker.io/other/library"],
      "other/library",
      "docker.io/other/library",
      "docker.io",
      "other/library",
    ],
    [
      ["127.0.0.1:8000/private/moonbase"],
      "127.0.0.1:8000/private/moonbase",
      "127.0.0.1:8000/private/moonbase",
      "127.0.0.1:8000",
      "private/moonbase",
    ],
    [
      ["127.0.0.1:8000/privatebase"],
      "127.0.0.1:8000/privatebase",
      "127.0.0.1:8000/privatebase",
      "127.0.0.1:8000",
      "privatebase",
    ],
    [
      ["example.com/private/moonbase"],
      "example.com/private/moonbase",
      "example.com/private/moonbase",
      "example.com",
      "private/moonbase",
    ],
    [
      ["example.com/privatebase"],
      "example.com/privatebase",
      "example.com/privatebase",
      "example.com",
      "privatebase",
    ],
    [
      ["example.com:8000/private/moonbase"],
      "example.com:8000/private/moonbase",
      "example.com:8000/private/moonbase",
      "example.com:8000",
      "private/moonbase",
    ],
    [
      ["example.com:8000/privatebasee"],
      "example.com:8000/privatebasee",
      "example.com:8000/privatebasee",
      "example.com:8000",
      "privatebasee",
    ],
    [
      [
        "ubuntu-12.04-base",
        "docker.io/library/ubuntu-12.04-base",
        "index.docker.io/library/ubuntu-12.04-base",
      ],
      "ubuntu-12.04-base",
      "docker.io/library/ubuntu-12.04-base",
      "docker.io",
      "library/ubuntu-12.04-base",
    ],
    [
      ["foo", "docker.io/library/foo", "docker.io/foo"],
      "foo",
      "docker.io/library/foo",
      "docker.io",
      "library/foo",
    ],
    [
      ["library/foo/bar", "docker.io/library/foo/bar"],
      "library/foo/bar",
      "docker.io/library/foo/bar",
      "docker.io",
      "library/foo/bar",
    ],
    [
      ["store/foo/bar", "docker.io/store/foo/bar"],
      "store/foo/bar",
      "docker.io/store/foo/bar",
      "docker.io",
      "store/foo/bar",
    ],
    [["Foo/bar"], "Foo/bar", "Foo/bar", "Foo", "bar"],
    [["FOO/bar"], "FOO/bar", "FOO/bar", "FOO", "bar"],
  ])("reads %j as the familiar name %j", (spellings, familiar, normalized, registry, path) => {
    for (const spelling of spellings) {
      expect(parseImageReference(spelling)).toEqual({
        registry,
        path,
        tag: undefined,
        digest: undefined,
        familiarName: familiar,
        normalizedName: normalized,
      });
    }
  });
});

/** Invalid references, with a pattern the message must match: it names the offending part. */
const INVALID: [input: string, problem: RegExp][] = [
  ["", /required .*at least one component/],
  [":justtag", /repository name is empty/],
  [`@${SHA}`, /repository name is empty/],
  [ID, /image ID \(64 hex digits\)/],
  ["repo@sha256:ffffffffffffffffffffffffffffffffff", /sha256 digest has exactly 64/],
  [`validname@invaliddigest:${F64}`, /digest algorithm of "invaliddigest:f+" is not supported/],
  [`repo@sha256:${"F".repeat(64)}`, /exactly 64 lower-case hex digits/],
  ["registry.com:8080/myapp@sha256:badbadbadbad", /the digest "sha256:badbadbadbad" is not valid/],
  ["registry.com:8080/myapp@bad", /the digest "bad" is not valid/],
  ["registry.com:8080/myapp@2bad", /the digest "2bad" is not valid/],
  ["repo@", /the digest "" is not valid/],
  ["Uppercase:tag", /repository name "Uppercase" must be lower-case/],
  [
    "test:5000/Uppercase/lowercase:tag",
    /repository name "Uppercase\/lowercase" must be lower-case/,
  ],
  ["docker/Docker", /"docker\/Docker" must be lower-case/],
  ["docker.io/docker/Docker", /must be lower-case/],
  ["Foo/FarB", /"FarB" must be lower-case/],
  ["UPPER", /"UPPER" must be lower-case/],
  [`domain/${"a".repeat(256)}:tag`, /too long: 263 characters, at most 255/],
  [`${"a".repeat(250)}/bbbbbb`, /too long/],
  [`${"a/".repeat(128)}a`, /too long: 257/],
  [`${"a".repeat(248)}`, /too long: 256/],
  [
    "this_is_not_a_valid_namespace_because_its_lenth_is_greater_than_255_this_is_not_a_valid_namespace_because_its_lenth_is_greater_than_255_this_is_not_a_valid_namespace_because_its_lenth_is_greater_than_255_this_is_not_a_valid_namespace_because_its_lenth_is_greater_than_255/docker",
    /too long/,
  ],
  ["aa/asdf$$^/aa", /path component "asdf\$\$\^"/],
  ["a^a", /path component "a\^a"/],
  ["asdf$$^/aa", /path component "asdf\$\$\^"/],
  ["-docker", /path component "-docker"/],
  ["-docker/docker", /path component "-docker"/],
  ["docker-/docker", /path component "docker-"/],
  ["-docker-/docker", /path component "-docker-"/],
  ["____/____", /path component "____"/],
  ["_docker/_docker", /path component "_docker"/],
  ["docker_/docker_", /path component "docker_"/],
  ["_foo/bar", /path component "_foo"/],
  ["foo/bar-", /path component "bar-"/],
  ["foo/-bar", /path component "-bar"/],
  ["a-/a/a/a", /path component "a-"/],
  ["foo.com/a-/a/a", /path component "a-"/],
  ["dock_.er/docker", /registry "dock_.er"/],
  ["dock-.er/docker", /registry "dock-.er"/],
  ["example.com/__underscore/myimage", /path component "__underscore"/],
  ["example.com/..dots/myimage", /path component "..dots"/],
  ["example.com/.dots/myimage", /path component ".dots"/],
  ["example.com/nodouble..dots/myimage", /path component "nodouble..dots"/],
  ["app:tag:more", /path component "app:tag"/],
  ["docker///docker", /empty path component/],
  ["docker.io/docker///docker", /empty path component/],
  ["a//a/a", /empty path component/],
  ["a/a/a/a/", /empty path component/],
  ["docker/", /empty path component/],
  ["foo.com/", /empty path component/],
  ["/foo", /empty path component/],
  ["registry.com:8080/myapp:invalid~tag", /the tag "invalid~tag" is not valid/],
  ["app:", /the tag "" is not valid/],
  ["app:-x", /the tag "-x" is not valid/],
  ["app:.x", /the tag ".x" is not valid/],
  [`x:${"t".repeat(129)}`, /the tag "t+"\.\.\. \(129 characters\) is not valid: a tag is 1 to 128/],
  ["https://github.com/docker/docker", /registry "https:" is not a valid host/],
  ["-docker.io/docker/docker", /registry "-docker.io"/],
  ["dock..er/docker", /registry "dock..er"/],
  ["do..cker/docker", /registry "do..cker"/],
  ["docker./docker", /registry "docker."/],
  [".docker/docker", /registry ".docker"/],
  ["do__cker:8080/docker", /registry "do__cker:8080"/],
  ["bad_hostname.com:8080/myapp:tag", /registry "bad_hostname.com:8080"/],
  ["foo_bar.com:8080/app", /registry "foo_bar.com:8080"/],
  ["foo.com:http/bar", /registry "foo.com:http"/],
  [`localhost:http/name@${BE17}`, /registry "localhost:http"/],
  ["test.com:http/x", /registry "test.com:http"/],
  ["-ab.com/x", /registry "-ab.com"/],
  ["ab-.com/x", /registry "ab-.com"/],
  ["ab.-com/x", /registry "ab.-com"/],
  ["ab.com-/x", /registry "ab.com-"/],
  ["fc00::1:5000/debian", /registry "fc00::1:5000"/],
  ["fd00:1:2::3:75050/x", /registry "fd00:1:2::3:75050"/],
  ["[fd00:1:2::3]75050/x", /registry "\[fd00:1:2::3\]75050"/],
  ["[fd00:1:2::3]::75050/x", /registry "\[fd00:1:2::3\]::75050"/],
  ["[fe80::1%eth0]:5000/repo", /registry "\[fe80::1%eth0\]:5000"/],
  ["[fe80::1%@invalidzone]:5000/repo", /not a valid image reference/],
  ["[2001:db8:3:4::192.0.2.33]:5000/debian", /registry "\[2001:db8:3:4::192.0.2.33\]:5000"/],
  ["[2001:db8::1]", /not a valid image reference/],
  ["[2001:db8::1]:5000", /not a valid image reference/],
  ["[2001:db8::1]:tag", /not a valid image reference/],
  ["[fc00::1]", /not a valid image reference/],
  ["[fc00::1]:5000", /not a valid image reference/],
  // distribution/reference reads "foo_bar.com/app" as a path on no registry at all (an empty
  // domain), which no client can pull; it is refused here instead.
  ["foo_bar.com/app", /registry "foo_bar.com"/],
];

describe("parseImageReference refusals", () => {
  it.each(INVALID)("refuses %j, naming the problem", (input, problem) => {
    let caught: unknown;
    try {
      parseImageReference(input);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(InvalidArgumentError);
    expect((caught as InvalidArgumentError).code).toBe("ERR_DOCKER_INVALID_ARGUMENT");
    expect((caught as Error).message).toMatch(problem);
  });

  it.each([undefined, null, 42, {}, ["ubuntu"]])("refuses %j, which is not a string", (value) => {
    expect(() => parseImageReference(value as unknown as string)).toThrow(
      /must be a string such as "ghcr.io\/team\/app:1"/,
    );
  });

  it("shows a huge reference cut short in its message", () => {
    const huge = `${"a".repeat(100_000)}/B`;
    expect(() => parseImageReference(huge)).toThrow(/\.\.\. \(100002 characters\)/);
    try {
      parseImageReference(huge);
    } catch (error) {
      expect((error as Error).message.length).toBeLessThan(1_000);
    }
  });
});

describe("parseImageReference on hostile input", () => {
  // Shapes that make backtracking regular expressions retry: long separator runs, long dotted or
  // hyphenated hosts, colons where a port or tag may start, digests that almost fit. Each is a
  // megabyte and fails at its very end; a linear scan answers at once, a polynomial one would not
  // finish within the test's timeout.
  const n = 250_000;
  it.each([
    ["separator runs", `${"a-".repeat(n)}!`],
    ["dotted host", `${"a.".repeat(n)}a:/x`],
    ["hyphenated host", `${"a".repeat(n)}-${"-".repeat(n)}/x`],
    ["underscores", `${"a__".repeat(n)}_`],
    ["path components", `${"a/".repeat(n)}!`],
    ["colons", `${"a:".repeat(n)}/x`],
    ["ipv6 brackets", `[${":".repeat(4 * n)}/x`],
    ["digest algorithm", `a@${"a.".repeat(n)}:${"0".repeat(64)}`],
    ["digest hex", `a@sha256:${"0".repeat(4 * n)}!`],
    ["at signs", `${"a@".repeat(n)}`],
  ])(
    "refuses a megabyte of %s in linear time",
    (_shape, input) => {
      expect(input.length).toBeGreaterThanOrEqual(500_000);
      expect(() => parseImageReference(input)).toThrow(InvalidArgumentError);
    },
    5_000,
  );
});

// ---- round trips -------------------------------------------------------------------------------

const alnum = fc.stringMatching(/^[a-z0-9]{1,6}$/);
const separator = fc.oneof(
  fc.constantFrom(".", "_", "__"),
  fc.integer({ min: 1, max: 3 }).map((k) => "-".repeat(k)),
);
const pathComponent = fc
  .tuple(alnum, fc.array(fc.tuple(separator, alnum), { maxLength: 3 }))
  .map(([head, tail]) => head + tail.map(([sep, part]) => sep + part).join(""));
const path = fc
  .array(pathComponent, { minLength: 1, maxLength: 4 })
  .map((parts) => parts.join("/"));
const label = fc.stringMatching(/^[A-Za-z0-9](?:[A-Za-z0-9-]{0,6}[A-Za-z0-9])?$/);
const port = fc.integer({ min: 0, max: 99999 }).map((p) => `:${p}`);
const host = fc.oneof(
  fc
    .tuple(label, fc.array(label, { minLength: 1, maxLength: 3 }))
    .map(([a, rest]) => [a, ...rest].join(".")),
  fc.constant("localhost"),
  label.filter((l) => l.toLowerCase() !== l),
  // Only a first component with ":" (or ".") is taken for a registry, also in brackets.
  fc
    .tuple(fc.stringMatching(/^[0-9a-f:]{0,6}$/), fc.stringMatching(/^[0-9a-f:]{0,6}$/))
    .map(([a, b]) => `[${a}:${b}]`),
);
const registry = fc.oneof(
  fc.tuple(host, fc.option(port, { nil: "" })).map(([h, p]) => h + p),
  label.chain((l) => port.map((p) => l + p)),
);
const tag = fc.stringMatching(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}$/);
const digest = fc.oneof(
  fc.stringMatching(/^[0-9a-f]{64}$/).map((hex) => `sha256:${hex}`),
  fc.stringMatching(/^[0-9a-f]{128}$/).map((hex) => `sha512:${hex}`),
);
// Without a registry, a first component with "." would be read as one: keep those apart.
const hubPath = path.filter((p) => !(p.split("/")[0] ?? "").includes("."));
const reference = fc
  .tuple(
    fc.option(registry, { nil: undefined }),
    hubPath,
    fc.option(tag, { nil: undefined }),
    fc.option(digest, { nil: undefined }),
  )
  .map(([r, p, t, d]) => `${r ? `${r}/` : ""}${p}${t ? `:${t}` : ""}${d ? `@${d}` : ""}`)
  .filter((text) => !/^[a-f0-9]{64}$/.test(text));

function format(ref: ImageReference, name: string): string {
  return `${name}${ref.tag === undefined ? "" : `:${ref.tag}`}${ref.digest === undefined ? "" : `@${ref.digest}`}`;
}

describe("parseImageReference round trips", () => {
  it("parses what the grammar generates, and formatting its normalized name parses back the same", () => {
    fc.assert(
      fc.property(reference, (text) => {
        const parsed = parseImageReference(text);
        expect(parseImageReference(format(parsed, parsed.normalizedName))).toEqual(parsed);
        expect(parseImageReference(format(parsed, parsed.familiarName))).toEqual(parsed);
      }),
      { numRuns: 2_000 },
    );
  });

  it("keeps the tag and digest exactly as written", () => {
    fc.assert(
      fc.property(
        path,
        fc.option(tag, { nil: undefined }),
        fc.option(digest, { nil: undefined }),
        (p, t, d) => {
          const parsed = parseImageReference(
            `example.com/${p}${t ? `:${t}` : ""}${d ? `@${d}` : ""}`,
          );
          expect(parsed).toMatchObject({ registry: "example.com", path: p, tag: t, digest: d });
        },
      ),
    );
  });

  it("either parses or throws InvalidArgumentError on any string of reference characters, and what parses round-trips", () => {
    const text = fc
      .array(
        fc.constantFrom(
          "a",
          "B",
          "0",
          ".",
          "_",
          "-",
          ":",
          "/",
          "@",
          "[",
          "]",
          "f",
          "sha256:",
          "localhost",
          "docker.io",
        ),
        {
          maxLength: 16,
        },
      )
      .map((parts) => parts.join(""));
    fc.assert(
      fc.property(text, (input) => {
        let parsed: ImageReference;
        try {
          parsed = parseImageReference(input);
        } catch (error) {
          expect(error).toBeInstanceOf(InvalidArgumentError);
          return;
        }
        expect(parseImageReference(format(parsed, parsed.normalizedName))).toEqual(parsed);
      }),
      { numRuns: 5_000 },
    );
  });
});

// reference_test.go's TestReferenceParse, on the grammar alone (distribution's `Parse`): names as
// written, no Docker Hub, any well-formed digest algorithm.
describe("parseReference", () => {
  it.each<[string, string, string?, string?]>([
    ["test_com", "test_com"],
    ["test.com:tag", "test.com", "tag"],
    ["test.com:5000", "test.com", "5000"],
    ["test.com/repo:tag", "test.com/repo", "tag"],
    ["test:5000/repo", "test:5000/repo"],
    ["test:5000/repo:tag", "test:5000/repo", "tag"],
    [`test:5000/repo@${SHA}`, "test:5000/repo", undefined, SHA],
    [`test:5000/repo:tag@${SHA}`, "test:5000/repo", "tag", SHA],
    ["lowercase:Uppercase", "lowercase", "Uppercase"],
    [
      `${"a/".repeat(127)}a:tag-puts-this-over-max`,
      `${"a/".repeat(127)}a`,
      "tag-puts-this-over-max",
    ],
    [
      "sub-dom1.foo.com/bar/baz/quux:some-long-tag",
      "sub-dom1.foo.com/bar/baz/quux",
      "some-long-tag",
    ],
    [
      "b.gcr.io/test.example.com/my-app:test.example.com",
      "b.gcr.io/test.example.com/my-app",
      "test.example.com",
    ],
    [`xn--7o8h.com/myimage:xn--7o8h.com@${SHA}`, "xn--7o8h.com/myimage", "xn--7o8h.com", SHA],
    ["foo_bar.com:8080", "foo_bar.com", "8080"],
    ["foo/foo_bar.com:8080", "foo/foo_bar.com", "8080"],
    ["foo_bar.com/app", "foo_bar.com/app"],
    ["192.168.1.1:5000/repo:5050", "192.168.1.1:5000/repo", "5050"],
    [`[2001:db8::1]:5000/repo:tag@${SHA}`, "[2001:db8::1]:5000/repo", "tag", SHA],
    ["Uppercase/lowercase:tag", "Uppercase/lowercase", "tag"],
    [`example.com/${"a".repeat(255)}:tag`, `example.com/${"a".repeat(255)}`, "tag"],
    [`validname@invaliddigest:${F64}`, "validname", undefined, `invaliddigest:${F64}`],
    [`localhost:8080@${BE17}`, "localhost", "8080", BE17],
  ])("splits %j", (input, name, tag, digest) => {
    expect(parseReference(input)).toEqual({ name, tag, digest });
  });

  it.each([
    "",
    ":justtag",
    `@${SHA}`,
    // Fewer than 32 hex digits is no digest.
    "repo@sha256:fffffffffffffff",
    "Uppercase:tag",
    "test:5000/Uppercase/lowercase:tag",
    `domain/${"a".repeat(256)}:tag`,
    "aa/asdf$$^/aa",
    "[2001:db8::1]",
    "[2001:db8::1]:5000",
    "[fe80::1%eth0]:5000/repo",
    "registry.com:8080/myapp:invalid~tag",
    "bad_hostname.com:8080/myapp:tag",
    "registry.com:8080/myapp@2bad",
  ])("refuses %j", (input) => {
    expect(parseReference(input)).toBeUndefined();
  });

  it("agrees with parseImageReference on what is valid, apart from normalising", () => {
    fc.assert(
      fc.property(reference, (text) => {
        const parts = parseReference(text);
        const parsed = parseImageReference(text);
        expect(parts?.tag).toBe(parsed.tag);
        expect(parts?.digest).toBe(parsed.digest);
      }),
    );
  });
});

// The checks of caller strings that become Engine API path segments and query values.
const IMAGE = `sha256:${"a".repeat(64)}`;

describe("checkImageId", () => {
  it.each([
    IMAGE,
    "0123456789ab",
    "a".repeat(64),
    "busybox",
    "busybox:latest",
    "localhost:5000/team/app:1.0",
    `ghcr.io/team/app@sha256:${"b".repeat(64)}`,
    "Registry.Example.com:443/app",
  ])("accepts %j", (id) => {
    expect(checkImageId(id, "imageId")).toBe(id);
  });

  it.each(HOSTILE_IMAGE_IDS.map((id) => [id.length > 60 ? `${id.slice(0, 60)}...` : id, id]))(
    "refuses %j",
    (_shown, id) => {
      expect(() => checkImageId(id, "imageId")).toThrow(InvalidArgumentError);
    },
  );

  it("shows at most 100 characters of a long one", () => {
    expect(() => checkImageId("A".repeat(100_000), "imageId")).toThrow(/\(100000 characters\)$/);
  });

  it("accepts nothing that could leave its path segment", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 80 }), (id) => {
        let accepted = false;
        try {
          checkImageId(id, "imageId");
          accepted = true;
        } catch (error) {
          expect(error).toBeInstanceOf(InvalidArgumentError);
        }
        if (accepted) expect(id).toMatch(/^[a-zA-Z0-9][a-zA-Z0-9._:/@-]*$/);
        if (accepted) expect(id.split("/")).not.toContain("..");
      }),
    );
  });
});

describe("checkTag and checkRepositoryName", () => {
  it("keeps the tags and names the engine accepts", () => {
    expect(checkTag("2026-11-27t03-52-22-123456-00-00", "tag")).toBe(
      "2026-11-27t03-52-22-123456-00-00",
    );
    expect(checkRepositoryName("team/app-1.x__y", "127.0.0.1:5555")).toBe("team/app-1.x__y");
  });
});
