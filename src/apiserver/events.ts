// Events, served as upstream serves them: stored once as core v1 Events and also shown as
// events.k8s.io/v1 Events (the same objects with the newer field names: regarding, note,
// reportingController, deprecated*). Both are read-only here; meshplane's controllers write them
// into the store (src/rollout/events.ts). Field selectors on the involved object work as upstream's
// field label conversions (pkg/apis/core/v1/conversion.go, pkg/apis/events/v1), which is what
// `kubectl describe` sends to find an object's events.
import { Type } from "@sinclair/typebox";
import { ObjectMeta } from "../api/index.ts";
import type { KubeObject } from "../store/index.ts";

type Json = Record<string, unknown>;
const record = (value: unknown): Json =>
  typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Json) : {};
const text = (value: unknown): string => (value === undefined || value === null ? "" : String(value));

export type SelectableFields = Readonly<Record<string, (object: KubeObject) => string>>;

const objectReferenceFields = (prefix: string, at: (o: KubeObject) => Json): SelectableFields =>
  Object.fromEntries(
    ["kind", "namespace", "name", "uid", "apiVersion", "resourceVersion", "fieldPath"].map((field) => [
      `${prefix}.${field}`,
      (o: KubeObject) => text(at(o)[field]),
    ]),
  );

/** Core v1 Event field selectors (upstream's EventToSelectableFields). */
export const coreEventFields: SelectableFields = {
  ...objectReferenceFields("involvedObject", (o) => record(o.involvedObject)),
  reason: (o) => text(o.reason),
  reportingComponent: (o) => text(o.reportingComponent),
  source: (o) => text(record(o.source).component),
  type: (o) => text(o.type),
};

/** events.k8s.io/v1 Event field selectors. */
export const eventsV1Fields: SelectableFields = {
  ...objectReferenceFields("regarding", (o) => record(o.involvedObject)),
  reason: (o) => text(o.reason),
  reportingController: (o) => text(o.reportingComponent),
  type: (o) => text(o.type),
};

/** A stored core Event as events.k8s.io/v1 shows it. */
export function asEventsV1(object: KubeObject): KubeObject {
  const served: KubeObject = { apiVersion: "events.k8s.io/v1", kind: "Event", metadata: object.metadata };
  const copy = (from: string, to: string) => {
    if (object[from] !== undefined) served[to] = object[from];
  };
  copy("eventTime", "eventTime");
  copy("series", "series");
  copy("reportingComponent", "reportingController");
  copy("reportingInstance", "reportingInstance");
  copy("action", "action");
  copy("reason", "reason");
  copy("involvedObject", "regarding");
  copy("related", "related");
  copy("message", "note");
  copy("type", "type");
  copy("source", "deprecatedSource");
  copy("firstTimestamp", "deprecatedFirstTimestamp");
  copy("lastTimestamp", "deprecatedLastTimestamp");
  copy("count", "deprecatedCount");
  return served;
}

const reference = (description: string) =>
  Type.Object(
    {
      apiVersion: Type.Optional(Type.String()),
      kind: Type.Optional(Type.String()),
      name: Type.Optional(Type.String()),
      namespace: Type.Optional(Type.String()),
      uid: Type.Optional(Type.String()),
      resourceVersion: Type.Optional(Type.String()),
      fieldPath: Type.Optional(Type.String()),
    },
    { description },
  );

export const EventsV1Schema = Type.Object(
  {
    apiVersion: Type.Literal("events.k8s.io/v1"),
    kind: Type.Literal("Event"),
    metadata: ObjectMeta,
    eventTime: Type.String({ description: "The time the event was first observed (MicroTime)." }),
    reportingController: Type.Optional(
      Type.String({
        description: "The controller that emitted the event, e.g. meshplane.dev/rollout-controller.",
      }),
    ),
    reportingInstance: Type.Optional(
      Type.String({ description: "The replica of the controller that emitted it." }),
    ),
    action: Type.Optional(Type.String({ description: "What action was taken or failed." })),
    reason: Type.Optional(Type.String({ description: "Why the action was taken, machine readable." })),
    regarding: Type.Optional(reference("The object this event is about.")),
    note: Type.Optional(Type.String({ description: "A human-readable description of what happened." })),
    type: Type.Optional(Type.String({ description: "Normal or Warning." })),
    deprecatedSource: Type.Optional(Type.Object({}, { additionalProperties: true })),
    deprecatedFirstTimestamp: Type.Optional(Type.String()),
    deprecatedLastTimestamp: Type.Optional(Type.String()),
    deprecatedCount: Type.Optional(Type.Integer()),
  },
  {
    description:
      "Event is a report of an event somewhere in the cluster. meshplane's controllers record one for every rollout step, promotion and rollback; retention is bounded.",
  },
);
