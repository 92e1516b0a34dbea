/**
 * The shape every training command shares: options generated from the task's option table,
 * Ctrl-C wired to the run's AbortSignal, skipped images warned about, and a closing line.
 */
import type { Command } from 'commander';
import type { DriverHooks, TrainModelResult } from '../train/driver.js';
import type { OptionTable, OptionValues } from '../train/options.js';
import { addOptionTable, tableValues, withInterrupt } from './options.js';

export interface TrainCommand<T extends OptionTable> {
  name: string;
  description: string;
  table: T;
  /** The library entry; its options type must accept every option of the table (checked at compile time). */
  train: (options: OptionValues<T> & DriverHooks) => Promise<TrainModelResult>;
  /** Skipped images warned about one by one (the rest are only counted). */
  maxWarnings?: number;
  /** The closing count of skipped images. */
  skippedNote: (count: number) => string;
  /** Figures of a finished run, in the closing line's parentheses after img/s. */
  rate?: (r: TrainModelResult) => string;
  /** Text after the parentheses (e.g. the validation PSNR). */
  extra?: (r: TrainModelResult) => string;
}

export function registerTrainCommand<T extends OptionTable>(program: Command, c: TrainCommand<T>): void {
  const cmd = program.command(c.name).description(c.description);
  addOptionTable(cmd, c.table).action(async (o: Record<string, unknown>) => {
    await withInterrupt(async (signal) => {
      let skipped = 0;
      const r = await c.train({
        ...tableValues(c.table, o),
        signal,
        onSkip: (file, reason) => {
          skipped++;
          if (skipped <= (c.maxWarnings ?? Infinity)) console.warn(`warning: skipping ${file}: ${reason}`);
        },
        log: (m) => console.error(m),
      });
      if (skipped) console.warn(c.skippedNote(skipped));
      const wait = r.dataWaitFraction !== undefined ? `, waited on data ${(100 * r.dataWaitFraction).toFixed(1)}% of the time` : '';
      console.log(
        r.interrupted
          ? `interrupted at iteration ${r.iteration}; checkpoint saved to ${r.checkpoint} (continue with --resume)`
          : `finished ${r.iteration} iterations in ${(r.elapsed / 60).toFixed(1)} min (${c.rate?.(r) ?? ''}${r.imagesPerSecond.toFixed(2)} img/s${wait})${c.extra?.(r) ?? ''}; model in ${r.modelDir ?? 'the model folder written by rank 0'}`,
      );
    });
  });
}
