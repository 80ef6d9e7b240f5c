// Printer columns for Table output. Core kinds follow kubernetes pkg/printers/internalversion/
// printers.go; routes follow the Gateway API CRDs' additionalPrinterColumns (Hostnames, Age), with
// date columns rendered server-side as the apiextensions table convertor does
// (ConvertToHumanReadableDateType).
import type { KubeObject } from "../store/index.ts";

export interface PrinterColumn {
  readonly name: string;
  readonly type: "string" | "integer" | "number" | "boolean" | "date";
  readonly format?: string;
  readonly description: string;
  /** 0: shown by default; 1: only with `-o wide`. */
  readonly priority: number;
  /** The cell value; null prints as `<none>` in kubectl. */
  readonly cell: (object: KubeObject, now: number) => string | number | boolean | null;
}

/** apimachinery util/duration.HumanDuration: `45s`, `3m20s`, `5h`, `3d4h`, `2y`. */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < -1) return "<invalid>";
  if (seconds < 0) return "0s";
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) return seconds % 60 === 0 ? `${minutes}m` : `${minutes}m${seconds % 60}s`;
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 8) return minutes % 60 === 0 ? `${hours}h` : `${hours}h${minutes % 60}m`;
  if (hours < 48) return `${hours}h`;
  if (hours < 24 * 8) return hours % 24 === 0 ? `${hours / 24}d` : `${Math.floor(hours / 24)}d${hours % 24}h`;
  const days = Math.floor(hours / 24);
  if (hours < 24 * 365 * 2) return `${days}d`;
  if (hours < 24 * 365 * 8) {
    const rest = days % 365;
    return rest === 0 ? `${Math.floor(days / 365)}y` : `${Math.floor(days / 365)}y${rest}d`;
  }
  return `${Math.floor(days / 365)}y`;
}

/** Age of an object: `<unknown>` without a parseable creationTimestamp. */
export function age(object: KubeObject, now: number): string {
  const created = Date.parse(object.metadata.creationTimestamp ?? "");
  return Number.isNaN(created) ? "<unknown>" : humanDuration(now - created);
}

type Json = Record<string, unknown>;
const record = (value: unknown): Json =>
  typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Json) : {};
const list = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);

/** Upstream listWithMoreString: the first `max` entries and ` + N more...`. */
function firstOf(values: string[], max: number): string {
  const shown = values.slice(0, max).join(",");
  return values.length > max ? `${shown} + ${values.length - max} more...` : shown;
}

const ageColumn = (type: "string" | "date"): PrinterColumn => ({
  name: "Age",
  type,
  description: "CreationTimestamp is a timestamp representing the server time when this object was created.",
  priority: 0,
  cell: age,
});

export const namespaceColumns: readonly PrinterColumn[] = [
  {
    name: "Status",
    type: "string",
    description: "The status of the namespace",
    priority: 0,
    cell: (o) => String(record(o.status).phase ?? "Active"),
  },
  ageColumn("string"),
];

function servicePorts(spec: Json): string {
  const ports = list(spec.ports).map((p) => {
    const port = record(p);
    const protocol = String(port.protocol ?? "TCP");
    return port.nodePort !== undefined
      ? `${String(port.port)}:${String(port.nodePort)}/${protocol}`
      : `${String(port.port)}/${protocol}`;
  });
  return ports.length === 0 ? "<none>" : ports.join(",");
}

function externalIp(spec: Json, status: Json): string {
  const type = spec.type ?? "ClusterIP";
  const external = list(spec.externalIPs).map(String);
  if (type === "ExternalName") return String(spec.externalName ?? "<none>");
  if (type === "LoadBalancer") {
    const ingress = list(record(status.loadBalancer).ingress).map((i) => {
      const entry = record(i);
      return String(entry.ip ?? entry.hostname ?? "");
    });
    const all = [...ingress, ...external];
    return all.length === 0 ? "<pending>" : firstOf(all, 2);
  }
  return external.length === 0 ? "<none>" : external.join(",");
}

