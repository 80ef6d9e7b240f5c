// Checks Envoy resources against the protoc-gen-validate rules carried in their descriptors: the
// rules Envoy enforces on every config it accepts (it NACKs what fails). meshplane has no Envoy
// binary to ask, so tests run every generated resource through this instead. Like Envoy, it also
// validates the message packed in each google.protobuf.Any, which PGV alone does not.
import {
  fromBinary,
  getOption,
  hasOption,
  type DescField,
  type DescMessage,
  type DescOneof,
  type Message,
  type Registry,
} from "@bufbuild/protobuf";
import type { ReflectList, ReflectMap, ReflectMessage } from "@bufbuild/protobuf/reflect";
import { reflect } from "@bufbuild/protobuf/reflect";
import {
  FeatureSet_FieldPresence,
  isWrapperDesc,
  type Any,
  type Duration,
  type Timestamp,
} from "@bufbuild/protobuf/wkt";
import { disabled, required, rules as fieldRules } from "../../gen/validate/validate_pb.js";
import {
  checkAnyType,
  checkDuration,
  checkTimestamp,
  checkValue,
  compileRules,
  ruleTypeOf,
  type CompiledRules,
  type RuleSink,
  type ValueType,
} from "./pgv-rules.ts";
import { envoyRegistry } from "./registry.ts";

/** One broken rule. `path` uses proto field names: `virtual_hosts[0].routes[2].match.path`. */
export interface PgvViolation {
  readonly path: string;
  /** The rule as "type.field" (`string.min_len`), prefixed inside containers (`repeated.items.…`). */
  readonly rule: string;
  /** What was expected and what was found. */
  readonly message: string;
}

export interface PgvReport {
  readonly violations: PgvViolation[];
  /** What could not be checked, e.g. an Any of a type the registry does not know (`any.unknown_type`). */
  readonly notes: PgvViolation[];
}

export interface PgvOptions {
  /** Resolves the types packed in Any; default: every generated Envoy/xDS type. */
  readonly registry?: Registry;
  /** The current time, for timestamp lt_now/gt_now/within (no Envoy field uses them). */
  readonly now?: Date;
}

export function validateEnvoyMessage(
  schema: DescMessage,
  message: Message,
  options?: PgvOptions,
): PgvViolation[] {
  return inspectEnvoyMessage(schema, message, options).violations;
}

export function inspectEnvoyMessage(
  schema: DescMessage,
  message: Message,
  options: PgvOptions = {},
): PgvReport {
  const report: PgvReport = { violations: [], notes: [] };
  new Walk(options.registry ?? envoyRegistry, options.now, report).message(schema, message, "");
  return report;
}

/** The PGV rule kinds a message type declares itself ("string.min_len", "oneof.required", …). */
export function pgvRuleKinds(schema: DescMessage): readonly string[] {
  return planFor(schema).kinds;
}

/** Rules of this message type the validator cannot evaluate, by field; each is also a violation. */
export function pgvProblems(schema: DescMessage): { field: string; problems: readonly string[] }[] {
  return planFor(schema)
    .fields.filter((f) => f.problems.length > 0)
    .map((f) => ({ field: f.field.name, problems: f.problems }));
}

type Slot = ValueType | { kind: "message"; message: DescMessage };

interface FieldPlan {
  readonly field: DescField;
  readonly rules: CompiledRules | undefined;
  readonly problems: readonly string[];
}

interface MessagePlan {
  readonly disabled: boolean;
  readonly requiredOneofs: readonly DescOneof[];
  /** Fields with rules or holding messages; the rest cannot break anything. */
  readonly fields: readonly FieldPlan[];
  readonly kinds: readonly string[];
}

// Reading options decodes them from the descriptor, so each message type is compiled once. The
// memo holds only data derived from immutable descriptors.
const plans = new WeakMap<DescMessage, MessagePlan>();

