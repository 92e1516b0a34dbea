import type { Command } from 'commander';
import { trainSr} from '../../train/train-sr.js';
import { SR_TRAIN_OPTIONS } from '../../train/options.js';
import { registerTrainCommand } from '../train-command.js';

export function register(program: Command): void {
  registerTrainCommand(program, {
    name: 'train-sr',
    description: 'train a feed-forward super-resolution network with the feature (ℓfeat) or pixel (ℓpixel) loss (Johnson et al. §4.2)',
    table: SR_TRAIN_OPTIONS,
    train: trainSr,
    maxWarnings: 20,
    skippedNote: (n) => `${n} image(s) were skipped (unreadable, or smaller than the patch)`,
    rate: (r) => `${(r.elapsed / Math.max(1, r.iteration)).toFixed(2)} s/iteration, `,
    extra: (r) => (r.lastVal?.psnr !== undefined ? `; validation PSNR ${r.lastVal.psnr.toFixed(2)} dB (bicubic ${r.lastVal.psnrBicubic?.toFixed(2)} dB)` : ''),
  });
}
