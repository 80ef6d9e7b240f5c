// Service defaults and cluster IP allocation (kubernetes pkg/apis/core/v1/defaults.go
// SetDefaults_Service, pkg/registry/core/service/storage: ipallocator, patchAllocatedValues).
// Cluster IPs come from 10.96.0.0/16: the first candidate is a hash of namespace/name, so the
// same Service gets the same address across restarts of an empty store; collisions probe onwards.
import type { KubeObject, ResourceStore, ResourceType, Watch } from "../store/index.ts";
import type { StatusCause } from "./status.ts";

type Json = Record<string, unknown>;
const record = (value: unknown): Json =>
  typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Json) : {};

const serviceType: ResourceType = { group: "", resource: "services", namespaced: true };
const base = (10 << 24) | (96 << 16);
const size = 1 << 16;

export function ipFromOffset(offset: number): string {
  const ip = (base + offset) >>> 0;
  return [ip >>> 24, (ip >>> 16) & 255, (ip >>> 8) & 255, ip & 255].join(".");
}

/** FNV-1a, 32 bits. */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}

/**
 * The first free address for `key` among `used`: offsets 2..65534 (skipping the network address,
 * 10.96.0.1 which clusters give the kubernetes Service, and the broadcast address).
 */
export function pickClusterIp(key: string, used: { has(ip: string): boolean }): string | undefined {
  const usable = size - 3;
  const start = fnv1a(key) % usable;
  for (let i = 0; i < usable; i++) {
    const ip = ipFromOffset(2 + ((start + i) % usable));
    if (!used.has(ip)) return ip;
  }
  return undefined;
}

const ipv4Re = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/** Defaults applied to every Service write (SetDefaults_Service, SetDefaults_ServicePort). */
export function defaultService(object: KubeObject): KubeObject {
  const spec = { ...record(object.spec) };
  spec.type ??= "ClusterIP";
  spec.sessionAffinity ??= "None";
  if (Array.isArray(spec.ports)) {
    spec.ports = spec.ports.map((p) => {
      const port = { ...record(p) };
      port.protocol ??= "TCP";
      if (port.targetPort === undefined && port.port !== undefined) port.targetPort = port.port;
      return port;
    });
  }
  if (spec.type !== "ExternalName") spec.internalTrafficPolicy ??= "Cluster";
  return { ...object, spec };
}

function setAddress(spec: Json, ip: string): void {
  spec.clusterIP = ip;
  spec.clusterIPs = [ip];
  if (ip !== "None") spec.ipFamilies ??= ["IPv4"];
  spec.ipFamilyPolicy ??= "SingleStack";
}

/** Serialises allocations in this process so two creates never pick the same free address. */
/**
 * Cluster IPs in use, by `namespace/name`: listed once, then kept current by a watch, so an
 * allocation costs a lookup instead of a list of every Service (a bulk create of N Services was
 * O(N²) in parsing stored objects). Writes through this allocator are recorded as they succeed,
 * so the next allocation never waits for the watch to see them.
 */
class AddressIndex {
  private readonly byName = new Map<string, string>();
  /** The Services holding each address (more than one only in a store written around the API). */
  private readonly byIp = new Map<string, Set<string>>();
  private readonly watch: Watch;

  private constructor(watch: Watch) {
    this.watch = watch;
  }

  static async open(store: ResourceStore, onEnd: (index: AddressIndex) => void): Promise<AddressIndex> {
    const { items, resourceVersion } = await store.list(serviceType);
    const index = new AddressIndex(await store.watch(serviceType, { resourceVersion }));
    for (const service of items) index.record(service);
    void index.follow(onEnd);
    return index;
  }

  record(service: KubeObject): void {
    const ip = record(service.spec).clusterIP;
    this.forget(serviceKey(service));
    if (typeof ip === "string" && ip !== "None") {
      this.byName.set(serviceKey(service), ip);
      const owners = this.byIp.get(ip) ?? new Set();
      owners.add(serviceKey(service));
      this.byIp.set(ip, owners);
    }
  }

  forget(key: string): void {
    const ip = this.byName.get(key);
    if (ip === undefined) return;
    this.byName.delete(key);
    const owners = this.byIp.get(ip);
    owners?.delete(key);
    if (owners?.size === 0) this.byIp.delete(ip);
  }

  /** Whether a Service other than `own` (`namespace/name`) holds `ip`. */
  heldByOther(ip: string, own: string): boolean {
    const owners = this.byIp.get(ip);
    return owners !== undefined && (owners.size > 1 || !owners.has(own));
  }

  stop(): void {
    this.watch.stop();
  }

  /** Applies events until the watch ends (store closed, Expired): then the next allocation relists. */
  private async follow(onEnd: (index: AddressIndex) => void): Promise<void> {
    try {
      for await (const event of this.watch) {
        if (event.type === "DELETED") this.forget(serviceKey(event.object));
        else this.record(event.object);
      }
    } catch {
      // Expired or Unavailable: forget the index; the next allocation lists again.
    } finally {
      onEnd(this);
    }
  }
}

const serviceKey = (service: KubeObject) =>
  `${service.metadata.namespace ?? ""}/${service.metadata.name ?? ""}`;

