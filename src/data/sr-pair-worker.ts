/**
 * Worker-thread entry for {@link SrDataset}: decode a photo, crop and degrade it off the main
 * thread (see sr-dataset.ts for why). The pair's pixel buffers are transferred, not copied.
 */
import { serveRequests } from './worker-pool.js';
import { decodeRgb, makeSrPair, type SrPair, type SrPairRequest } from './sr-dataset.js';

serveRequests<SrPairRequest, SrPair>(async (request) => {
  const pair = makeSrPair(await decodeRgb(request.file, { maxPixels: request.maxPixels }), request.seed, request);
  return { result: pair, transfer: [pair.hr.data.buffer as ArrayBuffer, pair.lr.data.buffer as ArrayBuffer] };
});
