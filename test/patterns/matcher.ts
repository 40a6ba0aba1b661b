/**
 * A small EventBridge event-pattern matcher, for tests only.
 *
 * AWS publishes no maintained JavaScript matcher; the reference implementation is the Java
 * library aws/event-ruler. This file follows the Amazon EventBridge User Guide pages
 * "eb-event-patterns", "eb-create-pattern", "eb-event-patterns-arrays",
 * "eb-event-patterns-null-values" and "eb-create-pattern-operators", and, where the guide is
 * silent, event-ruler (README.md, JsonRuleCompiler.java, Event.java, ACFinder.java,
 * ByteMachine.java). Citations below name the page or file.
 *
 * Supported: exact strings, numbers, booleans and null; `prefix`; `suffix`;
 * `equals-ignore-case`; `wildcard`; `anything-but` (a string, a number, a list of only strings
 * or only numbers, or `{ "prefix": "..." }`); `exists`; `$or`; nested objects.
 * Anything else (`numeric`, `cidr`, `prefix`/`suffix` with `equals-ignore-case`, `anything-but`
 * with `suffix`/`equals-ignore-case`/`wildcard`, ...) throws an `EventPatternError`: the
 * matcher never answers `false` for syntax it does not understand. Nor does it model
 * EventBridge's limit on wildcard "complexity" (a rule AWS may reject as too complex is
 * accepted here).
 *
 * Model (event-ruler, Event.java): the event is flattened into leaves, each a path of field
 * names, a scalar value (string, number, boolean or null) and the array elements it sits in.
 * Arrays contribute one leaf per scalar element and descend into object/array elements; an
 * empty array or empty object contributes no leaf. A pattern is compiled into one or more
 * branches (one per `$or` alternative, merged with its sibling fields), each a set of
 * leaf paths with the values allowed there. A branch matches when every one of its paths is
 * matched by some leaf (or, for `exists: false`, by the absence of any leaf), with all the
 * chosen leaves "array-consistent": event-ruler's README, "JSON Array Matching", says the
 * matcher "will refuse to recognize any match in which any two fields are within JSON objects
 * that are in different elements of the same array".
 */

/** Thrown for a pattern (or event) this matcher does not accept. */
export class EventPatternError extends Error {
  override readonly name = 'EventPatternError';
}

type Scalar = string | number | boolean | null;

/** Array id -> element index, for every array of objects/arrays a leaf sits inside. */
type Membership = ReadonlyMap<number, number>;

interface Leaf {
  readonly value: Scalar;
  readonly membership: Membership;
}

type Matcher =
  | { readonly kind: 'exact'; readonly value: Scalar }
  | { readonly kind: 'prefix'; readonly value: string }
  | { readonly kind: 'suffix'; readonly value: string }
  | { readonly kind: 'equals-ignore-case'; readonly value: string }
  /** The literal text between the `*` of a wildcard pattern: one more part than wildcards. */
  | { readonly kind: 'wildcard'; readonly parts: readonly string[] }
  | { readonly kind: 'anything-but'; readonly values: readonly (string | number)[] }
  | { readonly kind: 'anything-but-prefix'; readonly value: string }
  | { readonly kind: 'exists'; readonly value: boolean };

interface FieldRule {
  readonly where: string;
  readonly matchers: readonly Matcher[];
}

/** One `$or`-free alternative: leaf path key -> allowed values. */
type Branch = ReadonlyMap<string, FieldRule>;

/**
 * Field names that may not be used inside `$or` (event-ruler Constants.java,
 * RESERVED_FIELD_NAMES_IN_OR_RELATIONSHIP; JsonRuleCompiler rejects them there).
 */
const RESERVED_IN_OR = new Set([
  'exactly',
  'equals-ignore-case',
  'prefix',
  'suffix',
  'anything-but',
  'exists',
  'wildcard',
  'numeric',
  'cidr',
  '=',
  '<',
  '<=',
  '>',
  '>=',
  'regex',
  'not-wildcard',
  'not-equals-ignore-case',
  'date-after',
  'date-on-or-after',
  'date-before',
  'date-on-or-before',
  'in-date-range',
  'ip-address-in-range',
  'ip-address-not-in-range',
]);

/** Operators EventBridge has but this matcher deliberately does not implement. */
const KNOWN_UNSUPPORTED = new Set(['numeric', 'cidr', 'exactly']);

