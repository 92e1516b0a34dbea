import type { Command } from 'commander';
import { doctor, formatDoctor } from '../../doctor/doctor.js';

export function registerDoctor(program: Command): void {
  program
    .command('doctor')
    .description('show what this machine can do: engine, libtorch, threads, devices, onnxruntime, loss-network weights')
    .option('--json', 'print the report as JSON')
    .action(async (opts: { json?: boolean }) => {
      const r = await doctor();
      console.log(opts.json ? JSON.stringify(r, null, 2) : formatDoctor(r));
    });
}