export const serviceColumns: readonly PrinterColumn[] = [
  {
    name: "Type",
    type: "string",
    description: "type determines how the Service is exposed.",
    priority: 0,
    cell: (o) => String(record(o.spec).type ?? "ClusterIP"),
  },
  {
    name: "Cluster-IP",
    type: "string",
    description: "clusterIP is the IP address of the service.",
    priority: 0,
    cell: (o) => {
      const spec = record(o.spec);
      return spec.type === "ExternalName" ? "<none>" : String(spec.clusterIP ?? "<none>");
    },
  },
  {
    name: "External-IP",
    type: "string",
    description:
      "externalIPs is a list of IP addresses for which nodes in the cluster will also accept traffic.",
    priority: 0,
    cell: (o) => externalIp(record(o.spec), record(o.status)),
  },
  {
    name: "Port(s)",
    type: "string",
    description: "The list of ports that are exposed by this service.",
    priority: 0,
    cell: (o) => servicePorts(record(o.spec)),
  },
  ageColumn("string"),
  {
    name: "Selector",
    type: "string",
    description: "Route service traffic to pods with label keys and values matching this selector.",
    priority: 1,
    cell: (o) => {
      const selector = Object.entries(record(record(o.spec).selector)).map(([k, v]) => `${k}=${String(v)}`);
      return selector.length === 0 ? "<none>" : selector.sort().join(",");
    },
  },
];

export const endpointSliceColumns: readonly PrinterColumn[] = [
  {
    name: "AddressType",
    type: "string",
    description: "addressType specifies the type of address carried by this EndpointSlice.",
    priority: 0,
    cell: (o) => String(o.addressType ?? ""),
  },
  {
    name: "Ports",
    type: "string",
    description: "ports specifies the list of network ports exposed by each endpoint in this slice.",
    priority: 0,
    cell: (o) => {
      const ports = list(o.ports).map((p) => {
        const port = record(p);
        return port.port !== undefined ? String(port.port) : String(port.name ?? "*");
      });
      return ports.length === 0 ? "<unset>" : firstOf(ports, 3);
    },
  },
  {
    name: "Endpoints",
    type: "string",
    description: "endpoints is a list of unique endpoints in this slice.",
    priority: 0,
    cell: (o) => {
      const addresses = list(o.endpoints).flatMap((e) => list(record(e).addresses).map(String));
      return addresses.length === 0 ? "<unset>" : firstOf(addresses, 3);
    },
  },
  ageColumn("string"),
];

export const eventColumns: readonly PrinterColumn[] = [
  {
    name: "Type",
    type: "string",
    description: "Type of this event.",
    priority: 0,
    cell: (o) => String(o.type ?? ""),
  },
  {
    name: "Reason",
    type: "string",
    description: "Why the event happened.",
    priority: 0,
    cell: (o) => String(o.reason ?? ""),
  },
  {
    name: "Object",
    type: "string",
    description: "The object this event is about.",
    priority: 0,
    cell: (o) => {
      const ref = record(o.involvedObject);
      return `${String(ref.kind ?? "").toLowerCase()}/${String(ref.name ?? "")}`;
    },
  },
  {
    name: "Message",
    type: "string",
    description: "A description of the event.",
    priority: 0,
    cell: (o) => String(o.message ?? ""),
  },
];

/** `kubectl get events.events.k8s.io`: the same columns over the newer field names. */
export const eventsV1Columns: readonly PrinterColumn[] = [
  {
    name: "Type",
    type: "string",
    description: "Type of this event.",
    priority: 0,
    cell: (o) => String(o.type ?? ""),
  },
  {
    name: "Reason",
    type: "string",
    description: "Why the event happened.",
    priority: 0,
    cell: (o) => String(o.reason ?? ""),
  },
  {
    name: "Object",
    type: "string",
    description: "The object this event is about.",
    priority: 0,
    cell: (o) => {
      const ref = record(o.regarding);
      return `${String(ref.kind ?? "").toLowerCase()}/${String(ref.name ?? "")}`;
    },
  },
  {
    name: "Note",
    type: "string",
    description: "A description of the event.",
    priority: 0,
    cell: (o) => String(o.note ?? ""),
  },
];

export const routeColumns: readonly PrinterColumn[] = [
  {
    name: "Hostnames",
    type: "string",
    description: "Hostnames the route matches.",
    priority: 0,
    // A jsonPath that yields a list renders as its JSON, as the CRD table convertor prints it.
    cell: (o) => {
      const hostnames = record(o.spec).hostnames;
      return hostnames === undefined ? null : JSON.stringify(hostnames);
    },
  },
  ageColumn("date"),
];

/** The targetRefs of a policy kind: Service names, and ports after a slash. */
const targetsColumn = (description: string): PrinterColumn => ({
  name: "Targets",
  type: "string",
  description,
  priority: 0,
  cell: (o) => {
    const targets = list(record(o.spec).targetRefs).map((t) => {
      const ref = record(t);
      return ref.sectionName === undefined
        ? String(ref.name ?? "")
        : `${String(ref.name ?? "")}/${String(ref.sectionName)}`;
    });
    return targets.length === 0 ? null : firstOf(targets, 3);
  },
});

