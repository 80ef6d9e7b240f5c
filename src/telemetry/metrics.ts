// The metrics catalogue. One registry per process, created by the caller and passed in, so tests
// can build as many independent servers as they like.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

export interface MeshplaneMetrics {
  readonly registry: Registry;
  readonly connectedProxies: Gauge<"protocol">;
  readonly pushes: Counter<"type">;
  readonly evaluations: Counter<"type">;
  readonly pushDuration: Histogram;
  readonly acks: Counter<"type">;
  readonly nacks: Counter<"type">;
  readonly rejectedResources: Gauge<"type">;
  readonly staleRequests: Counter<"type">;
  readonly resourceEncodes: Counter<"type">;
  readonly configReloads: Counter<"result">;
  readonly configErrors: Counter<"kind">;
  readonly configObjects: Gauge<"kind">;
  /** Inputs refused at an edge because they exceed a limit (src/limits), by limit name. */
  readonly inputRefusals: Counter<"limit">;
  /** The web dashboard's open live feeds, and the time to build one update of its view. */
  readonly dashboardClients: Gauge;
  readonly dashboardUpdateDuration: Histogram;
  // The controller runtime (src/controller), by controller name.
  readonly controllerQueueDepth: Gauge<"controller">;
  readonly controllerReconcileDuration: Histogram<"controller" | "result">;
  readonly controllerReconcileErrors: Counter<"controller">;
  readonly controllerRequeues: Counter<"controller" | "reason">;
  // The certificate authority (src/security).
  readonly caCertificatesIssued: Counter;
  readonly caSigningFailures: Counter<"reason">;
  readonly caCertificateExpiry: Gauge<"role" | "fingerprint">;
  // Progressive delivery (src/rollout), by Rollout as `namespace/name`.
  readonly rolloutCanaryWeight: Gauge<"rollout">;
  readonly rolloutStep: Gauge<"rollout">;
  readonly rolloutPhase: Gauge<"rollout" | "phase">;
  readonly rolloutMeasurements: Counter<"provider" | "result">;
  readonly rolloutTransitions: Counter<"reason">;
}

export function createMetrics(options: { defaultMetrics?: boolean } = {}): MeshplaneMetrics {
  const registry = new Registry();
  if (options.defaultMetrics ?? true) {
    collectDefaultMetrics({ register: registry, prefix: "meshplane_" });
    // prom-client exports these sums as gauges named `_total`, which `promtool check metrics` rejects
    // (prometheus/client_js#283); the per-type gauges without the suffix carry the same counts.
    for (const name of ["active_handles_total", "active_requests_total", "active_resources_total"]) {
      registry.removeSingleMetric(`meshplane_nodejs_${name}`);
    }
  }
  const registers = [registry];
  return {
    registry,
    ...createControllerMetrics(registers),
    ...createCaMetrics(registers),
    connectedProxies: new Gauge({
      name: "meshplane_xds_connected_proxies",
      help: "ADS streams currently open, by protocol variant.",
      labelNames: ["protocol"],
      registers,
    }),
    pushes: new Counter({
      name: "meshplane_xds_pushes_total",
      help: "xDS responses sent to proxies, by resource type.",
      labelNames: ["type"],
      registers,
    }),
    evaluations: new Counter({
      name: "meshplane_xds_evaluations_total",
      help: "Subscriptions resolved against the current configuration and compared with what the proxy holds, by resource type; a change evaluates only the subscriptions it concerns.",
      labelNames: ["type"],
      registers,
    }),
    pushDuration: new Histogram({
      name: "meshplane_xds_push_duration_seconds",
      help: "Time from a config change being applied to every connected proxy having been sent it.",
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    }),
    acks: new Counter({
      name: "meshplane_xds_acks_total",
      help: "Responses a proxy accepted (ACK), by resource type.",
      labelNames: ["type"],
      registers,
    }),
    nacks: new Counter({
      name: "meshplane_xds_nacks_total",
      help: "Responses a proxy rejected (NACK), by resource type; the proxy keeps its last good config.",
      labelNames: ["type"],
      registers,
    }),
    rejectedResources: new Gauge({
      name: "meshplane_xds_rejected_resources",
      help: "Resources held at a proxy's last good version because the proxy rejected the newer one, by type.",
      labelNames: ["type"],
      registers,
    }),
    staleRequests: new Counter({
      name: "meshplane_xds_stale_requests_total",
      help: "Requests ignored because their response nonce was not the latest sent.",
      labelNames: ["type"],
      registers,
    }),
    resourceEncodes: new Counter({
      name: "meshplane_xds_resource_encodes_total",
      help: "xDS resources serialised to protobuf; each resource version is encoded once and shared.",
      labelNames: ["type"],
      registers,
    }),
    configReloads: new Counter({
      name: "meshplane_config_reloads_total",
      help: "Configuration loads, by result (applied, rejected, unchanged).",
      labelNames: ["result"],
      registers,
    }),
    configErrors: new Counter({
      name: "meshplane_config_errors_total",
      help: "Configuration objects rejected by validation or resolution, by kind.",
      labelNames: ["kind"],
      registers,
    }),
    dashboardClients: new Gauge({
      name: "meshplane_dashboard_clients",
      help: "Open live feeds of the web dashboard.",
      registers,
    }),
    dashboardUpdateDuration: new Histogram({
      name: "meshplane_dashboard_update_duration_seconds",
      help: "Time to build one update of the web dashboard's view (proxy state sampled, diffed, serialised), once for all pages.",
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
      registers,
    }),
    configObjects: new Gauge({
      name: "meshplane_config_objects",
      help: "Configuration objects currently in force, by kind.",
      labelNames: ["kind"],
      registers,
    }),
    inputRefusals: new Counter({
      name: "meshplane_input_refusals_total",
      help: "Inputs (API bodies, patches, config files, xDS requests) refused for exceeding a limit, by limit.",
      labelNames: ["limit"],
      registers,
    }),
    rolloutCanaryWeight: new Gauge({
      name: "meshplane_rollout_canary_weight_percent",
      help: "Share of the rule's traffic the rollout controller last gave the canary backend, by Rollout.",
      labelNames: ["rollout"],
      registers,
    }),
    rolloutStep: new Gauge({
      name: "meshplane_rollout_step",
      help: "Index of the step a Rollout is at (the number of steps once it completed), by Rollout.",
      labelNames: ["rollout"],
      registers,
    }),
    rolloutPhase: new Gauge({
      name: "meshplane_rollout_phase",
      help: "1 for the phase a Rollout is in (Progressing, Paused, Succeeded, Degraded, Aborted), 0 for the others.",
      labelNames: ["rollout", "phase"],
      registers,
    }),
    rolloutMeasurements: new Counter({
      name: "meshplane_rollout_measurements_total",
      help: "Analysis measurements taken, by provider (prometheus, web) and result (Successful, Failed, Inconclusive).",
      labelNames: ["provider", "result"],
      registers,
    }),
    rolloutTransitions: new Counter({
      name: "meshplane_rollout_transitions_total",
      help: "Rollout transitions, by reason (StepCompleted, Promoted, RolledBack, Paused, Resumed, Aborted, Completed).",
      labelNames: ["reason"],
      registers,
    }),
  };
}

