// Field descriptions and Kubernetes list/patch extensions laid over the src/api schemas when they
// are published as OpenAPI (for `kubectl explain` and for kubectl's strategic-merge-patch metadata).
// Paths are dotted field paths under the kind; a list field's path continues into its items.
// Wording paraphrases the Gateway API v1 and Kubernetes API reference.

import { rolloutDescriptions } from "./descriptions-rollout.ts";
import { securityDescriptions } from "./descriptions-security.ts";

export type Overlay = Readonly<Record<string, Readonly<Record<string, unknown>>>>;

const d = (description: string) => ({ description });

const parentRef: Overlay = {
  "spec.parentRefs": d(
    'ParentRefs references the resources this route attaches to. In a mesh (GAMMA, GEP-1294) the parent is a Service: set group "" and kind Service. An omitted group defaults to gateway.networking.k8s.io and kind to Gateway.',
  ),
  "spec.parentRefs.group": d(
    'Group of the referent; "" (core) for a Service. Defaults to gateway.networking.k8s.io.',
  ),
  "spec.parentRefs.kind": d("Kind of the referent: Service in mesh mode. Defaults to Gateway."),
  "spec.parentRefs.namespace": d("Namespace of the referent; the route's own namespace when unset."),
  "spec.parentRefs.name": d("Name of the referent."),
  "spec.parentRefs.sectionName": d("Name of a section within the parent; for a Service, a port name."),
  "spec.parentRefs.port": d("Port of the parent Service the route applies to; every port when unset."),
  "spec.hostnames": d("Hostnames to match against the request's Host (or :authority). Ignored in mesh mode."),
};

const backendRefs = (prefix: string): Overlay => ({
  [`${prefix}`]: d(
    "BackendRefs are the backends requests are sent to. Weights are proportions: each backend receives weight / (sum of weights) of the requests.",
  ),
  [`${prefix}.group`]: d('Group of the referent; "" (core) for a Service.'),
  [`${prefix}.kind`]: d("Kind of the referent. Defaults to Service."),
  [`${prefix}.name`]: d("Name of the referent Service."),
  [`${prefix}.namespace`]: d("Namespace of the backend; the route's namespace when unset."),
  [`${prefix}.port`]: d("Destination port of the Service. Required when the referent is a Service."),
  [`${prefix}.weight`]: d("Proportion of requests forwarded to this backend. Defaults to 1; 0 sends none."),
  [`${prefix}.filters`]: d("Filters applied only to requests forwarded to this backend."),
});

const ruleCommon = (route: "HTTPRoute" | "GRPCRoute"): Overlay => ({
  "": d(
    route === "GRPCRoute"
      ? "GRPCRoute provides a way to route gRPC requests: match on the service, method and headers of a call and forward it to weighted backends. In a mesh it attaches to a Service."
      : "HTTPRoute provides a way to route HTTP requests: match on path, headers, query parameters and method, apply filters, and forward to weighted backends. In a mesh it attaches to a Service.",
  ),
  spec: d(`Spec defines the desired state of the ${route}.`),
  status: d(
    `Status defines the current state of the ${route}: conditions per parent (Accepted, ResolvedRefs).`,
  ),
  ...parentRef,
  "spec.rules": d(
    "Rules are a list of matchers, filters and actions. A request is handled by the rule with the most specific matching match; rules are evaluated in the precedence order the Gateway API defines.",
  ),
  "spec.rules.name": d("Name of the rule, unique within the route; usable as a sectionName."),
  "spec.rules.matches": d(
    "Matches define conditions used for matching the rule against incoming requests. A match is satisfied if all of its conditions hold; the rule matches if any of its matches is satisfied. No matches means match everything.",
  ),
  "spec.rules.matches.headers": d("Headers that must all match for this match to be satisfied."),
  "spec.rules.matches.headers.type": d("How to match the value: Exact (default) or RegularExpression."),
  "spec.rules.matches.headers.name": d("Name of the header, case-insensitive."),
  "spec.rules.matches.headers.value": d("Value of the header to match."),
  "spec.rules.filters": d(
    "Filters modify requests or responses handled by this rule: header modifiers, mirrors and ExtensionRef filters.",
  ),
  "spec.rules.filters.type": d("Type of the filter; the field of the same name carries its configuration."),
  ...backendRefs("spec.rules.backendRefs"),
});

