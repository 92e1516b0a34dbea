import type { Command } from 'commander';
import { trainStyle } from '../../train/train-style.js';
import { LOSS_PROFILES } from '../../losses/profiles.js';
import { withInterrupt, num, int, precisionOpt } from '../options.js';

export function register(program: Command): void {
  program
    .command('train-style')
    .description('train a feed-forward style network on a folder of photos (Johnson et al. §4.1)')
    .requiredOption('--style <image>', 'the style image (painting)')
    .requiredOption('--data <dir>', 'training photos (e.g. MS-COCO train2014); any JPEG/PNG/WebP, any size')
    .option('--val <dir>', 'validation photos (loss + sample images every --validate-every)')
    .option('-o, --out <dir>', 'run folder: checkpoint, log.jsonl, losses.svg, samples/, model/', 'runs/style')
    .option('--arch <arch>', "network: 'paper' (BN, 1.7M params), 'half-instance' (instance norm, half width) or an architecture string", 'half-instance')
    .option('--norm <kind>', 'batch | instance (overrides the preset)')
    .option('--profile <name>', `loss profile: ${Object.keys(LOSS_PROFILES).join(' | ')}`, 'vgg19-conv3')
    .option('--vgg <path>', 'loss-network weights (default: the first found, see `perceptual doctor`)')
    .option('--content-weight <λ>', 'λ_content (default: the profile\'s)', num)
    .option('--style-weight <λ>', 'λ_style per style layer (default: the profile\'s)', num)
    .option('--tv-weight <λ>', 'λ_TV (default: the profile\'s)', num)
    .option('--image-size <px>', 'training image side', int, 256)
    .option('--style-size <px>', 'longer side of the style image (default: --image-size)', int)
    .option('--batch-size <n>', 'images per batch', int, 4)
    .option('--iterations <n>', 'training iterations', int, 40000)
    .option('--lr <rate>', 'Adam learning rate', num, 1e-3)
    .option('--seed <n>', 'data order seed', int, 0)
    .option('--precision <p>', 'float32 | bf16 (default: bf16 where the CPU has it)', precisionOpt)
    .option('--device <d>', 'cpu | cuda', 'cpu')
    .option('--checkpoint-every <n>', 'iterations between checkpoints', int, 500)
    .option('--validate-every <n>', 'iterations between validations', int, 1000)
    .option('--val-count <n>', 'validation images', int, 8)
    .option('--resume [checkpoint]', 'continue a run exactly (default: <out>/checkpoint.safetensors)')
    .action(async (o) => {
      await withInterrupt(async (signal) => {
        let skipped = 0;
        const r = await trainStyle({
          styleImage: o.style,
          dataDir: o.data,
          valDir: o.val,
          outDir: o.out,
          arch: o.arch,
          norm: o.norm,
          profile: o.profile,
          vgg: o.vgg,
          contentWeight: o.contentWeight,
          styleWeight: o.styleWeight,
          tvWeight: o.tvWeight,
          imageSize: o.imageSize,
          styleSize: o.styleSize,
          batchSize: o.batchSize,
          iterations: o.iterations,
          lr: o.lr,
          seed: o.seed,
          precision: o.precision,
          device: o.device,
          checkpointEvery: o.checkpointEvery,
          validateEvery: o.validateEvery,
          valCount: o.valCount,
          resume: o.resume === true ? 'auto' : o.resume,
          signal,
          onSkip: (file, reason) => {
            skipped++;
            console.warn(`warning: skipping ${file}: ${reason}`);
          },
          log: (m) => console.error(m),
        });
        if (skipped) console.warn(`${skipped} unreadable image(s) were skipped`);
        const wait = r.dataWaitFraction !== undefined ? `, waited on data ${(100 * r.dataWaitFraction).toFixed(1)}% of the time` : '';
        console.log(
          r.interrupted
            ? `interrupted at iteration ${r.iteration}; checkpoint saved to ${r.checkpoint} (continue with --resume)`
            : `finished ${r.iteration} iterations in ${(r.elapsed / 60).toFixed(1)} min (${r.imagesPerSecond.toFixed(2)} img/s${wait}); model in ${r.modelDir}`,
        );
      });
    });
}