/**
 * Does `event` match the EventBridge `pattern`? Both are parsed JSON (plain objects, arrays,
 * strings, finite numbers, booleans, null). Throws `EventPatternError` for a pattern that is
 * invalid or uses syntax this matcher does not support, and for an event that is not JSON.
 */
export function matches(pattern: unknown, event: unknown): boolean {
  const branches = compilePattern(pattern);
  const leaves = flattenEvent(event);
  return branches.some((branch) => branchMatches(branch, leaves));
}

// ---------------------------------------------------------------------------------------------
// Pattern compilation
// ---------------------------------------------------------------------------------------------

function compilePattern(pattern: unknown): Branch[] {
  if (!isPlainObject(pattern)) {
    throw new EventPatternError(`The pattern must be a JSON object, got ${describe(pattern)}`);
  }
  return compileObject(pattern, [], '(pattern)', false);
}

/**
 * Compiles an object of the pattern at `path`. Fields are ANDed; a `$or` array multiplies the
 * branches (event-ruler JsonRuleCompiler.parseIntoOrRelationship: each alternative is a copy
 * of the rule so far plus that alternative's fields; later sibling fields are added to all).
 */
function compileObject(
  object: Record<string, unknown>,
  path: readonly string[],
  where: string,
  insideOr: boolean,
): Branch[] {
  const entries = Object.entries(object);
  if (entries.length === 0) {
    // JsonRuleCompiler: "Empty objects are not allowed".
    throw new EventPatternError(`${where}: empty objects are not allowed in a pattern`);
  }
  let branches: Branch[] = [new Map()];
  for (const [key, value] of entries) {
    const at = `${where}.${key}`;
    let alternatives: Branch[];
    if (key === '$or') {
      alternatives = compileOr(value, path, at);
    } else {
      if (insideOr && RESERVED_IN_OR.has(key)) {
        throw new EventPatternError(
          `${at}: "${key}" is an operator name and cannot be a field name inside $or ` +
            `(did you forget the [ ] around an operator?)`,
        );
      }
      const childPath = [...path, key];
      if (Array.isArray(value)) {
        alternatives = [
          new Map([[pathKey(childPath), { where: at, matchers: compileLeaf(value, at) }]]),
        ];
      } else if (isPlainObject(value)) {
        alternatives = compileObject(value, childPath, at, insideOr);
      } else {
        // JsonRuleCompiler: "\"%s\" must be an object or an array".
        const hint = RESERVED_IN_OR.has(key)
          ? ` (an operator goes inside [ ]: [{"${key}": ...}])`
          : '';
        throw new EventPatternError(
          `${at}: must be an object or an array of values, got ${describe(value)}${hint}`,
        );
      }
    }
    branches = crossMerge(branches, alternatives, at);
  }
  return branches;
}

function compileOr(value: unknown, path: readonly string[], where: string): Branch[] {
  // JsonRuleCompiler: "It must be an Array followed with $or.", "Only JSON object is allowed in
  // array of $or relationship.", "There must have at least 2 Objects in $or relationship."
  if (!Array.isArray(value)) {
    throw new EventPatternError(`${where}: $or must be an array of objects`);
  }
  if (value.length < 2) {
    throw new EventPatternError(`${where}: $or needs at least 2 alternatives`);
  }
  return value.flatMap((alternative: unknown, index) => {
    const at = `${where}[${index}]`;
    if (!isPlainObject(alternative)) {
      throw new EventPatternError(`${at}: each $or alternative must be an object`);
    }
    return compileObject(alternative, path, at, true);
  });
}

/** Every combination of a branch from `left` with one from `right`. */
function crossMerge(left: readonly Branch[], right: readonly Branch[], where: string): Branch[] {
  const result: Branch[] = [];
  for (const a of left) {
    for (const b of right) {
      const merged = new Map(a);
      for (const [key, rule] of b) {
        const existing = merged.get(key);
        if (existing !== undefined) {
          // event-ruler silently lets whichever comes later win; EventBridge documents nothing.
          throw new EventPatternError(
            `${where}: the field ${existing.where} is also given as ${rule.where}; ` +
              'a field named both beside and inside $or is not supported',
          );
        }
        merged.set(key, rule);
      }
      result.push(merged);
    }
  }
  return result;
}

