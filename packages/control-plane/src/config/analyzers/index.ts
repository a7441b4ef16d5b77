/** Every analyzer `weft validate` and the config store run, in the order they report. */
import type { Analyzer } from '../analysis-context.ts';
import { conflictingVirtualServiceAnalyzer, duplicateServiceEntryHostAnalyzer, sidecarSelectorAnalyzer } from './conflicts.ts';
import { envoyFilterAnalyzer } from './envoy-filter.ts';
import { gatewayHostAnalyzer } from './gateway-hosts.ts';
import { gatewayReferenceAnalyzer } from './gateways.ts';
import { destinationHostAnalyzer } from './hosts.ts';
import { istioRulesAnalyzer } from './istio-rules.ts';
import { regexAnalyzer } from './regex.ts';
import { selectorAnalyzer } from './selectors.ts';
import { subsetSelectsNothingAnalyzer, undefinedSubsetAnalyzer } from './subsets.ts';
import { unsupportedFeatureAnalyzer } from './unsupported.ts';
import { valueAnalyzer } from './values.ts';
import { zeroWeightAnalyzer } from './weights.ts';
import { workloadGroupProbeAnalyzer } from './workload-groups.ts';

/** The analyzers, each a pure function of the analysis input. */
export const analyzers: readonly Analyzer[] = [
  undefinedSubsetAnalyzer,
  subsetSelectsNothingAnalyzer,
  destinationHostAnalyzer,
  gatewayReferenceAnalyzer,
  gatewayHostAnalyzer,
  conflictingVirtualServiceAnalyzer,
  sidecarSelectorAnalyzer,
  duplicateServiceEntryHostAnalyzer,
  zeroWeightAnalyzer,
  regexAnalyzer,
  valueAnalyzer,
  istioRulesAnalyzer,
  envoyFilterAnalyzer,
  unsupportedFeatureAnalyzer,
  selectorAnalyzer,
  workloadGroupProbeAnalyzer,
];
