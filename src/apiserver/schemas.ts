// Schemas of the kinds only the API server knows (Namespace, Event): for OpenAPI, explain, and the
// Namespace checks in namespaces.ts. The mesh kinds' schemas live in src/api.
import { Type } from "@sinclair/typebox";
import { ObjectMeta } from "../api/index.ts";

export const NamespaceSchema = Type.Object(
  {
    apiVersion: Type.Literal("v1"),
    kind: Type.Literal("Namespace"),
    metadata: ObjectMeta,
    spec: Type.Optional(
      Type.Object(
        {
          finalizers: Type.Optional(
            Type.Array(Type.String(), {
              description:
                "Finalizers is an opaque list of values that must be empty to permanently remove object from storage.",
            }),
          ),
        },
        { description: "Spec defines the behavior of the Namespace." },
      ),
    ),
    status: Type.Optional(
      Type.Object(
        {
          phase: Type.Optional(
            Type.Union([Type.Literal("Active"), Type.Literal("Terminating")], {
              description: "Phase is the current lifecycle phase of the namespace.",
            }),
          ),
          conditions: Type.Optional(
            Type.Array(
              Type.Object(
                {
                  type: Type.String(),
                  status: Type.String(),
                  lastTransitionTime: Type.Optional(Type.String()),
                  reason: Type.Optional(Type.String()),
                  message: Type.Optional(Type.String()),
                },
                { additionalProperties: false },
              ),
              { description: "Represents the latest available observations of a namespace's current state." },
            ),
          ),
        },
        { description: "Status describes the current status of a Namespace." },
      ),
    ),
  },
  { description: "Namespace provides a scope for Names. Use of multiple namespaces is optional." },
);

export const EventSchema = Type.Object(
  {
    apiVersion: Type.Literal("v1"),
    kind: Type.Literal("Event"),
    metadata: ObjectMeta,
    involvedObject: Type.Object(
      {},
      { additionalProperties: true, description: "The object that this event is about." },
    ),
    reason: Type.Optional(
      Type.String({ description: "A short, machine understandable string for the transition." }),
    ),
    message: Type.Optional(
      Type.String({ description: "A human-readable description of the status of this operation." }),
    ),
    type: Type.Optional(Type.String({ description: "Type of this event (Normal, Warning)." })),
  },
  {
    description:
      "Event is a report of an event somewhere in the cluster. meshplane's controllers record one for every rollout step, promotion and rollback; retention is bounded.",
  },
);
