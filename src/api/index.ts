export * from "./meta.ts";
export * from "./core.ts";
export * from "./routes.ts";
export * from "./policies.ts";
export * from "./rollout.ts";
export * from "./security.ts";
export * from "./validate.ts";
export * from "./storage.ts";
