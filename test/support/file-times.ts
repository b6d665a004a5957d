/**
 * Mocha's reporter (.mocharc.json `reporter`): the spec reporter's output, then the slowest test
 * files with their wall seconds — hooks (servers, databases, Chromium) included, which the per-test
 * times leave out — so a slow CI run says where its time went.
 */
import Mocha from 'mocha';

const SHOWN = 30;

export default class FileTimes extends Mocha.reporters.Spec {
  constructor(runner: Mocha.Runner, options?: Mocha.MochaOptions) {
    super(runner, options);
    const seconds = new Map<string, number>();
    const started = new Map<Mocha.Suite, number>();
    // A file's top-level suites. With --parallel a worker's events reach this process only once its
    // file has run, without the file's name: nothing is timed then.
    const topLevel = (suite: Mocha.Suite) => Boolean(suite.file && suite.parent?.root);
    runner.on(Mocha.Runner.constants.EVENT_SUITE_BEGIN, (suite: Mocha.Suite) => {
      if (topLevel(suite)) started.set(suite, performance.now());
    });
    runner.on(Mocha.Runner.constants.EVENT_SUITE_END, (suite: Mocha.Suite) => {
      const start = started.get(suite);
      if (start === undefined || !suite.file) return;
      const file = suite.file.replace(`${process.cwd()}/`, '');
      seconds.set(file, (seconds.get(file) ?? 0) + (performance.now() - start) / 1000);
    });
    runner.once(Mocha.Runner.constants.EVENT_RUN_END, () => {
      if (seconds.size === 0) return;
      const slowest = [...seconds].sort((a, b) => b[1] - a[1]).slice(0, SHOWN);
      const total = [...seconds.values()].reduce((sum, value) => sum + value, 0);
      console.log(`\n  The ${slowest.length} slowest of ${seconds.size} files (${total.toFixed(0)} s in all, hooks included):`);
      for (const [file, spent] of slowest) console.log(`  ${spent.toFixed(1).padStart(7)} s  ${file}`);
    });
  }
}
