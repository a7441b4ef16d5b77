import { test } from 'node:test';
import assert from 'node:assert/strict';
import { duplicateSeries, parsePrometheusText, select, sumBy } from './prometheus-scrape.ts';

const TEXT = `# HELP istio_requests_total Total requests handled
# TYPE istio_requests_total counter
istio_requests_total{reporter="source",destination_service="ratings.shop.svc.cluster.local",response_code="200"} 17
istio_requests_total{reporter="source",destination_service="ratings.shop.svc.cluster.local",response_code="503"} 2
istio_requests_total{reporter="destination",source_workload="frontend",response_code="200",note="a \\"quoted\\" \\\\ value"} 5
istio_request_duration_milliseconds_bucket{reporter="source",le="+Inf"} 19
up 1
not a sample line
`;

test('parses names, labels (with escapes) and values; skips comments and junk', () => {
  const samples = parsePrometheusText(TEXT);
  assert.equal(samples.length, 5);
  assert.deepEqual(samples[4], { name: 'up', labels: {}, value: 1 });
  assert.equal(samples[2]?.labels['note'], 'a "quoted" \\ value');
  assert.equal(samples[3]?.labels['le'], '+Inf');
});

test('select matches every given label; sumBy adds values per label value', () => {
  const samples = parsePrometheusText(TEXT);
  const source = select(samples, 'istio_requests_total', { reporter: 'source', destination_service: 'ratings.shop.svc.cluster.local' });
  assert.deepEqual([...sumBy(source, 'response_code')], [['200', 17], ['503', 2]]);
  assert.equal(select(samples, 'istio_requests_total', { reporter: 'nobody' }).length, 0);
});

test('duplicateSeries counts a label set repeated for the same metric, whatever the label order', () => {
  assert.equal(duplicateSeries(parsePrometheusText(TEXT)), 0);
  const twice = parsePrometheusText('m{a="1",b="2"} 1\nm{b="2",a="1"} 1\nm{a="1",b="3"} 1\nn{a="1",b="2"} 1\n');
  assert.equal(duplicateSeries(twice), 1);
});
