import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { trainSr, SR_LOSSES, type SrLoss } from '../../train/train-sr.js';
import { SR_FACTORS, SR_NETS, type SrNetName } from '../../models/sr-net.js';
import { LOSS_PROFILES } from '../../losses/profiles.js';
import type { DegradeMode } from '../../data/degrade.js';
import { withInterrupt, num, int, precisionOpt } from '../options.js';

function factorOpt(v: string): number {
  const n = Number(v);
  if (!(SR_FACTORS as readonly number[]).includes(n)) throw new InvalidArgumentError(`the factor must be one of ${SR_FACTORS.join(', ')}`);
  return n;
}

function lossOpt(v: string): SrLoss {
  if (!(SR_LOSSES as readonly string[]).includes(v)) throw new InvalidArgumentError(`the loss must be ${SR_LOSSES.join(' or ')}`);
  return v as SrLoss;
}

function netOpt(v: string): SrNetName {
  if (!(SR_NETS as readonly string[]).includes(v)) throw new InvalidArgumentError(`the network must be ${SR_NETS.join(' or ')}`);
  return v as SrNetName;
}

function degradationOpt(v: string): DegradeMode {
  if (v !== 'paper' && v !== 'bicubic') throw new InvalidArgumentError("the degradation must be 'paper' or 'bicubic'");
  return v;
}

export function register(program: Command): void {
  program
    .command('train-sr')
    .description('train a feed-forward super-resolution network with the feature (ℓfeat) or pixel (ℓpixel) loss (Johnson et al. §4.2)')
    .requiredOption('-x, --factor <f>', `upscaling factor: ${SR_FACTORS.join(' | ')}`, factorOpt)
    .requiredOption('--data <dir>', 'training photos with a shorter side ≥ the patch (e.g. MS-COCO); random patches are cropped from them')
    .option('--loss <loss>', 'feat: ℓfeat at relu2_2 (the paper\'s perceptual models) | pixel: ℓpixel (its baseline)', lossOpt, 'feat')
    .option('--degradation <d>', "LR inputs: 'paper' (blur σ=1 + bicubic, as the paper trained) | 'bicubic' (as the benchmarks' LR images)", degradationOpt, 'paper')
    .option('--val <dir>', 'validation photos: centre crops give the validation PSNR/loss and the samples')
    .option('--val-count <n>', 'validation crops', int, 8)
    .option('--val-crop <px>', 'side of the validation centre crops (default: max(patch, 256))', int)
    .option('-o, --out <dir>', 'run folder: checkpoint, log.jsonl, losses.svg, samples/', 'runs/sr')
    .option('--model-dir <dir>', 'where the finished model goes (weights.safetensors, card.json, samples; default <out>/model)')
    .option('--name <name>', 'model name in the card (default: the model folder\'s name)')
    .option('--title <title>', 'model title in the card')
    .option('--net <net>', "paper: the paper's network (stride-½ convolutions, tanh output) | fast: all convolutions at the LR size, sub-pixel output, residual to bicubic (beyond the paper; ~12× cheaper at ×4)", netOpt, 'paper')
    .option('--arch <arch>', 'architecture string overriding the layers of --net')
    .option('--profile <name>', `loss profile: ${Object.keys(LOSS_PROFILES).join(' | ')}`, 'vgg19-conv3')
    .option('--vgg <path>', 'loss-network weights for ℓfeat (default: the first found, see `perceptual doctor`)')
    .option('--tv-weight <λ>', 'λ_TV (default 0)', num)
    .option('--patch <px>', 'HR patch side (the LR input is patch/factor)', int, 288)
    .option('--batch-size <n>', 'patches per batch', int, 4)
    .option('--iterations <n>', 'training iterations', int, 200000)
    .option('--lr <rate>', 'Adam learning rate', num, 1e-3)
    .option('--seed <n>', 'initialisation, data order and crop seed', int, 0)
    .option('--precision <p>', 'float32 | bf16 (default: bf16 where the CPU has it)', precisionOpt)
    .option('--device <d>', 'cpu | cuda', 'cpu')
    .option('--workers <n>', 'threads making LR/HR pairs (default: cores − 1, at most 4)', int)
    .option('--checkpoint-every <n>', 'iterations between checkpoints', int, 500)
    .option('--validate-every <n>', 'iterations between validations', int, 1000)
    .option('--resume [checkpoint]', 'continue a run exactly (default: <out>/checkpoint.safetensors)')
    .action(async (o) => {
      await withInterrupt(async (signal) => {
        let skipped = 0;
        const r = await trainSr({
          factor: o.factor,
          loss: o.loss,
          degradation: o.degradation,
          dataDir: o.data,
          valDir: o.val,
          valCount: o.valCount,
          valCrop: o.valCrop,
          outDir: o.out,
          modelDir: o.modelDir,
          name: o.name,
          title: o.title,
          net: o.net,
          arch: o.arch,
          profile: o.profile,
          vgg: o.vgg,
          tvWeight: o.tvWeight,
          patch: o.patch,
          batchSize: o.batchSize,
          iterations: o.iterations,
          lr: o.lr,
          seed: o.seed,
          precision: o.precision,
          device: o.device,
          workers: o.workers,
          checkpointEvery: o.checkpointEvery,
          validateEvery: o.validateEvery,
          resume: o.resume === true ? 'auto' : o.resume,
          signal,
          onSkip: (file, reason) => {
            skipped++;
            if (skipped <= 20) console.warn(`warning: skipping ${file}: ${reason}`);
          },
          log: (m) => console.error(m),
        });
        if (skipped) console.warn(`${skipped} image(s) were skipped (unreadable, or smaller than the patch)`);
        const wait = r.dataWaitFraction !== undefined ? `, waited on data ${(100 * r.dataWaitFraction).toFixed(1)}% of the time` : '';
        const val = r.lastVal?.psnr !== undefined ? `; validation PSNR ${r.lastVal.psnr.toFixed(2)} dB (bicubic ${r.lastVal.psnrBicubic?.toFixed(2)} dB)` : '';
        console.log(
          r.interrupted
            ? `interrupted at iteration ${r.iteration}; checkpoint saved to ${r.checkpoint} (continue with --resume)`
            : `finished ${r.iteration} iterations in ${(r.elapsed / 60).toFixed(1)} min (${(r.elapsed / Math.max(1, r.iteration)).toFixed(2)} s/iteration, ${r.imagesPerSecond.toFixed(2)} img/s${wait})${val}; model in ${r.modelDir}`,
        );
      });
    });
}
