import type { Command } from 'commander';
import { trainStyle} from '../../train/train-style.js';
import { STYLE_TRAIN_OPTIONS } from '../../train/options.js';
import { registerTrainCommand } from '../train-command.js';

export function register(program: Command): void {
  registerTrainCommand(program, {
    name: 'train-style',
    description: 'train a feed-forward style network on a folder of photos (Johnson et al. §4.1)',
    table: STYLE_TRAIN_OPTIONS,
    train: trainStyle,
    skippedNote: (n) => `${n} unreadable image(s) were skipped`,
  });
}
