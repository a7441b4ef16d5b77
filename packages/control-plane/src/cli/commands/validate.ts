/**
 * `weft validate PATH… [--output text|json]`: analyses Istio config like `istioctl analyze`,
 * prints every finding, exits 1 when any is an error and 0 otherwise.
 */
import { parseArgs } from 'node:util';
import { MeshError } from '@weft/xds-client';
import type { Command } from '../command.ts';
import { formatFinding } from '../../config/finding.ts';
import { validateConfig } from '../../config/validate-config.ts';

const help = `Usage: weft validate PATH… [--output text|json] [--namespace NS] [--domain-suffix SUFFIX]

Reads Istio YAML (files, or directories walked recursively for *.yaml/*.yml) and reports schema
problems and semantic findings with file:line:column, code, resource and field.
Exit status: 0 when there is no error (warnings and infos do not fail), 1 on any error,
2 on a usage mistake.
`;

/** The `validate` command. */
export const validateCommand: Command = {
  name: 'validate',
  summary: 'analyse Istio config like istioctl analyze; exit 1 on any error',
  synopsis: 'PATH… [--output text|json] [--namespace NS] [--domain-suffix SUFFIX]',
  async run(args) {
    let parsed;
    try {
      parsed = parseArgs({
        args,
        allowPositionals: true,
        strict: true,
        options: {
          output: { type: 'string', short: 'o', default: 'text' },
          namespace: { type: 'string', short: 'n' },
          'domain-suffix': { type: 'string' },
          help: { type: 'boolean', short: 'h' },
        },
      });
    } catch (err) {
      throw new MeshError('WEFT_ERR_USAGE', `weft validate: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
    const { values, positionals } = parsed;
    if (values.help) {
      process.stdout.write(help);
      return 0;
    }
    if (values.output !== 'text' && values.output !== 'json') throw new MeshError('WEFT_ERR_USAGE', `weft validate: --output must be text or json (got ${values.output})`);
    if (positionals.length === 0) throw new MeshError('WEFT_ERR_USAGE', 'weft validate: give at least one file or directory');
    const options: { defaultNamespace?: string; domainSuffix?: string } = {};
    if (values.namespace) options.defaultNamespace = values.namespace;
    if (values['domain-suffix']) options.domainSuffix = values['domain-suffix'];
    const { findings } = await validateConfig(positionals, options);
    const errors = findings.filter((f) => f.level === 'error').length;
    const warnings = findings.filter((f) => f.level === 'warning').length;
    const infos = findings.length - errors - warnings;
    if (values.output === 'json') {
      process.stdout.write(`${JSON.stringify({ valid: errors === 0, errors, warnings, infos, findings }, null, 2)}\n`);
    } else {
      for (const f of findings) process.stdout.write(`${formatFinding(f)}\n`);
      const summary = errors === 0 ? `✔ no errors` : `✘ ${errors} error(s)`;
      process.stdout.write(`${summary}, ${warnings} warning(s), ${infos} info(s) in ${positionals.join(' ')}\n`);
    }
    return errors > 0 ? 1 : 0;
  },
};
