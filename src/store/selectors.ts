// Label and field selectors with the syntax of apimachinery labels.Parse and fields.ParseSelector.
// Labels: `a=b`, `a==b`, `a!=b` (also matches objects without `a`), `a in (x,y)`, `a notin (x)`
// (also matches objects without `a`), `a`, `!a`, `a>1`, `a<1`; requirements joined by commas are
// ANDed. Fields: `metadata.name` and `metadata.namespace` with `=`, `==`, `!=`, values escaped with
// `\,` `\=` `\\`.
import { badRequest } from "./errors.ts";
import type { KubeObject } from "./types.ts";

export type LabelOperator = "exists" | "!exists" | "=" | "!=" | "in" | "notin" | ">" | "<";

export interface LabelRequirement {
  readonly key: string;
  readonly operator: LabelOperator;
  readonly values: readonly string[];
}

const labelNameRe = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const labelValueRe = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const dnsSubdomainRe = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** A label (or annotation) key: `[prefix/]name` (IsQualifiedName). Returns a problem or undefined. */
export function checkQualifiedName(key: string): string | undefined {
  const slash = key.indexOf("/");
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (prefix !== undefined && (prefix.length > 253 || !dnsSubdomainRe.test(prefix))) {
    return `prefix part must be a lowercase RFC 1123 subdomain: ${JSON.stringify(key)}`;
  }
  if (name.length === 0 || name.length > 63 || !labelNameRe.test(name)) {
    return `name part must be 63 characters or less, consist of alphanumeric characters, '-', '_' or '.', and start and end with an alphanumeric character: ${JSON.stringify(key)}`;
  }
  return undefined;
}

export function checkLabelValue(value: string): string | undefined {
  return value.length <= 63 && labelValueRe.test(value)
    ? undefined
    : `a valid label must be an empty string or consist of at most 63 alphanumeric characters, '-', '_' or '.', starting and ending with an alphanumeric character: ${JSON.stringify(value)}`;
}

type Token =
  { kind: "id"; text: string } | { kind: "op"; text: "!" | "=" | "==" | "!=" | ">" | "<" | "(" | ")" | "," };

function lex(input: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < input.length) {
    const c = input.charAt(i);
    if (/\s/.test(c)) {
      i++;
    } else if (c === "!" || c === "=") {
      const two = input.slice(i, i + 2);
      if (two === "!=" || two === "==") {
        tokens.push({ kind: "op", text: two });
        i += 2;
      } else {
        tokens.push({ kind: "op", text: c });
        i++;
      }
    } else if (c === ">" || c === "<" || c === "(" || c === ")" || c === ",") {
      tokens.push({ kind: "op", text: c });
      i++;
    } else {
      let j = i;
      while (j < input.length && !/[\s!=<>(),]/.test(input.charAt(j))) j++;
      tokens.push({ kind: "id", text: input.slice(i, j) });
      i = j;
    }
  }
  return tokens;
}

class LabelParser {
  private readonly tokens: Token[];
  private pos = 0;
  private readonly input: string;

  constructor(input: string) {
    this.input = input;
    this.tokens = lex(input);
  }

  parse(): LabelRequirement[] {
    const requirements: LabelRequirement[] = [];
    if (this.tokens.length === 0) return requirements;
    for (;;) {
      requirements.push(this.requirement());
      const next = this.take();
      if (next === undefined) return requirements;
      if (next.text !== ",") this.fail(`found '${next.text}', expected: ',' or end of string`);
    }
  }

  private requirement(): LabelRequirement {
    if (this.peek()?.text === "!") {
      this.take();
      return this.checked({ key: this.identifier("key"), operator: "!exists", values: [] });
    }
    const key = this.identifier("key");
    const op = this.peek();
    if (op === undefined || op.text === ",") return this.checked({ key, operator: "exists", values: [] });
    this.take();
    if (op.kind === "id" && (op.text === "in" || op.text === "notin")) {
      return this.checked({ key, operator: op.text, values: this.valueSet() });
    }
    if (op.text === "=" || op.text === "==" || op.text === "!=") {
      const next = this.peek();
      const value = next === undefined || next.text === "," ? "" : this.identifier("value");
      return this.checked({ key, operator: op.text === "!=" ? "!=" : "=", values: [value] });
    }
    if (op.text === ">" || op.text === "<") {
      return this.checked({ key, operator: op.text, values: [this.identifier("value")] });
    }
    return this.fail(`found '${op.text}', expected: in, notin, =, ==, !=, gt, lt`);
  }

  private valueSet(): string[] {
    if (this.take()?.text !== "(") this.fail("expected '(' after in/notin");
    const values: string[] = [];
    let expectValue = true;
    for (;;) {
      const token = this.take();
      if (token === undefined) return this.fail("expected ')' to close the value set");
      if (token.text === ")") {
        if (expectValue && values.length > 0) values.push("");
        return values;
      }
      if (token.text === ",") {
        if (expectValue) values.push("");
        expectValue = true;
      } else if (token.kind === "id" && expectValue) {
        values.push(token.text);
        expectValue = false;
      } else {
        this.fail(`found '${token.text}' in a value set`);
      }
    }
  }

  private checked(requirement: LabelRequirement): LabelRequirement {
    const keyProblem = checkQualifiedName(requirement.key);
    if (keyProblem) this.fail(keyProblem);
    const { operator, values } = requirement;
    if ((operator === "in" || operator === "notin") && values.length === 0) {
      this.fail("for 'in', 'notin' operators, values set can't be empty");
    }
    for (const value of values) {
      const problem =
        operator === ">" || operator === "<"
          ? /^-?\d+$/.test(value)
            ? undefined
            : `for 'gt', 'lt' operators, the value must be an integer: ${JSON.stringify(value)}`
          : checkLabelValue(value);
      if (problem) this.fail(problem);
    }
    return requirement;
  }

