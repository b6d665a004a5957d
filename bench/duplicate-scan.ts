import type { Logger } from 'pino';
import { duplicateScanJob, type ScanResult } from '../server/src/duplicates/scan';
import type { JobContext } from '../server/src/jobs/define';

/** The duplicate scan job's own code over the counterparties, run in this process with a context that only reports its progress. */
export function scanCounterparties(logger: Logger, onProgress: () => void = () => {}): Promise<ScanResult> {
  const context: JobContext<{ typeKeys: string[] }, { done: ScanResult['types'] }> = {
    jobId: 'bench',
    ownerId: null,
    params: { typeKeys: ['counterparty'] },
    resumeFrom: null,
    signal: new AbortController().signal,
    progress: onProgress,
    checkpoint: async () => {},
    logger,
  };
  return duplicateScanJob.run(context);
}
