/**
 * Option checks for the library's entry points: a value of the wrong type or range is a
 * RangeError/TypeError that names the entry point and the option (`Adam: option lr must be a
 * finite number > 0, got 'abc'`), never a silent default — and never a libtorch abort.
 */

/** How a value is shown in an error: strings quoted, the rest as JSON would (NaN, Infinity kept). */
export function show(v: unknown): string {
  if (typeof v === 'string') return `'${v}'`;
  if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean' || v === undefined || v === null) return String(v);
  if (Array.isArray(v)) return `[${v.map(show).join(', ')}]`;
  if (typeof v === 'function') return 'a function';
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

/** An options argument: undefined or a plain object whose keys are all known. */
export function checkOptionsObject(who: string, options: unknown, known: readonly string[]): Record<string, unknown> {
  if (options === undefined) return {};
  if (options === null || typeof options !== 'object' || Array.isArray(options)) throw new TypeError(`${who}: options must be an object, got ${show(options)}`);
  const o = options as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    if (!known.includes(k)) throw new TypeError(`${who}: unknown option '${k}' (known: ${known.join(', ')})`);
  }
  return o;
}

export interface NumberRule {
  /** Inclusive lower bound unless `minExclusive`. */
  min?: number;
  minExclusive?: boolean;
  /** Exclusive upper bound (betas < 1). */
  maxExclusive?: number;
  integer?: boolean;
}

function describeRule(r: NumberRule): string {
  const parts = [r.integer ? 'an integer' : 'a finite number'];
  if (r.min !== undefined) parts.push(`${r.minExclusive ? '>' : '≥'} ${r.min}`);
  if (r.maxExclusive !== undefined) parts.push(`${r.min !== undefined ? 'and ' : ''}< ${r.maxExclusive}`);
  return parts.join(' ');
}

/** A number option (`what` names it, e.g. "option lr"); throws RangeError/TypeError naming it. */
export function checkNumber(who: string, what: string, v: unknown, rule: NumberRule = {}): number {
  const bad = (): never => {
    const msg = `${who}: ${what} must be ${describeRule(rule)}, got ${show(v)}`;
    throw typeof v === 'number' ? new RangeError(msg) : new TypeError(msg);
  };
  if (typeof v !== 'number' || !Number.isFinite(v)) return bad();
  if (rule.integer && !Number.isInteger(v)) bad();
  if (rule.min !== undefined && (rule.minExclusive ? !(v > rule.min) : !(v >= rule.min))) bad();
  if (rule.maxExclusive !== undefined && !(v < rule.maxExclusive)) bad();
  return v;
}