const trafficPolicy: Overlay = {
  "": d(
    "TrafficPolicy sets how callers reach a Service: load balancing, circuit breaking, outlier detection, connect timeout and retries. It attaches to Services in its own namespace through targetRefs; when two policies target the same Service or port, the oldest wins.",
  ),
  spec: d("Spec defines the desired traffic behaviour towards the targeted Services."),
  status: d("Status reports whether the policy was accepted for each target."),
  "spec.targetRefs": d(
    "TargetRefs are the Services the policy applies to (1 to 16), in the policy's namespace. A policy for one port (sectionName) overrides a Service-wide policy for that port.",
  ),
  "spec.targetRefs.group": d('Group of the target: "" (core).'),
  "spec.targetRefs.kind": d("Kind of the target: Service."),
  "spec.targetRefs.name": d("Name of the target Service."),
  "spec.targetRefs.sectionName": d("Name of a Service port; the policy then applies to that port only."),
  "spec.loadBalancer": d("How requests are spread over the Service's endpoints."),
  "spec.loadBalancer.type": d(
    "RoundRobin, LeastRequest (Envoy only; proxyless gRPC clients use RoundRobin) or RingHash (consistent hashing, see hashPolicies).",
  ),
  "spec.loadBalancer.ringHash": d("Ring sizes for RingHash: more entries spread load more evenly."),
  "spec.loadBalancer.hashPolicies": d(
    "What RingHash hashes a request on; each entry sets exactly one of header, sourceIP (Envoy only) and channel (one channel sticks to one endpoint).",
  ),
  "spec.loadBalancer.locality": d(
    "Traffic split and failover between zones (EndpointSlice endpoints[].zone).",
  ),
  "spec.loadBalancer.locality.weights": d(
    "Relative weight per zone, 1 to 1,000,000; zones not listed get 1.",
  ),
  "spec.loadBalancer.locality.failover": d(
    "Zones in failover order: traffic goes to the first zone with healthy endpoints; unlisted zones come last.",
  ),
  "spec.circuitBreaker": d(
    "Limits towards the Service; requests over a limit fail fast. Proxyless gRPC clients honour maxRequests only.",
  ),
  "spec.circuitBreaker.maxRequests": d("Maximum concurrent requests."),
  "spec.circuitBreaker.maxConnections": d("Maximum connections (Envoy only)."),
  "spec.circuitBreaker.maxPendingRequests": d("Maximum requests waiting for a connection (Envoy only)."),
  "spec.circuitBreaker.maxRetries": d("Maximum concurrent retries (Envoy only)."),
  "spec.outlierDetection": d(
    "Temporarily ejects endpoints that fail. Set consecutiveErrors (Envoy only), failurePercentage or both.",
  ),
  "spec.outlierDetection.interval": d("How often endpoints are evaluated. Defaults to 10s."),
  "spec.outlierDetection.baseEjectionTime": d(
    "How long an endpoint is ejected, multiplied by the times it was ejected before. Defaults to 30s.",
  ),
  "spec.outlierDetection.maxEjectionPercent": d(
    "Most endpoints ejected at once, in percent. Defaults to 10.",
  ),
  "spec.outlierDetection.consecutiveErrors": d(
    "Ejects an endpoint after this many errors in a row (Envoy only).",
  ),
  "spec.outlierDetection.failurePercentage": d(
    "Ejects an endpoint whose share of failed requests exceeds threshold percent, once at least minimumHosts (default 5) endpoints each had requestVolume (default 50) requests in the interval.",
  ),
  "spec.connectTimeout": d("Timeout for opening a connection to an endpoint, a duration such as 1s."),
  "spec.retry": d("Retries for calls to the Service when the route rule defines none."),
  "spec.retry.attempts": d(
    "Retries after the first attempt, at least 1. Proxyless gRPC clients retry at most 4 times.",
  ),
  "spec.retry.retryOn": d(
    "gRPC status codes that are retried: cancelled, deadline-exceeded, internal, resource-exhausted, unavailable.",
  ),
  "spec.retry.backoff": d(
    "Exponential backoff between attempts: baseInterval, and maxInterval (default 10 times baseInterval).",
  ),
};