function planFor(desc: DescMessage): MessagePlan {
  let plan = plans.get(desc);
  if (!plan) {
    plan = compilePlan(desc);
    plans.set(desc, plan);
  }
  return plan;
}

function compilePlan(desc: DescMessage): MessagePlan {
  const kinds: string[] = [];
  const isDisabled = getOption(desc, disabled);
  if (isDisabled) kinds.push("message.disabled");
  const requiredOneofs = desc.oneofs.filter((oneof) => getOption(oneof, required));
  if (requiredOneofs.length > 0) kinds.push("oneof.required");
  const fields: FieldPlan[] = [];
  for (const field of desc.fields) {
    const rules = hasOption(field, fieldRules) ? compileRules(getOption(field, fieldRules)) : undefined;
    if (!rules && !holdsMessages(field)) continue;
    kinds.push(...(rules?.kinds ?? []));
    fields.push({ field, rules, problems: rules ? [...rules.problems, ...misfits(field, rules)] : [] });
  }
  return { disabled: isDisabled, requiredOneofs, fields, kinds: [...new Set(kinds)] };
}

function holdsMessages(field: DescField): boolean {
  return slotOf(field).kind === "message";
}

/** The type of a singular value, a list item or a map value. */
function slotOf(field: DescField): Slot {
  switch (field.fieldKind) {
    case "scalar":
      return { kind: "scalar", scalar: field.scalar };
    case "enum":
      return { kind: "enum", enum: field.enum };
    case "message":
      return { kind: "message", message: field.message };
    case "list":
    case "map": {
      const kind = field.fieldKind === "list" ? field.listKind : field.mapKind;
      if (kind === "message") return { kind: "message", message: field.message! };
      if (kind === "enum") return { kind: "enum", enum: field.enum! };
      return { kind: "scalar", scalar: field.scalar! };
    }
  }
}

/** The FieldRules type that fits a slot; undefined for plain messages (only `message` rules). */
function ruleTypeFor(slot: Slot): string | undefined {
  if (slot.kind !== "message") return ruleTypeOf(slot);
  const desc = slot.message;
  if (isWrapperDesc(desc)) return ruleTypeOf({ kind: "scalar", scalar: desc.fields[0].scalar });
  return {
    "google.protobuf.Duration": "duration",
    "google.protobuf.Timestamp": "timestamp",
    "google.protobuf.Any": "any",
  }[desc.typeName];
}

/** Rules that do not fit the field's type; protoc-gen-validate refuses to generate these. */
function misfits(field: DescField, rules: CompiledRules): string[] {
  const slot = slotOf(field);
  if (field.fieldKind === "list") {
    if (rules.type === undefined) return rules.message.size ? ["message rules on a repeated field"] : [];
    if (rules.type !== "repeated") return [`${rules.type} rules on a repeated field`];
    const unique = rules.typed.get("unique") === true && slot.kind === "message";
    return [
      ...(unique ? ["repeated.unique on message items"] : []),
      ...slotMisfits(slot, rules.items, "items: "),
    ];
  }
  if (field.fieldKind === "map") {
    if (rules.type !== "map") return [`${rules.type ?? "message"} rules on a map field`];
    const key: Slot = { kind: "scalar", scalar: field.mapKey };
    return [...slotMisfits(key, rules.keys, "keys: "), ...slotMisfits(slot, rules.values, "values: ")];
  }
  return slotMisfits(slot, rules, "");
}

function slotMisfits(slot: Slot, rules: CompiledRules | undefined, where: string): string[] {
  if (!rules) return [];
  const out: string[] = [];
  const fits = ruleTypeFor(slot);
  const name = slot.kind === "message" ? slot.message.typeName : (fits ?? "value");
  // Envoy puts `any.required` on a plain message (ExtensionConfigSource.config_source); PGV
  // accepts it, checks presence and does not validate inside (templates/cc/any.go).
  const presenceOnly =
    rules.type === "any" && slot.kind === "message" && [...rules.typed.keys()].join() === "required";
  if (rules.type !== undefined && rules.type !== fits && !presenceOnly)
    out.push(`${where}${rules.type} rules on a ${name} value`);
  if (rules.message.size > 0 && slot.kind !== "message") out.push(`${where}message rules on a ${name} value`);
  return out;
}