function compileLeaf(values: readonly unknown[], where: string): Matcher[] {
  if (values.length === 0) {
    // JsonRuleCompiler: "Empty arrays are not allowed".
    throw new EventPatternError(`${where}: empty arrays are not allowed in a pattern`);
  }
  return values.map((value, index) => compileValue(value, `${where}[${index}]`));
}

function compileValue(value: unknown, where: string): Matcher {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') {
    return { kind: 'exact', value };
  }
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) {
      throw new EventPatternError(`${where}: ${value} is not a JSON number`);
    }
    return { kind: 'exact', value };
  }
  if (Array.isArray(value)) {
    throw new EventPatternError(`${where}: nested arrays are not allowed in a pattern`);
  }
  if (!isPlainObject(value)) {
    throw new EventPatternError(`${where}: ${describe(value)} is not a JSON value`);
  }
  const keys = Object.keys(value);
  const [operator] = keys;
  if (operator === undefined || keys.length !== 1) {
    throw new EventPatternError(
      `${where}: an operator object must have exactly one key, got ${JSON.stringify(keys)}`,
    );
  }
  const argument = value[operator];
  const at = `${where}.${operator}`;
  switch (operator) {
    case 'prefix':
    case 'suffix':
      if (isPlainObject(argument) && 'equals-ignore-case' in argument) {
        throw new EventPatternError(
          `${at}: {"${operator}": {"equals-ignore-case": ...}} is not supported by this matcher`,
        );
      }
      return { kind: operator, value: requireString(argument, at) };
    case 'equals-ignore-case':
      return { kind: 'equals-ignore-case', value: requireString(argument, at) };
    case 'wildcard':
      return { kind: 'wildcard', parts: parseWildcard(requireString(argument, at), at) };
    case 'anything-but':
      return compileAnythingBut(argument, at);
    case 'exists':
      if (typeof argument !== 'boolean') {
        // JsonRuleCompiler: "exists match pattern must be either true or false."
        throw new EventPatternError(`${at}: must be true or false, got ${describe(argument)}`);
      }
      return { kind: 'exists', value: argument };
    default:
      if (KNOWN_UNSUPPORTED.has(operator)) {
        throw new EventPatternError(
          `${at}: the "${operator}" operator is not supported by this matcher`,
        );
      }
      throw new EventPatternError(`${at}: unknown operator "${operator}"`);
  }
}

/**
 * `anything-but` takes a string, a number, a non-empty list of only strings or only numbers,
 * or `{ "prefix": "<non-empty string>" }` (eb-create-pattern-operators; JsonRuleCompiler:
 * "Inside anything but list, either all values are number or string, mixed type is not
 * supported", "Inside anything-but list, start|null|boolean is not supported.", "Null
 * prefix/suffix not allowed").
 */
function compileAnythingBut(argument: unknown, where: string): Matcher {
  if (typeof argument === 'string' || isFiniteNumber(argument)) {
    return { kind: 'anything-but', values: [argument] };
  }
  if (Array.isArray(argument)) {
    const values: readonly unknown[] = argument;
    const strings = values.filter((v): v is string => typeof v === 'string');
    const numbers = values.filter(isFiniteNumber);
    if (values.length === 0 || (strings.length < values.length && numbers.length < values.length)) {
      throw new EventPatternError(
        `${where}: the list must be non-empty and hold only strings or only numbers`,
      );
    }
    return { kind: 'anything-but', values: strings.length > 0 ? strings : numbers };
  }
  if (isPlainObject(argument)) {
    const keys = Object.keys(argument);
    const [inner] = keys;
    if (inner === 'prefix' && keys.length === 1) {
      const prefix = requireString(argument[inner], `${where}.prefix`);
      if (prefix === '') {
        throw new EventPatternError(`${where}.prefix: the prefix must not be empty`);
      }
      return { kind: 'anything-but-prefix', value: prefix };
    }
    throw new EventPatternError(
      `${where}: {"anything-but": ${JSON.stringify(argument)}} is not supported by this matcher ` +
        '(only a string, a number, a list of strings or numbers, or {"prefix": "..."})',
    );
  }
  throw new EventPatternError(
    `${where}: must be a string, a number, a list, or {"prefix": ...}, got ${describe(argument)}`,
  );
}

/**
 * Splits a wildcard pattern into the literal parts around its `*`s (EventBridge user guide,
 * eb-create-pattern-operators, "Wildcard matching"; event-ruler README, "Wildcard matching", and
 * input/WildcardParser.java): `*` stands for any run of characters, none included; `\*` is a
 * literal asterisk and `\\` a literal backslash; a backslash before anything else (or at the
 * end) is an error ("Invalid escape character"), and so is `**` ("Consecutive wildcard
 * characters"). An escaped asterisk next to a wildcard (`\**`) is allowed.
 */