const faultInjection: Overlay = {
  "": d(
    "FaultInjection delays or aborts a share of requests, for testing how callers cope. A route rule uses it through an ExtensionRef filter (group meshplane.dev, kind FaultInjection) in the route's namespace.",
  ),
  spec: d("Spec defines the faults; set delay, abort or both."),
  status: d("Status of the FaultInjection."),
  "spec.delay": d("Delays requests before they are forwarded."),
  "spec.delay.fixedDelay": d("How long to delay, a duration such as 2s."),
  "spec.delay.percentage": d("Share of requests delayed, 0 to 100 (fractions allowed)."),
  "spec.abort": d("Answers requests with an error instead of forwarding them; set grpcStatus or httpStatus."),
  "spec.abort.grpcStatus": d("gRPC status code to answer with, 1 to 16 (14 is UNAVAILABLE)."),
  "spec.abort.httpStatus": d(
    "HTTP status to answer with, 200 to 599; gRPC callers see it mapped to a status code.",
  ),
  "spec.abort.percentage": d("Share of requests aborted, 0 to 100 (fractions allowed)."),
};

export const descriptions: Readonly<Record<string, Overlay>> = {
  Rollout: rolloutDescriptions,
  ...securityDescriptions,
  TrafficPolicy: trafficPolicy,
  FaultInjection: faultInjection,
  GRPCRoute: {
    ...ruleCommon("GRPCRoute"),
    "spec.rules.matches.method": d(
      "Method matches on the gRPC service and method. At least one of service and method must be set.",
    ),
    "spec.rules.matches.method.type": d("How to match: Exact (default) or RegularExpression."),
    "spec.rules.matches.method.service": d("The fully qualified gRPC service, e.g. helloworld.Greeter."),
    "spec.rules.matches.method.method": d("The gRPC method name, e.g. SayHello."),
  },
  HTTPRoute: {
    ...ruleCommon("HTTPRoute"),
    "spec.rules.matches.path": d("Path match: PathPrefix (default, value /), Exact or RegularExpression."),
    "spec.rules.matches.queryParams": d("Query parameters that must all match."),
    "spec.rules.matches.method": d("HTTP method to match; any method when unset."),
    "spec.rules.timeouts": d("Timeouts for requests matching this rule (GEP-1742)."),
    "spec.rules.timeouts.request": d("Timeout for the whole request, a Gateway API duration such as 10s."),
    "spec.rules.timeouts.backendRequest": d(
      "Timeout for one request to a backend, including retries' attempts.",
    ),
    "spec.rules.retry": d("Retry policy for requests matching this rule (experimental, GEP-1731)."),
  },
  Service: {
    "": d("Service is a named abstraction of a network service: a set of ports that clients call."),
    spec: d("Spec defines the behavior of the service."),
    "spec.ports": {
      description: "The list of ports that are exposed by this service.",
      "x-kubernetes-list-type": "map",
      "x-kubernetes-list-map-keys": ["port", "protocol"],
      "x-kubernetes-patch-merge-key": "port",
      "x-kubernetes-patch-strategy": "merge",
    },
    "spec.ports.name": d("The name of this port within the service; must be a DNS label."),
    "spec.ports.port": d("The port that will be exposed by this service."),
    "spec.ports.targetPort": d("Number or name of the port on the backends. Defaults to port."),
    "spec.ports.protocol": d('The IP protocol for this port: "TCP" (default), "UDP" or "SCTP".'),
    "spec.ports.appProtocol": d("The application protocol for this port, e.g. grpc or http2."),
    "spec.selector": d("Route service traffic to pods with label keys and values matching this selector."),
    "spec.type": d(
      "How the Service is exposed: ClusterIP (default), NodePort, LoadBalancer or ExternalName.",
    ),
    "spec.clusterIP": d("The IP address of the service, allocated by the server unless set."),
    status: d("Most recently observed status of the service."),
  },
  EndpointSlice: {
    "": d("EndpointSlice represents a subset of the endpoints that implement a Service."),
    addressType: d("The type of address carried by this slice: IPv4, IPv6 or FQDN."),
    endpoints: {
      description: "A list of unique endpoints in this slice.",
      "x-kubernetes-list-type": "atomic",
    },
    "endpoints.addresses": {
      description: "Addresses of this endpoint, interpreted according to addressType.",
      "x-kubernetes-list-type": "set",
    },
    "endpoints.conditions": d("The current state of the endpoint (ready, serving, terminating)."),
    "endpoints.zone": d("The zone this endpoint exists in; becomes the xDS locality."),
    ports: {
      description: "The network ports exposed by each endpoint in this slice.",
      "x-kubernetes-list-type": "atomic",
    },
  },
};