/** One validation run: where violations go, and how Any is resolved. */
class Walk {
  private readonly registry: Registry;
  private readonly now: Date | undefined;
  private readonly report: PgvReport;

  constructor(registry: Registry, now: Date | undefined, report: PgvReport) {
    this.registry = registry;
    this.now = now;
    this.report = report;
  }

  message(desc: DescMessage, message: Message, path: string): void {
    const plan = planFor(desc);
    if (plan.disabled) return;
    const view = reflect(desc, message, false);
    for (const oneof of plan.requiredOneofs) {
      if (view.oneofCase(oneof)) continue;
      const options = oneof.fields.map((f) => f.name).join(", ");
      this.violation(join(path, oneof.name), "oneof.required", `one of ${options} must be set, none is`);
    }
    for (const field of plan.fields) this.field(view, field, join(path, field.field.name));
  }

  private field(view: ReflectMessage, plan: FieldPlan, path: string): void {
    const { field } = plan;
    if (plan.problems.length > 0) this.violation(path, "pgv.unsupported", plan.problems.join("; "));
    const rules = plan.problems.length > 0 ? undefined : plan.rules;
    const slot = slotOf(field);
    switch (field.fieldKind) {
      case "scalar":
      case "enum":
        // Implicit-presence scalars are checked even at their zero value; oneof members and
        // `optional` scalars only when set.
        if (!rules) return;
        if ((field.oneof || field.presence === FeatureSet_FieldPresence.EXPLICIT) && !view.isSet(field))
          return;
        checkValue(rules, slot as ValueType, view.get(field), this.sink(path, ""));
        return;
      case "message":
        if (view.isSet(field)) this.value(slot, rules, (view.get(field) as ReflectMessage).message, path, "");
        // PGV checks a oneof member only when it is the chosen case, `required` included.
        else if (!field.oneof) this.required(rules, path);
        return;
      case "list":
        return this.list(view.get(field) as ReflectList, slot, rules, path);
      case "map":
        return this.map(view.get(field) as ReflectMap, slot, rules, path);
    }
  }

  /** Only `required` rules apply to an unset message field. */
  private required(rules: CompiledRules | undefined, path: string): void {
    if (rules?.message.get("required") === true)
      this.violation(path, "message.required", "must be set, is unset");
    if (rules?.typed.get("required") === true)
      this.violation(path, `${rules.type}.required`, "must be set, is unset");
  }

  /** A set message value: type rules (wrappers, Duration, Timestamp, Any), then its own fields. */
  private value(
    slot: Slot,
    rules: CompiledRules | undefined,
    value: unknown,
    path: string,
    prefix: string,
  ): void {
    if (slot.kind !== "message") {
      if (rules) checkValue(rules, slot, value, this.sink(path, prefix));
      return;
    }
    const desc = slot.message;
    const message = value as Message;
    if (rules?.type) {
      const sink = this.sink(path, prefix);
      if (isWrapperDesc(desc)) {
        const inner = (message as Message & { value: unknown }).value;
        checkValue(rules, { kind: "scalar", scalar: desc.fields[0].scalar }, inner, sink);
      } else if (rules.type === "duration") checkDuration(rules, message as Duration, sink);
      else if (rules.type === "timestamp") checkTimestamp(rules, message as Timestamp, this.now, sink);
      else if (rules.type === "any" && desc.typeName === "google.protobuf.Any")
        checkAnyType(rules, message as Any, sink);
    }
    if (rules?.message.get("skip") === true) return;
    // PGV's `any` template checks presence only and does not descend (see slotMisfits).
    if (rules?.type === "any" && desc.typeName !== "google.protobuf.Any") return;
    if (desc.typeName === "google.protobuf.Any") this.any(message as Any, path);
    // The other well-known types carry no rules.
    else if (!desc.typeName.startsWith("google.protobuf.")) this.message(desc, message, path);
  }