function parseWildcard(pattern: string, where: string): string[] {
  const parts: string[] = [];
  let literal = '';
  for (let i = 0; i < pattern.length; i++) {
    const char = pattern.charAt(i);
    if (char === '*') {
      if (pattern[i + 1] === '*') {
        throw new EventPatternError(
          `${where}: consecutive wildcard characters at position ${i} are not allowed`,
        );
      }
      parts.push(literal);
      literal = '';
    } else if (char === '\\') {
      const next = pattern[i + 1];
      if (next !== '*' && next !== '\\') {
        throw new EventPatternError(
          `${where}: invalid escape character at position ${i} ` +
            '(a backslash may only escape * or another backslash)',
        );
      }
      literal += next;
      i++;
    } else {
      literal += char;
    }
  }
  parts.push(literal);
  return parts;
}

/**
 * Does `value` match the wildcard pattern split into `parts`? The first part must start it, the
 * last must end it, and the ones between must appear in order without overlapping; taking the
 * leftmost occurrence of each middle part is enough, as a `*` can absorb anything.
 */
function wildcardMatches(parts: readonly string[], value: string): boolean {
  const [first = '', ...rest] = parts;
  const last = rest.pop();
  if (last === undefined) return value === first; // no wildcard: an exact match
  if (value.length < first.length + last.length) return false;
  if (!value.startsWith(first) || !value.endsWith(last)) return false;
  const end = value.length - last.length;
  let position = first.length;
  for (const part of rest) {
    const found = value.indexOf(part, position);
    if (found === -1 || found + part.length > end) return false;
    position = found + part.length;
  }
  return true;
}

function requireString(value: unknown, where: string): string {
  if (typeof value !== 'string') {
    throw new EventPatternError(`${where}: must be a string, got ${describe(value)}`);
  }
  return value;
}

// ---------------------------------------------------------------------------------------------
// Event flattening (event-ruler Event.java, loadObject / loadArray)
// ---------------------------------------------------------------------------------------------

function flattenEvent(event: unknown): ReadonlyMap<string, readonly Leaf[]> {
  if (!isPlainObject(event)) {
    // Event.java: "Event must be a JSON object".
    throw new EventPatternError(`The event must be a JSON object, got ${describe(event)}`);
  }
  const leaves = new Map<string, Leaf[]>();
  let arrayCount = 0;

  const addLeaf = (path: readonly string[], value: Scalar, membership: Membership): void => {
    const key = pathKey(path);
    const list = leaves.get(key) ?? [];
    list.push({ value, membership });
    leaves.set(key, list);
  };

  const visitValue = (
    value: unknown,
    path: readonly string[],
    membership: Membership,
    isArrayElement: boolean,
  ): void => {
    if (Array.isArray(value)) {
      visitArray(value, path, membership);
    } else if (isPlainObject(value)) {
      visitObject(value, path, membership);
    } else if (isScalar(value)) {
      addLeaf(path, value, membership);
    } else if (value === undefined && !isArrayElement) {
      // An object property set to undefined is absent, as JSON.stringify would make it.
    } else {
      throw new EventPatternError(
        `The event holds a non-JSON value at ${path.join('.') || '(event)'}: ${describe(value)}`,
      );
    }
  };

  const visitObject = (
    object: Record<string, unknown>,
    path: readonly string[],
    membership: Membership,
  ): void => {
    for (const [key, value] of Object.entries(object)) {
      visitValue(value, [...path, key], membership, false);
    }
  };

  const visitArray = (
    array: readonly unknown[],
    path: readonly string[],
    membership: Membership,
  ): void => {
    const arrayId = arrayCount++;
    array.forEach((element, index) => {
      // Event.java records membership only for object and array elements; a scalar element
      // is a leaf at the array's own path.
      const inner =
        Array.isArray(element) || isPlainObject(element)
          ? new Map([...membership, [arrayId, index]])
          : membership;
      visitValue(element, path, inner, true);
    });
  };

  visitObject(event, [], new Map());
  return leaves;
}

// ---------------------------------------------------------------------------------------------
// Matching
// ---------------------------------------------------------------------------------------------