  private identifier(what: string): string {
    const token = this.take();
    if (token?.kind !== "id")
      return this.fail(`found '${token?.text ?? "end of string"}', expected: ${what}`);
    return token.text;
  }

  private peek(): Token | undefined {
    return this.tokens[this.pos];
  }

  private take(): Token | undefined {
    return this.tokens[this.pos++];
  }

  private fail(message: string): never {
    throw badRequest(`unable to parse requirement: ${message} (labelSelector ${JSON.stringify(this.input)})`);
  }
}

export function parseLabelSelector(selector: string): LabelRequirement[] {
  return new LabelParser(selector).parse();
}

export function matchesLabels(
  requirements: readonly LabelRequirement[],
  labels: Readonly<Record<string, string>> | undefined,
): boolean {
  return requirements.every(({ key, operator, values }) => {
    const has = labels !== undefined && Object.hasOwn(labels, key);
    const value = has ? labels[key] : undefined;
    switch (operator) {
      case "exists":
        return has;
      case "!exists":
        return !has;
      case "=":
      case "in":
        return has && values.includes(value as string);
      case "!=":
      case "notin":
        return !has || !values.includes(value as string);
      case ">":
      case "<": {
        if (!has || !/^-?\d+$/.test(value as string)) return false;
        const n = Number(value);
        return operator === ">" ? n > Number(values[0]) : n < Number(values[0]);
      }
    }
  });
}

export type FieldName = "metadata.name" | "metadata.namespace";

export interface FieldRequirement {
  readonly field: FieldName;
  readonly operator: "=" | "!=";
  readonly value: string;
}

/** A field selector term on any field (the API server supports more fields for some kinds). */
export interface FieldTerm {
  readonly field: string;
  readonly operator: "=" | "!=";
  readonly value: string;
}

/** Splits on unescaped commas and the first unescaped operator of each term; unescapes values. */
export function parseFieldTerms(selector: string): FieldTerm[] {
  const terms: FieldTerm[] = [];
  for (const term of splitUnescaped(selector)) {
    if (term.trim() === "") continue;
    const match = findOperator(term);
    if (match === undefined) throw badRequest(`invalid selector: '${selector}'; can't understand '${term}'`);
    const field = term.slice(0, match.index).trim();
    const value = unescape(term.slice(match.index + match.op.length), selector);
    terms.push({ field, operator: match.op === "!=" ? "!=" : "=", value });
  }
  return terms;
}

/** `field=value` with the value escaped as parseFieldTerms reads it. */
export function formatFieldTerm(term: FieldTerm): string {
  return `${term.field}${term.operator}${term.value.replace(/[\\,=]/g, (c) => `\\${c}`)}`;
}

/** The store's selectable fields: metadata.name and metadata.namespace. */
export function parseFieldSelector(selector: string): FieldRequirement[] {
  return parseFieldTerms(selector).map(({ field, operator, value }) => {
    if (field !== "metadata.name" && field !== "metadata.namespace") {
      throw badRequest(`field label not supported: ${field}`);
    }
    return { field, operator, value };
  });
}

function splitUnescaped(selector: string): string[] {
  const parts: string[] = [];
  let start = 0;
  for (let i = 0; i < selector.length; i++) {
    if (selector[i] === "\\") i++;
    else if (selector[i] === ",") {
      parts.push(selector.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(selector.slice(start));
  return parts;
}

function findOperator(term: string): { index: number; op: string } | undefined {
  for (let i = 0; i < term.length; i++) {
    if (term[i] === "\\") {
      i++;
      continue;
    }
    for (const op of ["!=", "==", "="]) if (term.startsWith(op, i)) return { index: i, op };
  }
  return undefined;
}

function unescape(value: string, selector: string): string {
  let out = "";
  for (let i = 0; i < value.length; i++) {
    const c = value.charAt(i);
    if (c === "\\") {
      const next = value.charAt(i + 1);
      if (next !== "\\" && next !== "," && next !== "=") {
        throw badRequest(`invalid field selector ${JSON.stringify(selector)}: invalid escape sequence`);
      }
      out += next;
      i++;
    } else if (c === "," || c === "=") {
      throw badRequest(`invalid field selector ${JSON.stringify(selector)}: unescaped '${c}' in a value`);
    } else {
      out += c;
    }
  }
  return out;
}

export function matchesFields(
  requirements: readonly FieldRequirement[],
  metadata: { name?: string | undefined; namespace?: string | undefined },
): boolean {
  return requirements.every(({ field, operator, value }) => {
    const actual = (field === "metadata.name" ? metadata.name : metadata.namespace) ?? "";
    return operator === "=" ? actual === value : actual !== value;
  });
}

/** Which objects a list or watch wants: namespace, label and field selectors combined. */
export interface ObjectFilter {
  readonly namespace?: string | undefined;
  /** True when no selector is set: every object of the namespace matches. */
  readonly everything: boolean;
  matches(object: KubeObject): boolean;
}

export function compileFilter(options: {
  readonly namespace?: string | undefined;
  readonly labelSelector?: string | undefined;
  readonly fieldSelector?: string | undefined;
}): ObjectFilter {
  const labels = parseLabelSelector(options.labelSelector ?? "");
  const fields = parseFieldSelector(options.fieldSelector ?? "");
  const namespace = options.namespace;
  return {
    namespace,
    everything: labels.length === 0 && fields.length === 0,
    matches: (object) =>
      (namespace === undefined || object.metadata.namespace === namespace) &&
      matchesLabels(labels, object.metadata.labels) &&
      matchesFields(fields, object.metadata),
  };
}
