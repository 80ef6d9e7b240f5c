// `kubectl explain rollout` text for the Rollout kind (src/api/rollout.ts).
import type { Overlay } from "./descriptions.ts";

const d = (description: string) => ({ description });
const metric = "spec.steps.analysis.metrics";

export const rolloutDescriptions: Overlay = {
  "": d(
    "Rollout moves one route rule's traffic from a stable to a canary backend step by step: set a weight, pause, analyse metrics, expose to requests carrying a header. A failed analysis sends all traffic back to stable. Progress is kept in status, so another replica continues where a stopped leader left off.",
  ),
  spec: d("Spec names the route rule, the two backends and the steps."),
  status: d(
    "Status: phase (Progressing, Paused, Succeeded, Degraded, Aborted), currentStep, canaryWeight, the running analysis with its measured values, the history of finished analyses, and conditions (Accepted, Progressing, Paused, Degraded).",
  ),
  "spec.routeRef": d(
    "The route whose rule the rollout drives: kind GRPCRoute or HTTPRoute, name, and rule index.",
  ),
  "spec.routeRef.group": d("gateway.networking.k8s.io (the default)."),
  "spec.routeRef.kind": d("GRPCRoute or HTTPRoute."),
  "spec.routeRef.name": d("Name of the route, in the rollout's namespace."),
  "spec.routeRef.rule": d("Index of the rule in spec.rules, 0 by default. The rule must list both backends."),
  "spec.stableBackend": d("The backendRef (a Service name) that serves today."),
  "spec.stableBackend.name": d("Name of the stable Service, as in the rule's backendRefs."),
  "spec.canaryBackend": d(
    "The backendRef (a Service name) being rolled out; list it in the rule with weight: 0.",
  ),
  "spec.canaryBackend.name": d("Name of the canary Service, as in the rule's backendRefs."),
  "spec.steps": d(
    "Steps run in order; each sets exactly one of setWeight, pause, analysis, exposeByHeader. After the last step the canary takes 100%.",
  ),
  "spec.steps.setWeight": d(
    "Percent of the rule's traffic sent to the canary (the stable gets the rest). The step ends when every proxy runs the new weights (Programmed).",
  ),
  "spec.steps.pause": d("Waits: for duration, or without one until promoted (meshplane rollout promote)."),
  "spec.steps.pause.duration": d("How long to wait, a duration such as 30s; unset waits until promoted."),
  "spec.steps.exposeByHeader": d(
    "Sends requests carrying this header (exact value) to the canary, whatever the weights: an extra rule of the route, removed when the rollout ends.",
  ),
  "spec.steps.exposeByHeader.name": d("Header name, e.g. x-canary."),
  "spec.steps.exposeByHeader.value": d("Header value that must match exactly."),
  "spec.steps.analysis": d(
    "Measures metrics every interval, once the current weights are programmed. Fails (and rolls back) after more than failureLimit failed rounds; passes after count rounds; pauses while more than inconclusiveLimit rounds in a row cannot be judged (provider unreachable, no data), and never passes then.",
  ),
  "spec.steps.analysis.interval": d("Time between measurement rounds (default 10s)."),
  "spec.steps.analysis.count": d("Rounds to take before the analysis passes (default 3)."),
  "spec.steps.analysis.failureLimit": d("Failed rounds tolerated (default 0)."),
  "spec.steps.analysis.inconclusiveLimit": d(
    "Inconclusive rounds in a row tolerated before pausing (default 0).",
  ),
  [metric]: d("Metrics measured each round; a round fails if any fails."),
  [`${metric}.name`]: d("Name of the metric, shown with its values in status and events."),
  [`${metric}.successCondition`]: d(
    'Comparison the value must satisfy to pass, e.g. ">= 0.99". With only this set, anything else fails.',
  ),
  [`${metric}.failureCondition`]: d(
    'Comparison that fails the measurement, e.g. "< 0.95". With both set and neither holding, the measurement is inconclusive.',
  ),
  [`${metric}.prometheus`]: d("Reads the value from Prometheus with an instant query (/api/v1/query)."),
  [`${metric}.prometheus.address`]: d("Base URL of Prometheus, e.g. http://127.0.0.1:9090."),
  [`${metric}.prometheus.query`]: d("PromQL that yields one number (a scalar, or a vector of one sample)."),
  [`${metric}.prometheus.template`]: d(
    "Ready-made query over the standard gRPC server metrics: GrpcSuccessRate (share of calls ending OK, from grpc_server_handled_total) or GrpcLatencyQuantile (seconds, from grpc_server_handling_seconds_bucket).",
  ),
  [`${metric}.prometheus.selector`]: d(
    'Label matchers that select the canary\'s series for a template; default job="<canary backend name>".',
  ),
  [`${metric}.prometheus.window`]: d("Rate window of a template, a duration (default 30s)."),
  [`${metric}.prometheus.quantile`]: d("Quantile for GrpcLatencyQuantile, between 0 and 1 (default 0.99)."),
  [`${metric}.web`]: d("Reads the value from an HTTP GET answering JSON."),
  [`${metric}.web.url`]: d("URL to GET."),
  [`${metric}.web.jsonPath`]: d(
    "Dotted path to the number in the answer, e.g. data.value; the whole answer when unset.",
  ),
  [`${metric}.web.timeout`]: d("How long to wait for the answer (default 5s)."),
  "spec.paused": d(
    "true pauses the rollout where it is; false resumes it (also after the controller paused it).",
  ),
  "spec.abort": d("true sends all traffic back to stable and stops; false again starts over at step 0."),
  "spec.promote": d(
    "Index of the current pause or analysis step to end now (meshplane rollout promote sets it). The controller removes it once that step ended, so a later run of the rollout waits again.",
  ),
};
