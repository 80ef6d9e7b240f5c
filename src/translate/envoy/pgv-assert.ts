// Test helper for Envoy translators: every resource must survive a binary round trip unchanged
// and satisfy the PGV rules Envoy enforces (see pgv.ts). An Any the validator cannot open also
// fails: it would be config nobody checked.
import assert from "node:assert/strict";
import { equals, fromBinary, toBinary, type DescMessage, type Message } from "@bufbuild/protobuf";
import { inspectEnvoyMessage, type PgvOptions } from "./pgv.ts";

export interface EnvoyResourceUnderTest {
  readonly schema: DescMessage;
  readonly message: Message;
  /** Shown in failures; GeneratedResource carries it. */
  readonly name?: string;
}

export function assertValidEnvoy(resources: readonly EnvoyResourceUnderTest[], options?: PgvOptions): void {
  const failures: string[] = [];
  for (const [index, { schema, message, name }] of resources.entries()) {
    const label = `${schema.typeName} ${name === undefined ? `#${index}` : JSON.stringify(name)}`;
    const decoded = fromBinary(schema, toBinary(schema, message));
    if (!equals(schema, decoded, message)) {
      assert.deepStrictEqual(decoded, message, `${label}: differs after toBinary/fromBinary`);
      failures.push(`${label}: differs after toBinary/fromBinary`);
    }
    const report = inspectEnvoyMessage(schema, message, options);
    for (const v of report.violations)
      failures.push(`${label} ${v.path || "(root)"}: ${v.rule}: ${v.message}`);
    for (const n of report.notes) failures.push(`${label} ${n.path || "(root)"}: ${n.rule}: ${n.message}`);
  }
  assert.ok(failures.length === 0, `Envoy would reject these resources:\n  ${failures.join("\n  ")}`);
}
