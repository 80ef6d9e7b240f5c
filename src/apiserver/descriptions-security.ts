// `kubectl explain` text for the security kinds (src/api/security.ts). Wording follows Istio's
// security.istio.io/v1 reference, adapted to targetRefs attachment.
import type { Overlay } from "./descriptions.ts";

const d = (description: string) => ({ description });

const targetRefs = (kind: string): Overlay => ({
  "spec.targetRefs": d(
    `TargetRefs are the Services (1 to 16) in the ${kind}'s namespace it applies to; sectionName narrows a target to one port, by name. Without targetRefs the ${kind} covers its whole namespace, and in meshplane-system the whole mesh.`,
  ),
  "spec.targetRefs.group": d('Group of the target: "" (core).'),
  "spec.targetRefs.kind": d("Kind of the target: Service."),
  "spec.targetRefs.name": d("Name of the target Service."),
  "spec.targetRefs.sectionName": d("Name of one port of the Service; the whole Service when unset."),
});

const mtlsMode =
  "STRICT: servers accept only mutual TLS, and clients originate it. PERMISSIVE: Envoy servers accept mutual TLS and plaintext; proxyless gRPC servers serve plaintext only (they cannot tell the two apart). DISABLE: plaintext.";

const peerAuthentication: Overlay = {
  "": d(
    "PeerAuthentication sets the mutual TLS mode servers run. The most specific one wins: a port (portLevelMtls, or a target with sectionName), then a Service, then the namespace (no targetRefs), then the mesh (no targetRefs, in meshplane-system); the mesh default is PERMISSIVE. Between two at the same level the oldest wins.",
  ),
  spec: d("Spec defines the mTLS mode of the covered servers."),
  status: d("Status reports Accepted and Programmed (how many proxies run the policy)."),
  ...targetRefs("PeerAuthentication"),
  "spec.mtls": d("The mode for every covered port that no port-level setting overrides."),
  "spec.mtls.mode": d(mtlsMode),
  "spec.portLevelMtls": d("Modes for single ports of the targeted Services, which override spec.mtls."),
  "spec.portLevelMtls.port": d("A port number of the targeted Services."),
  "spec.portLevelMtls.mode": d(mtlsMode),
};

const source = "spec.rules.from.source";
const operation = "spec.rules.to.operation";
const pattern = " Values match exactly, by prefix (`abc*`), by suffix (`*abc`), or `*` for any value.";

