/**
 * Certificates for the TLS tests, made with openssl: a CA, a server certificate for 127.0.0.1 and
 * ::1, a client certificate (what DOCKER_CERT_PATH holds: ca.pem, cert.pem, key.pem), and an
 * unrelated CA to prove verification.
 */
import { execFile } from "node:child_process";
import { copyFile, mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

/** The files {@link makeCertificates} writes. */
export interface Certificates {
  /** The folder holding everything. */
  readonly dir: string;
  /** A DOCKER_CERT_PATH folder: ca.pem, cert.pem and key.pem of the client. */
  readonly clientDir: string;
  /** A DOCKER_CERT_PATH folder whose ca.pem is an unrelated CA (client cert and key are valid). */
  readonly wrongCaDir: string;
  readonly caCert: string;
  readonly serverCert: string;
  readonly serverKey: string;
}

async function openssl(args: string[], cwd: string): Promise<void> {
  try {
    await run("openssl", args, { cwd });
  } catch (error) {
    throw new Error(
      `openssl ${args[0]} failed (${(error as Error).message}); run \`bash scripts/test-services.sh\` to install openssl`,
    );
  }
}

async function makeCa(dir: string, name: string): Promise<void> {
  await openssl(
    ["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", `${name}-key.pem`],
    dir,
  );
  await openssl(
    [
      "req",
      "-x509",
      "-new",
      "-key",
      `${name}-key.pem`,
      "-out",
      `${name}.pem`,
      "-days",
      "2",
      "-subj",
      `/CN=pdu ${name}`,
    ],
    dir,
  );
}

async function makeSigned(dir: string, name: string, extensions: string): Promise<void> {
  await openssl(
    ["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", `${name}-key.pem`],
    dir,
  );
  await openssl(
    ["req", "-new", "-key", `${name}-key.pem`, "-out", `${name}.csr`, "-subj", `/CN=pdu ${name}`],
    dir,
  );
  await writeFile(path.join(dir, `${name}.ext`), extensions);
  await openssl(
    [
      "x509",
      "-req",
      "-in",
      `${name}.csr`,
      "-CA",
      "ca.pem",
      "-CAkey",
      "ca-key.pem",
      "-CAcreateserial",
      "-out",
      `${name}-cert.pem`,
      "-days",
      "2",
      "-extfile",
      `${name}.ext`,
    ],
    dir,
  );
}

/** Makes the certificates in `dir` (which must exist). */
export async function makeCertificates(dir: string): Promise<Certificates> {
  await makeCa(dir, "ca");
  await makeCa(dir, "other-ca");
  await makeSigned(
    dir,
    "server",
    "subjectAltName=IP:127.0.0.1,IP:::1\nextendedKeyUsage=serverAuth\n",
  );
  await makeSigned(dir, "client", "extendedKeyUsage=clientAuth\n");
  const clientDir = path.join(dir, "client");
  const wrongCaDir = path.join(dir, "wrong-ca");
  for (const [target, ca] of [
    [clientDir, "ca.pem"],
    [wrongCaDir, "other-ca.pem"],
  ] as const) {
    await mkdir(target);
    await copyFile(path.join(dir, ca), path.join(target, "ca.pem"));
    await copyFile(path.join(dir, "client-cert.pem"), path.join(target, "cert.pem"));
    await copyFile(path.join(dir, "client-key.pem"), path.join(target, "key.pem"));
  }
  return {
    dir,
    clientDir,
    wrongCaDir,
    caCert: path.join(dir, "ca.pem"),
    serverCert: path.join(dir, "server-cert.pem"),
    serverKey: path.join(dir, "server-key.pem"),
  };
}
