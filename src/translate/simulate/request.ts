// The request as each data plane sees it. A proxyless client matches headers against gRPC
// metadata only: no pseudo-headers, content-type is always application/grpc and binary (`-bin`)
// metadata never matches (grpc-js-xds matcher.ts). Envoy sees the HTTP/2 pseudo-headers too.
import type { ObservedRequest, SimulatedRequest, SimulationFlavour } from "./types.ts";

export function observeRequest(
  request: SimulatedRequest,
  flavour: SimulationFlavour,
): { observed: ObservedRequest; notes: string[] } {
  const notes: string[] = [];
  const at = request.path.indexOf("?");
  const path = at < 0 ? request.path : request.path.slice(0, at);
  const query = at < 0 ? undefined : request.path.slice(at + 1);
  const given = (request.headers ?? []).map(([name, value]) => [name.toLowerCase(), value] as const);
  if (flavour === "grpc") {
    if (request.method !== undefined && request.method.toUpperCase() !== "POST") {
      notes.push(`a gRPC call is always a POST; method ${request.method} does not apply`);
    }
    if (query !== undefined) notes.push("a gRPC call has no query string; the query is ignored");
    const pseudo = given.filter(([name]) => name.startsWith(":"));
    if (pseudo.length > 0) {
      notes.push(`pseudo-headers are not gRPC metadata: ${pseudo.map(([n]) => n).join(", ")} ignored`);
    }
    return {
      observed: {
        target: request.target,
        authority: request.target,
        method: "POST",
        path,
        query: undefined,
        headers: given.filter(([name]) => !name.startsWith(":")),
      },
      notes,
    };
  }
  const method = request.grpc ? "POST" : (request.method ?? "GET").toUpperCase();
  const headers: (readonly [string, string])[] = [
    [":authority", request.target],
    [":method", method],
    [":path", request.path],
    [":scheme", "http"],
    ...given.filter(([name]) => !name.startsWith(":")),
  ];
  if (request.grpc && !given.some(([name]) => name === "content-type")) {
    headers.push(["content-type", "application/grpc"], ["te", "trailers"]);
  }
  return {
    observed: { target: request.target, authority: request.target, method, path, query, headers },
    notes,
  };
}

export type HeaderLookup =
  { readonly present: true; readonly value: string } | { readonly present: false; readonly why: string };

/** The value a header matcher compares; repeated headers are joined with "," (Envoy and gRPC). */
export function headerValue(
  request: ObservedRequest,
  name: string,
  flavour: SimulationFlavour,
): HeaderLookup {
  const key = name.toLowerCase();
  if (flavour === "grpc") {
    if (key.endsWith("-bin")) return { present: false, why: "binary metadata never matches" };
    if (key === "content-type") return { present: true, value: "application/grpc" };
    if (key.startsWith(":")) return { present: false, why: "not gRPC metadata" };
  }
  const values = request.headers.filter(([n]) => n === key).map(([, value]) => value);
  return values.length === 0
    ? { present: false, why: "missing" }
    : { present: true, value: values.join(",") };
}

/** The first value of each query parameter (Envoy: "only the first value for each key"). */
export function queryParameter(request: ObservedRequest, name: string): string | undefined {
  for (const pair of (request.query ?? "").split("&")) {
    if (pair === "") continue;
    const at = pair.indexOf("=");
    const key = at < 0 ? pair : pair.slice(0, at);
    if (key === name) return at < 0 ? "" : pair.slice(at + 1);
  }
  return undefined;
}