type CaMetrics = Pick<MeshplaneMetrics, "caCertificatesIssued" | "caSigningFailures" | "caCertificateExpiry">;

function createCaMetrics(registers: Registry[]): CaMetrics {
  return {
    caCertificatesIssued: new Counter({
      name: "meshplane_ca_certificates_issued_total",
      help: "Workload certificates the CA signed.",
      registers,
    }),
    caSigningFailures: new Counter({
      name: "meshplane_ca_signing_failures_total",
      help: "Signing requests refused, by reason (token_expired, token_invalid, csr_signature_invalid, request_too_large, ...).",
      labelNames: ["reason"],
      registers,
    }),
    // A timestamp, not a countdown: `meshplane_ca_certificate_expiry_timestamp_seconds - time()` is
    // the time left, and stays right between scrapes (as cert-manager's expiration metric).
    caCertificateExpiry: new Gauge({
      name: "meshplane_ca_certificate_expiry_timestamp_seconds",
      help: "When the CA's certificates expire (Unix seconds), by role (signing: the key that signs now; root: each trusted root; xds-server: the xDS port's certificate under --xds-tls) and SHA-256 fingerprint prefix.",
      labelNames: ["role", "fingerprint"],
      registers,
    }),
  };
}

type ControllerMetrics = Pick<
  MeshplaneMetrics,
  "controllerQueueDepth" | "controllerReconcileDuration" | "controllerReconcileErrors" | "controllerRequeues"
>;

function createControllerMetrics(registers: Registry[]): ControllerMetrics {
  return {
    controllerQueueDepth: new Gauge({
      name: "meshplane_controller_queue_depth",
      help: "Keys waiting for a worker, by controller.",
      labelNames: ["controller"],
      registers,
    }),
    controllerReconcileDuration: new Histogram({
      name: "meshplane_controller_reconcile_duration_seconds",
      help: "Time per reconcile, by controller and result (success, requeue_after, error, terminal_error).",
      labelNames: ["controller", "result"],
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    }),
    controllerReconcileErrors: new Counter({
      name: "meshplane_controller_reconcile_errors_total",
      help: "Reconciles that failed, retried or terminal, by controller.",
      labelNames: ["controller"],
      registers,
    }),
    controllerRequeues: new Counter({
      name: "meshplane_controller_requeues_total",
      help: "Keys queued again by a reconcile, by controller and reason (error, requeue_after).",
      labelNames: ["controller", "reason"],
      registers,
    }),
  };
}