const authorizationPolicy: Overlay = {
  "": d(
    "AuthorizationPolicy says who may call what on the covered servers. Evaluation follows Istio: a request matching any DENY policy is denied; then, if any ALLOW policy applies, the request must match one of them; with no ALLOW policy it is allowed. AUDIT only marks matching requests (Envoy logs them; proxyless gRPC ignores AUDIT).",
  ),
  spec: d("Spec defines the action and the rules it applies to."),
  status: d("Status reports Accepted and Programmed (how many proxies run the policy)."),
  ...targetRefs("AuthorizationPolicy"),
  "spec.action": d("ALLOW (default), DENY or AUDIT."),
  "spec.rules": d(
    "A request matches the policy when it matches any rule. An ALLOW policy without rules matches nothing, so it denies every request.",
  ),
  "spec.rules.from": d("Callers: the rule matches when any source matches; every caller when unset."),
  [source]: d(
    "One kind of caller: every field set must match, any value within a field matches, a not… field matches when none of its values does.",
  ),
  [`${source}.principals`]: d(
    `Peer identities as SPIFFE IDs, spiffe://<trust-domain>/ns/<namespace>/sa/<service-account>; they need mutual TLS.${pattern}`,
  ),
  [`${source}.notPrincipals`]: d("Peer identities that do not match."),
  [`${source}.namespaces`]: d(`Namespaces of the peer's SPIFFE ID (needs mutual TLS).${pattern}`),
  [`${source}.notNamespaces`]: d("Peer namespaces that do not match."),
  [`${source}.ipBlocks`]: d("The direct peer's address: single addresses or CIDR blocks (10.0.0.0/8)."),
  [`${source}.notIpBlocks`]: d("Peer addresses that do not match."),
  [`${source}.requestPrincipals`]: d(
    `End users as <issuer>/<subject> of a JWT validated by a RequestAuthentication (Envoy only).${pattern}`,
  ),
  [`${source}.notRequestPrincipals`]: d("End users that do not match."),
  "spec.rules.to": d("Operations: the rule matches when any operation matches; every request when unset."),
  [operation]: d("One kind of request: every field set must match; the same rules as for sources."),
  [`${operation}.grpc`]: d(
    "A gRPC service (fully qualified, e.g. ledger.Ledger) and optionally one method (Post): written as the path /ledger.Ledger/Post, or /ledger.Ledger/* without a method. Not together with paths.",
  ),
  [`${operation}.grpc.service`]: d("The fully qualified gRPC service name."),
  [`${operation}.grpc.method`]: d("The method name; every method of the service when unset."),
  [`${operation}.paths`]: d(`Request paths; a gRPC call's path is /package.Service/Method.${pattern}`),
  [`${operation}.notPaths`]: d("Request paths that do not match."),
  [`${operation}.methods`]: d("HTTP methods such as GET; every gRPC call is a POST."),
  [`${operation}.notMethods`]: d("HTTP methods that do not match."),
  [`${operation}.ports`]: d("Server ports the request arrived on."),
  [`${operation}.notPorts`]: d("Server ports that do not match."),
  [`${operation}.headers`]: d(
    "Request headers (gRPC metadata): each listed header must have one of its values.",
  ),
  [`${operation}.headers.name`]: d("Header name, case-insensitive."),
  [`${operation}.headers.values`]: d(`Accepted values.${pattern}`),
};

const requestAuthentication: Overlay = {
  "": d(
    "RequestAuthentication lists the JWT issuers the covered servers accept (Envoy's jwt_authn filter). A request with an invalid token is refused; one without a token passes, unless an AuthorizationPolicy asks for requestPrincipals. Proxyless gRPC servers have no JWT filter and ignore it (reported in status).",
  ),
  spec: d("Spec lists the accepted issuers."),
  status: d("Status reports Accepted and Programmed (how many proxies run the policy)."),
  ...targetRefs("RequestAuthentication"),
  "spec.jwtRules": d("One rule per accepted issuer (1 to 16)."),
  "spec.jwtRules.issuer": d("The token's iss claim, e.g. https://accounts.example.com."),
  "spec.jwtRules.audiences": d("Accepted aud values; any audience when unset."),
  "spec.jwtRules.jwksUri": d(
    "Where the data plane fetches the issuer's public keys (JWKS); https, or http on 127.0.0.1/localhost only. Exactly one of jwksUri and jwks.",
  ),
  "spec.jwtRules.jwks": d("The issuer's public key set (a JWKS JSON document) inline."),
  "spec.jwtRules.fromHeaders": d(
    "Headers carrying the token, each with an optional value prefix; with neither fromHeaders nor fromParams, the Authorization header with prefix `Bearer ` and the access_token query parameter.",
  ),
  "spec.jwtRules.fromHeaders.name": d("Header name."),
  "spec.jwtRules.fromHeaders.prefix": d("Text before the token in the header value, e.g. `Bearer `."),
  "spec.jwtRules.fromParams": d("Query parameters carrying the token."),
  "spec.jwtRules.forwardOriginalToken": d(
    "Whether the token is passed on to the application (default false: removed).",
  ),
};

export const securityDescriptions: Readonly<Record<string, Overlay>> = {
  PeerAuthentication: peerAuthentication,
  AuthorizationPolicy: authorizationPolicy,
  RequestAuthentication: requestAuthentication,
};
