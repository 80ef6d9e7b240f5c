// A server bound to loopback without authentication trusts whoever can connect, and a web page can
// connect: the browser sends its requests there (cross-site) or, after DNS rebinding, sends them
// under the attacker's host name. Neither can fake the Host and Origin headers, so a loopback
// server answers only requests that name it by a loopback address and come from no other origin.
import { isIP } from "node:net";
import { excerpt } from "./excerpt.ts";

/** 127.0.0.0/8, ::1 and their IPv4-mapped form: addresses only this machine reaches. */
export function isLoopbackAddress(address: string): boolean {
  const v4 = address.startsWith("::ffff:") ? address.slice(7) : address;
  if (isIP(v4) === 4) return v4.startsWith("127.");
  return isIP(address) === 6 && /^(0{0,4}:){2,7}0{0,3}1$/.test(address);
}

export interface RequestOrigin {
  readonly host?: string | undefined;
  readonly origin?: string | undefined;
}

/** Why a request is refused, or undefined when it may be served. */
export type LoopbackGuard = (request: RequestOrigin) => string | undefined;

/**
 * The check for a server listening on `address:port` (a loopback address): Host must be
 * `127.0.0.1:PORT`, `localhost:PORT`, `[::1]:PORT` or the bound address with the port, and Origin,
 * when sent, one of those behind http:// or https://.
 */
export function loopbackGuard(address: string, port: number): LoopbackGuard {
  const bound = isIP(address) === 6 ? `[${address}]` : address;
  const names = [...new Set(["127.0.0.1", "localhost", "[::1]", bound])].map((name) => `${name}:${port}`);
  const hosts = new Set(names);
  const expected = `${names.slice(0, -1).join(", ")} or ${names.at(-1) ?? ""}`;
  return ({ host, origin }) => {
    if (host === undefined || !hosts.has(host.toLowerCase()))
      return (
        `Host ${JSON.stringify(excerpt(host ?? ""))} does not name this server (${expected}): ` +
        "a server on loopback without authentication answers only requests addressed to it, " +
        "so that a web page cannot reach it through DNS rebinding"
      );
    if (origin !== undefined && !isOwnOrigin(origin, hosts))
      return (
        `Origin ${JSON.stringify(excerpt(origin))} is not this server: ` +
        "cross-site requests from web pages are refused"
      );
    return undefined;
  };
}

function isOwnOrigin(origin: string, hosts: ReadonlySet<string>): boolean {
  const match = /^(https?):\/\/([^/]+)$/i.exec(origin);
  return match !== null && hosts.has((match[2] as string).toLowerCase());
}