export class ClusterIpAllocator {
  private readonly store: ResourceStore;
  private queue: Promise<unknown> = Promise.resolve();
  private index: Promise<AddressIndex> | undefined;

  constructor(store: ResourceStore) {
    this.store = store;
  }

  /** Runs `write` with `object` given its cluster IP; no other allocation runs meanwhile. */
  allocate<T>(object: KubeObject, write: (object: KubeObject) => Promise<T>): Promise<T> {
    const run = this.queue.then(async () => {
      const assigned = await this.assign(object);
      const result = await write(assigned);
      (await this.addresses()).record(assigned);
      return result;
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Stops following the store. */
  close(): void {
    void this.index?.then(
      (index) => index.stop(),
      () => undefined,
    );
    this.index = undefined;
  }

  private addresses(): Promise<AddressIndex> {
    if (!this.index) {
      const opening = AddressIndex.open(this.store, () => {
        if (this.index === opening) this.index = undefined;
      });
      opening.catch(() => {
        if (this.index === opening) this.index = undefined;
      });
      this.index = opening;
    }
    return this.index;
  }

  private async assign(object: KubeObject): Promise<KubeObject> {
    const spec = { ...record(object.spec) };
    if (spec.type === "ExternalName") return object;
    const requested = typeof spec.clusterIP === "string" ? spec.clusterIP : "";
    if (requested === "None") {
      setAddress(spec, "None");
      return { ...object, spec };
    }
    const meta = object.metadata;
    const used = await this.usedAddresses(meta.namespace, meta.name);
    if (requested !== "") {
      if (used.has(requested)) throw new ClusterIpError(requested, "provided IP is already allocated");
      setAddress(spec, requested);
      return { ...object, spec };
    }
    const ip = pickClusterIp(`${meta.namespace ?? ""}/${meta.name ?? ""}`, used);
    if (ip === undefined) throw new ClusterIpError("", "range 10.96.0.0/16 is full");
    setAddress(spec, ip);
    return { ...object, spec };
  }

  /**
   * Addresses of the other Services. The object's own stored address does not count, so creating a
   * Service that exists answers AlreadyExists rather than an allocation error.
   */
  private async usedAddresses(
    namespace: string | undefined,
    name: string | undefined,
  ): Promise<{ has(ip: string): boolean }> {
    const own = `${namespace ?? ""}/${name ?? ""}`;
    const index = await this.addresses();
    return { has: (ip) => index.heldByOther(ip, own) };
  }
}

export class ClusterIpError extends Error {
  readonly ip: string;
  constructor(ip: string, reason: string) {
    super(
      ip === "" ? `failed to allocate a cluster IP: ${reason}` : `failed to allocate IP ${ip}: ${reason}`,
    );
    this.name = "ClusterIpError";
    this.ip = ip;
  }
}

/** Problems with a requested cluster IP before allocation. */
export function clusterIpCauses(object: KubeObject): StatusCause[] {
  const spec = record(object.spec);
  const ip = spec.clusterIP;
  if (ip === undefined || ip === "" || ip === "None") return [];
  if (typeof ip !== "string" || !ipv4Re.test(ip)) {
    return [
      {
        reason: "FieldValueInvalid",
        field: "spec.clusterIP",
        message: `Invalid value: ${JSON.stringify(ip)}: must be a valid IP address or "None"`,
      },
    ];
  }
  const [a, b] = ip.split(".").map(Number);
  return a === 10 && b === 96
    ? []
    : [
        {
          reason: "FieldValueInvalid",
          field: "spec.clusterIP",
          message: `Invalid value: ${JSON.stringify(ip)}: provided IP is not in the valid range. The range of valid IPs is 10.96.0.0/16`,
        },
      ];
}

/**
 * An update keeps the allocated address: an empty clusterIP takes the current one
 * (patchAllocatedValues); a different one is refused, the field is immutable.
 */
export function keepAllocatedValues(
  current: KubeObject,
  next: KubeObject,
): { object: KubeObject; causes: StatusCause[] } {
  const old = record(current.spec);
  const spec = { ...record(next.spec) };
  if (old.type === "ExternalName" || spec.type === "ExternalName" || old.clusterIP === undefined) {
    return { object: next, causes: [] };
  }
  if (spec.clusterIP === undefined || spec.clusterIP === "") {
    spec.clusterIP = old.clusterIP;
    spec.clusterIPs ??= old.clusterIPs;
    spec.ipFamilies ??= old.ipFamilies;
    spec.ipFamilyPolicy ??= old.ipFamilyPolicy;
    return { object: { ...next, spec }, causes: [] };
  }
  if (spec.clusterIP !== old.clusterIP) {
    return {
      object: next,
      causes: [
        {
          reason: "FieldValueInvalid",
          field: "spec.clusterIP",
          message: `Invalid value: ${JSON.stringify(spec.clusterIP)}: field is immutable`,
        },
      ],
    };
  }
  spec.clusterIPs ??= old.clusterIPs;
  spec.ipFamilies ??= old.ipFamilies;
  spec.ipFamilyPolicy ??= old.ipFamilyPolicy;
  return { object: { ...next, spec }, causes: [] };
}
