// One problem of an object, at a field path in Kubernetes notation (spec.rules[0].filters[1]).
export interface FieldError {
  /** Path in Kubernetes notation; "" for the object as a whole. */
  readonly field: string;
  readonly message: string;
}

/** Why `pattern` is not a usable regular expression, or undefined when it is. */
export function regexProblem(pattern: string): string | undefined {
  try {
    new RegExp(pattern);
    return undefined;
  } catch (error) {
    return `not a valid regular expression: ${(error as Error).message}`;
  }
}

/** Errors for entries of `values` whose key repeats an earlier one. */
export function duplicateErrors<T>(
  values: readonly T[] | undefined,
  key: (value: T) => string,
  field: (index: number) => string,
  what: string,
  hint = "",
): FieldError[] {
  const seen = new Set<string>();
  const errors: FieldError[] = [];
  values?.forEach((value, i) => {
    const k = key(value);
    if (seen.has(k))
      errors.push({ field: field(i), message: `duplicate ${what} ${JSON.stringify(k)}${hint}` });
    seen.add(k);
  });
  return errors;
}
