/**
 * Entry of the builds' Worker module (`rnnspn_worker.js` beside `rnnspn.js`): the data-parallel
 * Worker of `DataParallelStep`, which the build points at this file's output.
 *
 * @module
 */
import "../src/train/data_parallel_worker.ts";