export const trafficPolicyColumns: readonly PrinterColumn[] = [
  targetsColumn("The Services (and ports, after a slash) the policy applies to."),
  {
    name: "Load-Balancer",
    type: "string",
    description: "The load balancing algorithm.",
    priority: 0,
    cell: (o) => {
      const type = record(record(o.spec).loadBalancer).type;
      return type === undefined ? null : String(type);
    },
  },
  ageColumn("date"),
];

export const faultInjectionColumns: readonly PrinterColumn[] = [
  {
    name: "Delay",
    type: "string",
    description: "The delay injected and the percentage of requests delayed.",
    priority: 0,
    cell: (o) => {
      const delay = record(record(o.spec).delay);
      return delay.fixedDelay === undefined
        ? null
        : `${String(delay.fixedDelay)} (${String(delay.percentage ?? "")}%)`;
    },
  },
  {
    name: "Abort",
    type: "string",
    description: "The status aborted requests get and the percentage of requests aborted.",
    priority: 0,
    cell: (o) => {
      const abort = record(record(o.spec).abort);
      const status =
        abort.grpcStatus !== undefined
          ? `grpc ${String(abort.grpcStatus)}`
          : abort.httpStatus !== undefined
            ? `http ${String(abort.httpStatus)}`
            : undefined;
      return status === undefined ? null : `${status} (${String(abort.percentage ?? "")}%)`;
    },
  },
  ageColumn("date"),
];

export const rolloutColumns: readonly PrinterColumn[] = [
  {
    name: "Phase",
    type: "string",
    description: "Progressing, Paused, Succeeded, Degraded (rolled back by analysis) or Aborted.",
    priority: 0,
    cell: (o) => {
      const phase = record(o.status).phase;
      return phase === undefined ? null : String(phase);
    },
  },
  {
    name: "Step",
    type: "string",
    description: "The step being run, of how many.",
    priority: 0,
    cell: (o) => {
      const step = record(o.status).currentStep;
      return step === undefined ? null : `${String(step)}/${list(record(o.spec).steps).length}`;
    },
  },
  {
    name: "Weight",
    type: "integer",
    description: "The canary's share of the route rule's traffic, in percent.",
    priority: 0,
    cell: (o) => {
      const weight = record(o.status).canaryWeight;
      return typeof weight === "number" ? weight : null;
    },
  },
  {
    name: "Last-Analysis",
    type: "string",
    description: "Result and values of the last finished analysis.",
    priority: 0,
    cell: (o) => {
      const last = record(o.status).lastAnalysis;
      return last === undefined ? null : String(last);
    },
  },
  {
    name: "Message",
    type: "string",
    description: "What the rollout is doing or waiting for.",
    priority: 1,
    cell: (o) => {
      const message = record(o.status).message;
      return message === undefined ? null : String(message);
    },
  },
  ageColumn("date"),
];

const securityTargets = targetsColumn(
  "The Services (and ports, after a slash) the policy applies to; none: the whole namespace (the mesh, in meshplane-system).",
);

export const peerAuthenticationColumns: readonly PrinterColumn[] = [
  securityTargets,
  {
    name: "Mode",
    type: "string",
    description: "The mTLS mode servers run: STRICT, PERMISSIVE or DISABLE.",
    priority: 0,
    cell: (o) => {
      const mode = record(record(o.spec).mtls).mode;
      return mode === undefined ? null : String(mode);
    },
  },
  ageColumn("date"),
];

export const authorizationPolicyColumns: readonly PrinterColumn[] = [
  securityTargets,
  {
    name: "Action",
    type: "string",
    description: "ALLOW, DENY or AUDIT.",
    priority: 0,
    cell: (o) => String(record(o.spec).action ?? "ALLOW"),
  },
  ageColumn("date"),
];

export const requestAuthenticationColumns: readonly PrinterColumn[] = [
  securityTargets,
  {
    name: "Issuers",
    type: "string",
    description: "The JWT issuers accepted.",
    priority: 0,
    cell: (o) => {
      const issuers = list(record(o.spec).jwtRules).map((rule) => String(record(rule).issuer ?? ""));
      return issuers.length === 0 ? null : firstOf(issuers, 3);
    },
  },
  ageColumn("date"),
];