/**
 * Looks for an array-consistent choice of one matching leaf per field. A field that allows
 * `exists: false` may instead be satisfied by absence, checked once all other choices are made:
 * absent means no leaf at that path is consistent with the chosen leaves (event-ruler
 * NameState.getNameTransitions: "we should only consider the field who doesn't violate array
 * consistency").
 */
function branchMatches(branch: Branch, leaves: ReadonlyMap<string, readonly Leaf[]>): boolean {
  const fields = [...branch.entries()];

  const isAbsent = (key: string, membership: Membership): boolean =>
    !(leaves.get(key) ?? []).some((leaf) => mergeMembership(membership, leaf.membership) !== null);

  const search = (
    index: number,
    membership: Membership,
    mustBeAbsent: readonly string[],
  ): boolean => {
    const field = fields[index];
    if (field === undefined) {
      return mustBeAbsent.every((key) => isAbsent(key, membership));
    }
    const [key, rule] = field;
    for (const leaf of leaves.get(key) ?? []) {
      const merged = mergeMembership(membership, leaf.membership);
      if (
        merged !== null &&
        rule.matchers.some((matcher) => valueMatches(matcher, leaf.value)) &&
        search(index + 1, merged, mustBeAbsent)
      ) {
        return true;
      }
    }
    const allowsAbsence = rule.matchers.some((m) => m.kind === 'exists' && !m.value);
    return allowsAbsence && search(index + 1, membership, [...mustBeAbsent, key]);
  };

  return search(0, new Map(), []);
}

/** Does one present leaf value satisfy one matcher? (Absence is handled by the caller.) */
function valueMatches(matcher: Matcher, value: Scalar): boolean {
  switch (matcher.kind) {
    case 'exact':
      // Strict equality: the string "null" is not null, "300" is not 300, "true" is not true.
      // Numbers compare by value, so 300 matches 300.0 (see the test file for the sources).
      return value === matcher.value;
    case 'prefix':
      // "You can use prefix matching for string values." (eb-create-pattern-operators)
      return typeof value === 'string' && value.startsWith(matcher.value);
    case 'suffix':
      return typeof value === 'string' && value.endsWith(matcher.value);
    case 'equals-ignore-case':
      return typeof value === 'string' && equalsIgnoreCase(value, matcher.value);
    case 'wildcard':
      // "Wildcard matches only work on string-valued fields." (event-ruler README)
      return typeof value === 'string' && wildcardMatches(matcher.parts, value);
    case 'anything-but':
      // ByteMachine.java: "For anything-but patterns, we assume they've matched unless we can
      // prove they didn't." Any present leaf value other than an excluded one matches,
      // including values of another type (null, booleans, numbers vs a string list).
      return !matcher.values.some((excluded) => excluded === value);
    case 'anything-but-prefix':
      return !(typeof value === 'string' && value.startsWith(matcher.value));
    case 'exists':
      // `exists: true` matches any leaf, null included; `exists: false` never matches a leaf.
      return matcher.value;
  }
}

function equalsIgnoreCase(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase() || a.toUpperCase() === b.toUpperCase();
}

/** The union of two memberships, or null if they pin the same array to different elements. */
function mergeMembership(a: Membership, b: Membership): Membership | null {
  if (b.size === 0) return a;
  if (a.size === 0) return b;
  const merged = new Map(a);
  for (const [arrayId, index] of b) {
    const existing = merged.get(arrayId);
    if (existing !== undefined && existing !== index) return null;
    merged.set(arrayId, index);
  }
  return merged;
}

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/**
 * Paths are compared as lists of names, so `{"a.b": ...}` and `{"a": {"b": ...}}` stay distinct.
 * (event-ruler joins names with "." and so conflates them; its README says that "should not be
 * relied upon".)
 */
function pathKey(path: readonly string[]): string {
  return JSON.stringify(path);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

function isFiniteNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

function isScalar(value: unknown): value is Scalar {
  return (
    value === null ||
    typeof value === 'string' ||
    typeof value === 'boolean' ||
    isFiniteNumber(value)
  );
}

function describe(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (typeof value === 'number') return String(value);
  if (typeof value === 'bigint') return `${value.toString()}n`;
  if (typeof value === 'function' || typeof value === 'symbol') return typeof value;
  if (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    !isPlainObject(value)
  ) {
    return Object.prototype.toString.call(value);
  }
  try {
    return JSON.stringify(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}