  /** PGV stops at Any, but Envoy validates each typed config it unpacks; so do we, if the type is known. */
  private any(any: Any, path: string): void {
    const typeName = any.typeUrl.slice(any.typeUrl.lastIndexOf("/") + 1);
    const desc = this.registry.getMessage(typeName);
    if (!desc) {
      const what = `type ${JSON.stringify(any.typeUrl)} is unknown to the registry; its content was not validated`;
      this.report.notes.push({ path, rule: "any.unknown_type", message: what });
      return;
    }
    let inner: Message;
    try {
      inner = fromBinary(desc, any.value);
    } catch (error) {
      this.violation(path, "any.decode", `must decode as ${typeName}: ${(error as Error).message}`);
      return;
    }
    this.value({ kind: "message", message: desc }, undefined, inner, path, "");
  }

  private list(list: ReflectList, slot: Slot, rules: CompiledRules | undefined, path: string): void {
    const r = rules?.typed;
    const size = BigInt(list.size);
    if (r?.has("min_items") && size < (r.get("min_items") as bigint))
      this.violation(
        path,
        "repeated.min_items",
        `must have at least ${r.get("min_items")} items, has ${size}`,
      );
    if (r?.has("max_items") && size > (r.get("max_items") as bigint))
      this.violation(
        path,
        "repeated.max_items",
        `must have at most ${r.get("max_items")} items, has ${size}`,
      );
    const seen = r?.get("unique") === true ? new Map<unknown, number>() : undefined;
    if (!seen && !rules?.items && slot.kind !== "message") return;
    for (const [index, item] of list.entries()) {
      const at = `${path}[${index}]`;
      if (seen) {
        const key = item instanceof Uint8Array ? `bytes:${item.join(",")}` : item;
        const first = seen.get(key);
        if (first !== undefined) this.violation(at, "repeated.unique", `must not repeat item [${first}]`);
        else seen.set(key, index);
      }
      const value = slot.kind === "message" ? (item as ReflectMessage).message : item;
      this.value(slot, rules?.items, value, at, "repeated.items.");
    }
  }

  private map(map: ReflectMap, slot: Slot, rules: CompiledRules | undefined, path: string): void {
    const r = rules?.typed;
    const size = BigInt(map.size);
    if (r?.has("min_pairs") && size < (r.get("min_pairs") as bigint))
      this.violation(path, "map.min_pairs", `must have at least ${r.get("min_pairs")} entries, has ${size}`);
    if (r?.has("max_pairs") && size > (r.get("max_pairs") as bigint))
      this.violation(path, "map.max_pairs", `must have at most ${r.get("max_pairs")} entries, has ${size}`);
    // `no_sparse` forbids null message values, which protobuf-es maps cannot hold.
    if (!rules?.keys && !rules?.values && slot.kind !== "message") return;
    const keyType: ValueType = { kind: "scalar", scalar: map.field().mapKey };
    for (const [key, value] of map) {
      const at = `${path}[${typeof key === "string" ? JSON.stringify(key) : String(key)}]`;
      if (rules?.keys) checkValue(rules.keys, keyType, key, this.sink(at, "map.keys."));
      const plain = slot.kind === "message" ? (value as ReflectMessage).message : value;
      this.value(slot, rules?.values, plain, at, "map.values.");
    }
  }

  private sink(path: string, prefix: string): RuleSink {
    return {
      violation: (rule, message) => this.violation(path, prefix + rule, message),
      note: (rule, message) => this.report.notes.push({ path, rule: prefix + rule, message }),
    };
  }

  private violation(path: string, rule: string, message: string): void {
    this.report.violations.push({ path, rule, message });
  }
}

function join(path: string, name: string): string {
  return path ? `${path}.${name}` : name;
}
