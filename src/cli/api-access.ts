// Who may use the API and how it is reached: bearer tokens from a file, TLS from PEM files, and
// the kubeconfig meshplane writes for its users. Anonymous access is the local-development
// default and is only allowed on loopback addresses. Tokens need TLS: kubectl (client-go) never
// sends a bearer token to an http:// server, so a token-protected plain-HTTP API would answer
// every kubectl command through the written kubeconfig with 401 and nothing would say why.
import { isIP } from "node:net";
import { readFileSync } from "node:fs";

export interface ApiAccessOptions {
  readonly address: { readonly host: string; readonly port: number };
  readonly tokenFile: string | undefined;
  readonly tlsCert: string | undefined;
  readonly tlsKey: string | undefined;
}

export interface ApiAccess {
  readonly tokens: ReadonlySet<string> | undefined;
  readonly tls: { readonly cert: Buffer; readonly key: Buffer } | undefined;
}

export function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || (isIP(host) === 4 && host.startsWith("127."));
}

/** A combination of API flags meshplane refuses to start with; the message says what to change. */
export class ApiAccessError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ApiAccessError";
  }
}

export function loadApiAccess(options: ApiAccessOptions): ApiAccess {
  if ((options.tlsCert === undefined) !== (options.tlsKey === undefined)) {
    throw new ApiAccessError("--api-tls-cert and --api-tls-key go together: give both files or neither");
  }
  if (options.tokenFile !== undefined && options.tlsCert === undefined) {
    throw new ApiAccessError(
      "--api-token-file needs --api-tls-cert and --api-tls-key: kubectl does not send bearer tokens " +
        "over plain HTTP, so every kubectl command through the kubeconfig meshplane writes would get " +
        "401 Unauthorized. Serve the API over HTTPS with a certificate for its address (e.g. " +
        "`openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 365 " +
        "-subj /CN=meshplane -addext subjectAltName=IP:127.0.0.1 -keyout key.pem -out cert.pem`), " +
        "or drop --api-token-file to serve anonymously on a loopback address",
    );
  }
  if (options.tokenFile === undefined && !isLoopback(options.address.host)) {
    throw new ApiAccessError(
      `--api-address ${options.address.host} is reachable from other machines: set --api-token-file ` +
        "with --api-tls-cert/--api-tls-key, or bind the API to 127.0.0.1",
    );
  }
  const tokens =
    options.tokenFile === undefined ? undefined : readTokens(options.tokenFile, "--api-token-file");
  const tls =
    options.tlsCert === undefined || options.tlsKey === undefined
      ? undefined
      : { cert: readPem(options.tlsCert, "--api-tls-cert"), key: readPem(options.tlsKey, "--api-tls-key") };
  return { tokens, tls };
}

/** One token per line; blank lines and `#` comments are ignored. `flag` names the file in errors. */
export function readTokens(file: string, flag: string): Set<string> {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    throw new ApiAccessError(`${flag} ${file}: ${(error as Error).message}`);
  }
  const tokens = new Set(
    text
      .split("\n")
      .map((line) => line.trim())
      .filter((line) => line && !line.startsWith("#")),
  );
  if (tokens.size === 0) {
    throw new ApiAccessError(`${flag} ${file}: no tokens in the file (one per line)`);
  }
  return tokens;
}

function readPem(file: string, flag: string): Buffer {
  try {
    return readFileSync(file);
  } catch (error) {
    throw new ApiAccessError(`${flag} ${file}: ${(error as Error).message}`);
  }
}
