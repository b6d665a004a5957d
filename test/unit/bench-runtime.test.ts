import { expect } from 'chai';
import { belowEngines } from '../../bench/support';

describe('benchmarks: the runtime they measure', () => {
  it('names the runtime package.json wants when the benchmark runs on an older node', () => {
    expect(belowEngines('v20.20.2', '>=24.11.0')).to.equal('>=24.11.0');
    expect(belowEngines('v24.10.9', '>=24.11.0')).to.equal('>=24.11.0');
  });

  it('says nothing on the production runtime or a later one', () => {
    expect(belowEngines('v24.11.0', '>=24.11.0')).to.equal(null);
    expect(belowEngines('v24.21.0', '>=24.11.0')).to.equal(null);
    expect(belowEngines('v25.0.0', '>=24.11.0')).to.equal(null);
  });
});
