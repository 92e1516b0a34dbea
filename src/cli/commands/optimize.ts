import type { Command } from 'commander';
import { promises as fs } from 'node:fs';
import { optimizeImage } from '../../optimize/gatys.js';
import { setupLoss, defaultLossProfile, FALLBACK_PROFILE } from '../../losses/setup.js';
import { loadImageResized, imageToTensor } from '../../data/tensor-image.js';
import { saveImage } from '../../data/image.js';
import { createProgress } from '../../train/progress.js';
import { LOSS_PROFILES, lossProfile } from '../../losses/profiles.js';
import { withInterrupt, num, int, numbers, positiveNum, precisionOpt } from '../options.js';
import { resolveStyleWeights } from '../../train/train-style.js';

export function register(program: Command): void {
  program
    .command('optimize')
    .description('the Gatys et al. baseline: optimise the pixels of one image under the perceptual loss (L-BFGS or Adam)')
    .requiredOption('--content <image>', 'content photo')
    .requiredOption('--style <image>', 'style image')
    .requiredOption('-o, --out <file>', 'output image (.jpg/.png/.webp)')
    .option('--iterations <n>', 'optimisation iterations', int, 500)
    .option('--optimizer <name>', 'lbfgs | adam', 'lbfgs')
    .option('--lr <rate>', 'Adam learning rate (0–255 pixel scale), > 0', positiveNum, 5)
    .option('--init <how>', 'noise | content', 'noise')
    .option('--size <px>', 'longer side of the content image', int, 256)
    .option('--style-size <px>', 'longer side of the style image (default: --size)', int)
    .option('--profile <name>', `loss profile: ${Object.keys(LOSS_PROFILES).join(' | ')} (default: paper-vgg19 where VGG-19 up to conv4_3 is found, paper with complete VGG-16, else ${FALLBACK_PROFILE})`)
    .option('--vgg <path>', 'loss-network weights')
    .option('--content-weight <λ>', 'λ_content', num)
    .option('--style-weight <λ>', "λ_style: one value for every style layer, or one per layer (comma-separated); a profile with per-layer weights (paper) needs one per layer", numbers)
    .option('--tv-weight <λ>', 'λ_TV', num)
    .option('--precision <p>', 'float32 | bf16', precisionOpt, 'float32')
    .option('--log <file>', 'write every iteration\'s losses as JSON lines')
    .option('--seed <n>', 'noise seed', int, 0)
    .option('--clamp', 'keep the pixels in 0–255 after every iteration (projected optimisation); by default they are free, as in neural-style and the paper\'s Figure 5, and clamped only when saved')
    .action(async (o) => {
      if (o.optimizer !== 'lbfgs' && o.optimizer !== 'adam') throw new Error(`--optimizer must be lbfgs or adam, got ${o.optimizer}`);
      if (o.init !== 'noise' && o.init !== 'content') throw new Error(`--init must be noise or content, got ${o.init}`);
      const profileName: string = o.profile ?? (await defaultLossProfile(o.vgg));
      const overrides: Record<string, unknown> = {};
      if (o.contentWeight !== undefined) overrides.contentWeight = o.contentWeight;
      if (o.styleWeight !== undefined) overrides.styleWeights = resolveStyleWeights(lossProfile(profileName), o.styleWeight, 'optimize');
      if (o.tvWeight !== undefined) overrides.tvWeight = o.tvWeight;
      const { vgg, loss } = await setupLoss({ profile: profileName, task: 'style', vgg: o.vgg, overrides });
      const content = await loadImageResized(o.content, o.size);
      const style = imageToTensor(await loadImageResized(o.style, o.styleSize ?? o.size));
      loss.setStyle(style);
      style.dispose();
      const lines: string[] = [];
      const progress = createProgress({ label: 'optimize', lineEvery: 25 });
      progress.start(o.iterations, 0);
      await withInterrupt(async (signal) => {
        const r = await optimizeImage({
          loss,
          content,
          iterations: o.iterations,
          optimizer: o.optimizer,
          lr: o.lr,
          init: o.init,
          seed: o.seed,
          precision: o.precision,
          clampPixels: o.clamp === true,
          signal,
          onIteration: (i) => {
            lines.push(JSON.stringify(i));
            progress.update(i.iteration, { loss: i.total, imagesPerSecond: i.iteration / i.seconds });
          },
        });
        progress.stop();
        await saveImage(r.image, o.out);
        if (o.log) await fs.writeFile(o.log, lines.join('\n') + '\n');
        const last = r.history.at(-1);
        console.log(`${r.interrupted ? 'interrupted' : 'done'}: ${last?.iteration ?? 0} iterations in ${last?.seconds.toFixed(1) ?? 0} s, loss ${last?.total.toPrecision(5)} (content ${last?.content.toPrecision(4)}, style ${last?.style.toPrecision(4)}, tv ${last?.tv.toPrecision(4)}); the saved image (0–255): ${r.imageLoss.toPrecision(5)} → ${o.out}`);
      });
      loss.dispose();
      vgg.dispose();
    });
}
