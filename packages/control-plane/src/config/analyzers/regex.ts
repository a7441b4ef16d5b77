/**
 * Regular expressions in VirtualService matches must compile under RE2, the engine Envoy and
 * Weft's data plane use. JavaScript accepts lookbehind, lookahead and backreferences; RE2
 * rejects them, so a config that "works in a JS test" would be NACKed. Reported as IST0122,
 * at error level (Istio reports a warning, but the route could not be applied).
 */
import { RE2JS } from 're2js';
import { FindingCode } from '../finding.ts';
import { reportPerObject, type Analyzer } from '../analysis-context.ts';

/** The reason RE2 rejects `pattern`, or undefined when it compiles. */
export function re2Problem(pattern: string): string | undefined {
  try {
    RE2JS.compile(pattern);
    return undefined;
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    if (/\(\?<[=!]/.test(pattern)) return `lookbehind is not supported by RE2 (${msg})`;
    if (/\(\?[=!]/.test(pattern)) return `lookahead is not supported by RE2 (${msg})`;
    if (/\\[1-9]/.test(pattern)) return `backreferences are not supported by RE2 (${msg})`;
    return msg;
  }
}

type StringMatch = { regex?: string } | undefined;

/** IST0122 over uri, scheme, method, authority, headers, withoutHeaders and queryParams regexes. */
export const regexAnalyzer: Analyzer = {
  name: 'regex',
  run(input, report) {
    for (const vs of input.virtualServices) reportPerObject(regexAnalyzer, vs, report, (report) => {
      (vs.spec.http ?? []).forEach((rule, i) => {
        (rule.match ?? []).forEach((m, j) => {
          const base = ['spec', 'http', i, 'match', j];
          const check = (sm: StringMatch, path: (string | number)[]): void => {
            if (sm?.regex === undefined) return;
            const problem = re2Problem(sm.regex);
            if (problem) report('error', FindingCode.invalidRegexp, vs, [...path, 'regex'], `${JSON.stringify(sm.regex)} is not a valid RE2 regular expression: ${problem}`);
          };
          for (const key of ['uri', 'scheme', 'method', 'authority'] as const) check(m[key] as StringMatch, [...base, key]);
          for (const key of ['headers', 'withoutHeaders', 'queryParams'] as const) {
            for (const [name, sm] of Object.entries((m[key] ?? {}) as Record<string, StringMatch>)) check(sm, [...base, key, name]);
          }
        });
      });
    });
  },
};
