import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ALWAYS, NEVER, fractionOf, fromPercentage, isSampled, parseDenominator } from './fractional-percent.ts';

describe('fractional percent', () => {
  it('computes fractions for all three denominators, clamped', () => {
    assert.equal(fractionOf({ numerator: 25, denominator: 100 }), 0.25);
    assert.equal(fractionOf({ numerator: 25, denominator: 10_000 }), 0.0025);
    assert.equal(fractionOf({ numerator: 25, denominator: 1_000_000 }), 0.000025);
    assert.equal(fractionOf({ numerator: 250, denominator: 100 }), 1);
    assert.equal(fractionOf({ numerator: -1, denominator: 100 }), 0);
  });
  it('parses denominator names and Istio percentages', () => {
    assert.equal(parseDenominator('TEN_THOUSAND'), 10_000);
    assert.equal(parseDenominator('THOUSAND'), undefined);
    assert.deepEqual(fromPercentage(20.5), { numerator: 205_000, denominator: 1_000_000 });
    assert.deepEqual(fromPercentage(150), { numerator: 1_000_000, denominator: 1_000_000 });
    assert.equal(fromPercentage(Number.NaN).numerator, 0);
  });
  it('samples exactly at the boundaries with a scripted random source', () => {
    const p = { numerator: 3, denominator: 10_000 } as const;
    assert.equal(isSampled(p, () => 2.9999 / 10_000), true);
    assert.equal(isSampled(p, () => 3.0001 / 10_000), false);
    assert.equal(isSampled(ALWAYS, () => 0.999999), true);
    assert.equal(isSampled(NEVER, () => 0), false);
  });
  it('hits the configured rate within ±4 sd over 40,000 draws', () => {
    const p = { numerator: 1, denominator: 100 } as const;
    let hits = 0;
    for (let i = 0; i < 40_000; i++) if (isSampled(p)) hits++;
    // Binomial(40000, 0.01): mean 400, sd 19.9 → ±80.
    assert.ok(Math.abs(hits - 400) < 80, `hits ${hits}`);
  });
});
