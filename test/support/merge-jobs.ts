import { mergeLimits } from '../../server/src/duplicates/merge';
import { holdJobs } from './held-jobs';

/**
 * Until the returned function is called, merges and undos re-point more than `inRequest`
 * references in a background job (the limit lowered), and jobs of `kind` are held running (their
 * code waits). Calling it puts the limit and the job's code back and lets the held jobs go on.
 */
export function holdMergeJobs(kind: 'card-merge' | 'card-unmerge', inRequest: number): () => void {
  const limit = mergeLimits.inRequest;
  mergeLimits.inRequest = inRequest;
  const releaseJobs = holdJobs(kind);
  return () => {
    mergeLimits.inRequest = limit;
    releaseJobs();
  };
}
