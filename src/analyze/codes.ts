// The problems `meshplane analyze` reports, one stable code each. The README's table is this
// table (codes.test.ts keeps them equal); a code is never reused for another problem.

export type Severity = "error" | "warning";

export interface CodeSpec {
  readonly code: string;
  readonly severity: Severity;
  /** What went wrong, in a few words. */
  readonly title: string;
  /** What to do about it, in general; a finding's message says what exactly. */
  readonly fix: string;
}

export const codeSpecs = [
  {
    code: "MP0101",
    severity: "error",
    title: "file cannot be read or parsed",
    fix: "fix the YAML at the line given; the file's last good objects stay in force meanwhile",
  },
  {
    code: "MP0102",
    severity: "error",
    title: "input limit exceeded",
    fix: "split the file or object, or raise the limit named (`meshplane serve --limit NAME=VALUE`)",
  },
  {
    code: "MP0103",
    severity: "error",
    title: "object defined twice",
    fix: "keep one definition; the first in file order is in force",
  },
  {
    code: "MP0104",
    severity: "error",
    title: "unsupported apiVersion or kind",
    fix: "use one of the kinds listed in the message",
  },
  {
    code: "MP0105",
    severity: "error",
    title: "invalid field",
    fix: "correct the field as the message says; the object is not applied",
  },
  {
    code: "MP0106",
    severity: "error",
    title: "object not written to the store",
    fix: "read the API's reason in the message; the write is retried on the next change",
  },
  {
    code: "MP0201",
    severity: "error",
    title: "backend not found",
    fix: "create the Service (and port) the backendRef names, or fix the backendRef",
  },
  {
    code: "MP0202",
    severity: "error",
    title: "backend of an unsupported kind",
    fix: 'reference a core Service (group "", kind Service)',
  },
  {
    code: "MP0203",
    severity: "error",
    title: "route attaches to no parent",
    fix: "point parentRefs at an existing Service and port",
  },
  {
    code: "MP0204",
    severity: "error",
    title: "policy target not found",
    fix: "create the Service (or port name) the targetRef names, or fix the targetRef",
  },
  {
    code: "MP0205",
    severity: "error",
    title: "conflicts with an older object",
    fix: "merge the two objects or make them target different things; the older one wins",
  },
  {
    code: "MP0206",
    severity: "error",
    title: "unsupported value",
    fix: "change the value as the message says",
  },
  {
    code: "MP0207",
    severity: "warning",
    title: "not supported by one data-plane flavour",
    fix: "served to the other flavour; the message says what this flavour's proxies do instead",
  },
  {
    code: "MP0208",
    severity: "error",
    title: "incompatible filters",
    fix: "remove one of the filters named in the message",
  },
  {
    code: "MP0209",
    severity: "error",
    title: "translation failed",
    fix: "a meshplane fault on this object: report it with the message; the resource is left out",
  },
  {
    code: "MP0299",
    severity: "error",
    title: "other mesh problem",
    fix: "read the reason and message",
  },
  {
    code: "MP0301",
    severity: "error",
    title: "rejected by proxies (NACK)",
    fix: "fix the object so the proxy accepts it; the proxies keep their last good version meanwhile",
  },
] as const satisfies readonly CodeSpec[];

export type Code = (typeof codeSpecs)[number]["code"];

export const codeSpec = (code: Code): CodeSpec => codeSpecs.find((spec) => spec.code === code) as CodeSpec;
