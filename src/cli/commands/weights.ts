import type { Command } from 'commander';
import path from 'node:path';
import { VGG_WEIGHT_SOURCES, vggCacheDir, defaultVggWeights, findVggWeights, formatVggLayers } from '../../models/vgg/sources.js';
import { convertVggWeights, inspectVggWeights } from '../../models/vgg/weights.js';

export function register(program: Command): void {
  program
    .command('weights')
    .description('where to get the VGG loss-network weights, and convert a downloaded file to the project\'s safetensors form (no network needed)')
    .argument('[input]', 'a downloaded file to convert: torchvision .pth, Keras notop .h5, TF.js model.json folder (quantised or not), .safetensors, or several joined by ":" (combined layer by layer)')
    .option('-o, --out <file>', 'output .safetensors (default: ~/.cache/perceptual/<arch>-<preprocessing>.safetensors, where perceptual looks)')
    .option('--arch <arch>', 'vgg16 | vgg19, when the file cannot tell')
    .action(async (input: string | undefined, o: { out?: string; arch?: 'vgg16' | 'vgg19' }) => {
      if (!input) {
        console.log('The loss network is an ImageNet-trained VGG (the paper: VGG-16). Download one of these yourself, then run');
        console.log('`perceptual weights <file>` to convert it; nothing is downloaded by this tool.\n');
        for (const s of VGG_WEIGHT_SOURCES) console.log(`  ${s.arch} (${s.format}, ${s.preprocessing} preprocessing): ${s.fileName}\n    ${s.url}\n    ${s.notes}\n`);
        const found = await findVggWeights();
        console.log(found.length ? 'Found on this machine:' : `Nothing found yet (converted files go to ${vggCacheDir()}).`);
        for (const f of found) console.log(`  ${f.path}: ${f.info ? `${f.info.arch}, ${f.info.layers.length} conv layers${f.info.missingLayers.length ? `, missing ${f.info.missingLayers.join(' ')}` : ''}` : `unusable: ${f.error}`}`);
        const def = await defaultVggWeights();
        if (def && def.parts.length > 1) {
          console.log(`\nUsed by default (--vgg ${def.path}), each layer from its most precise copy:`);
          for (const line of formatVggLayers(def.info)) console.log(`  ${line}`);
        }
        return;
      }
      const info = o.out ? undefined : await inspectVggWeights(input, { arch: o.arch });
      const final = o.out ?? path.join(vggCacheDir(), `${info!.arch}-${info!.preprocessing}.safetensors`);
      const r = await convertVggWeights(input, final, { arch: o.arch });
      console.log(`${r.arch} (${r.preprocessing} preprocessing, from ${r.format}) → ${final}`);
      console.log(`  conv layers: ${r.layers.join(' ')}`);
      if (r.missingLayers.length) console.log(`  missing: ${r.missingLayers.join(' ')} (losses that need them will refuse with a clear error)`);
      for (const n of r.notes) console.log(`  note: ${n}`);
    });
}
