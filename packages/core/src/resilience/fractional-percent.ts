/**
 * Fractional percentages as Envoy expresses them (`envoy.type.v3.FractionalPercent`), and the
 * one way every resilience policy samples them.
 *
 * All sampling goes through a {@link RandomSource} so that tests can be deterministic; the
 * default source is `Math.random`.
 */

/** The denominators Envoy allows, by their proto names. */
export const FractionalPercentDenominator = {
  HUNDRED: 100,
  TEN_THOUSAND: 10_000,
  MILLION: 1_000_000,
} as const;

/** One of the numeric values of {@link FractionalPercentDenominator}. */
export type FractionalPercentDenominatorValue =
  (typeof FractionalPercentDenominator)[keyof typeof FractionalPercentDenominator];

/**
 * A fraction `numerator / denominator`, the shape the xds-client decodes
 * (`FractionalPercent` in `@weft/xds-client` is structurally identical). A numerator above the
 * denominator means 100 %; a negative or non-finite numerator means 0 %.
 */
export interface FractionalPercent {
  readonly numerator: number;
  readonly denominator: FractionalPercentDenominatorValue;
}

/**
 * A source of uniformly distributed numbers in `[0, 1)`, like `Math.random`. Policies take one
 * as an option so tests can script every coin flip.
 */
export type RandomSource = () => number;

/** 100 % (`{ numerator: 100, denominator: 100 }`). */
export const ALWAYS: FractionalPercent = Object.freeze({ numerator: 100, denominator: 100 });
/** 0 % (`{ numerator: 0, denominator: 100 }`). */
export const NEVER: FractionalPercent = Object.freeze({ numerator: 0, denominator: 100 });

/**
 * The probability that `percent` stands for, clamped to `[0, 1]`.
 */
export function fractionOf(percent: FractionalPercent): number {
  const { numerator, denominator } = percent;
  if (!Number.isFinite(numerator) || numerator <= 0) return 0;
  if (numerator >= denominator) return 1;
  return numerator / denominator;
}

/**
 * Converts a percentage written the Istio way (`percentage: { value: 20.5 }`, a double in
 * `[0, 100]`) to a fraction with denominator MILLION, which keeps four decimals like istiod does.
 * Values outside `[0, 100]` are clamped; non-finite values mean 0 %.
 */
export function fromPercentage(value: number): FractionalPercent {
  if (!Number.isFinite(value) || value <= 0) return { numerator: 0, denominator: 1_000_000 };
  const clamped = Math.min(value, 100);
  return { numerator: Math.round(clamped * 10_000), denominator: 1_000_000 };
}

/**
 * Resolves a denominator's proto name (`HUNDRED`, `TEN_THOUSAND`, `MILLION`) to its value;
 * `undefined` for anything else (the caller reports the bad field).
 */
export function parseDenominator(name: string): FractionalPercentDenominatorValue | undefined {
  switch (name) {
    case 'HUNDRED':
      return 100;
    case 'TEN_THOUSAND':
      return 10_000;
    case 'MILLION':
      return 1_000_000;
    default:
      return undefined;
  }
}

/**
 * One Bernoulli trial: true with probability {@link fractionOf}(`percent`). Like Envoy it draws
 * an integer in `[0, denominator)` and compares it with the numerator, so 0 % never and 100 %
 * always hits, whatever the random source returns.
 */
export function isSampled(percent: FractionalPercent, random: RandomSource = Math.random): boolean {
  const { numerator, denominator } = percent;
  if (!(numerator > 0)) return false;
  if (numerator >= denominator) return true;
  return Math.floor(random() * denominator) < numerator;
}
