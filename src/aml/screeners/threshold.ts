// The digital-asset threshold: an operation of at least AML_THRESHOLD_KZT (5,000,000 KZT by default;
// check it against the current law) is reported to the AFM, not held: risk `low` with a `threshold`
// reason that the policy turns into a draft FM-1 (reason 1).
import { formatKzt } from '../../lib/money';
import { result, type Screener } from '../types';

export function createThresholdScreener(thresholdTiyn: bigint): Screener {
  return {
    name: 'threshold',
    async screen(s) {
      if (s.kind !== 'payment' || s.amountTiyn < thresholdTiyn) return result('threshold', 'none');
      return result('threshold', 'low', [
        {
          code: 'threshold',
          message: `an operation of ${formatKzt(s.amountTiyn)} KZT reaches the threshold of ${formatKzt(thresholdTiyn)} KZT`,
        },
      ]);
    },
  };
}
