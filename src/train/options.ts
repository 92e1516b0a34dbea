/**
 * The training options of both tasks, with their defaults, declared once. The library
 * (`trainStyle`, `trainSr`, `trainModel`) fills missing options from these tables; the CLI
 * generates `perceptual train-style` / `train-sr` options from the same tables
 * (`src/cli/options.ts` → `addOptionTable`), so a default or a help text cannot drift between
 * the two.
 *
 * Library errors name the option keys (`imageSize`), not CLI flags.
 */
import { SR_FACTORS, SR_NETS, SR_PATCH } from '../models/sr-net.js';
import { LOSS_PROFILES, type LossProfileName } from '../losses/profiles.js';
import { FALLBACK_PROFILE } from '../losses/setup.js';
import { STYLE_DATA_DEFAULTS } from '../data/style-dataset.js';
import { DEFAULT_STABILITY_NOISE, DEFAULT_STABILITY_SHIFT } from '../losses/stability-loss.js';
import { DEFAULT_EDGE_PAD, MAX_EDGE_PAD } from '../models/edge-pad.js';
import { DEFAULT_GRID_WINDOW } from '../losses/grid-loss.js';

/** How a CLI argument is parsed; the library receives the parsed value. */
export type OptionType = 'string' | 'int' | 'number' | 'numbers' | 'boolean';

export interface OptionDef {
  /** The CLI flag without dashes (`image-size`). */
  flag: string;
  short?: string;
  /** Name of the argument in the help text (`px`); absent for a boolean switch. */
  arg?: string;
  /** `--resume [checkpoint]`: the argument may be left out, giving {@link bare}. */
  optionalArg?: boolean;
  /** The value of a flag given without its optional argument. */
  bare?: unknown;
  type: OptionType;
  /** Allowed values. */
  choices?: readonly (string | number)[];
  /** Smallest allowed value (int, number). */
  min?: number;
  help: string;
  default?: unknown;
  required?: boolean;
}

export type OptionTable = Readonly<Record<string, OptionDef>>;

const profileNames = Object.keys(LOSS_PROFILES) as LossProfileName[];

/** Options every training task has. */
export const COMMON_TRAIN_OPTIONS = {
  dataDir: { flag: 'data', arg: 'dir', type: 'string', required: true, help: 'training photos; any JPEG/PNG/WebP' },
  valDir: { flag: 'val', arg: 'dir', type: 'string', help: 'validation photos (loss + sample images every --validate-every)' },
  valCount: { flag: 'val-count', arg: 'n', type: 'int', min: 1, default: STYLE_DATA_DEFAULTS.validationCount, help: 'validation images' },
  modelDir: { flag: 'model-dir', arg: 'dir', type: 'string', help: 'where the finished model goes (weights.safetensors, card.json; default <out>/model)' },
  name: { flag: 'name', arg: 'name', type: 'string', help: "model name in the card (default: the model folder's name when given, else the run folder's)" },
  title: { flag: 'title', arg: 'title', type: 'string', help: 'model title in the card' },
  profile: { flag: 'profile', arg: 'name', type: 'string', choices: profileNames, help: `loss profile: ${profileNames.join(' | ')} (default: the checkpoint's when resuming, else paper-vgg19 where VGG-19 up to conv4_3 is found, paper with complete VGG-16, else ${FALLBACK_PROFILE})` },
  vgg: { flag: 'vgg', arg: 'path', type: 'string', help: 'loss-network weights (default: the first found, see `perceptual doctor`)' },
  batchSize: { flag: 'batch-size', arg: 'n', type: 'int', min: 1, default: STYLE_DATA_DEFAULTS.batchSize, help: 'images per step; with `perceptual launch` the global batch, split over the processes' },
  lr: { flag: 'lr', arg: 'rate', type: 'number', min: Number.MIN_VALUE, default: 1e-3, help: 'Adam learning rate' },
  warmup: {
    flag: 'warmup',
    arg: 'n',
    type: 'int',
    min: 0,
    default: 0,
    help: "Adam's learning rate rises linearly over the run's first n iterations (lr·i/n at step i): for a run that starts from trained weights with fresh Adam moments (a fine-tune, or a shipped network continued on a new machine), whose first steps would otherwise move every weight by about lr at once (0: off)",
  },
  seed: { flag: 'seed', arg: 'n', type: 'int', min: 0, default: 0, help: 'initialisation and data order seed' },
  precision: { flag: 'precision', arg: 'p', type: 'string', choices: ['float32', 'bf16'], help: 'float32 | bf16 (default: bf16 where the CPU has it)' },
  device: { flag: 'device', arg: 'd', type: 'string', default: 'cpu', help: "cpu | cuda | cuda:N (CUDA needs a CUDA libtorch build)" },
  checkpointEvery: { flag: 'checkpoint-every', arg: 'n', type: 'int', min: 1, default: 500, help: 'iterations between checkpoints' },
  validateEvery: { flag: 'validate-every', arg: 'n', type: 'int', min: 1, default: 1000, help: 'iterations between validations' },
  resume: { flag: 'resume', arg: 'checkpoint', optionalArg: true, bare: 'auto', type: 'string', help: 'continue a run exactly (default: <out>/checkpoint.safetensors)' },
} as const satisfies OptionTable;

/** train-style: Johnson et al. §4.1. */
export const STYLE_TRAIN_OPTIONS = {
  styleImage: { flag: 'style', arg: 'image', type: 'string', required: true, help: 'the style image (painting)' },
  ...COMMON_TRAIN_OPTIONS,
  dataDir: { ...COMMON_TRAIN_OPTIONS.dataDir, help: 'training photos (e.g. MS-COCO train2014); any JPEG/PNG/WebP, any size' },
  outDir: { flag: 'out', short: 'o', arg: 'dir', type: 'string', default: 'runs/style', help: 'run folder: checkpoint, log.jsonl, losses.svg, samples/, model/' },
  arch: { flag: 'arch', arg: 'arch', type: 'string', default: 'half-instance', help: "network: 'paper' (BN, 1.7M params), 'half-instance' (instance norm, half width) or an architecture string" },
  norm: { flag: 'norm', arg: 'kind', type: 'string', choices: ['batch', 'instance'], help: 'batch | instance (overrides the preset)' },
  contentWeight: { flag: 'content-weight', arg: 'λ', type: 'number', min: 0, help: "λ_content (default: the profile's)" },
  styleWeight: {
    flag: 'style-weight',
    arg: 'λ',
    type: 'numbers',
    min: 0,
    help: "λ_style: one value for every style layer, or one per layer (comma-separated; default: the profile's). A profile with per-layer weights (paper) needs one per layer",
  },
  tvWeight: { flag: 'tv-weight', arg: 'λ', type: 'number', min: 0, help: "λ_TV (default: the profile's)" },
  imageSize: { flag: 'image-size', arg: 'px', type: 'int', min: 1, default: STYLE_DATA_DEFAULTS.imageSize, help: 'training image side' },
  styleSize: { flag: 'style-size', arg: 'px', type: 'int', min: 1, help: 'longer side of the style image (default: --image-size)' },
  iterations: { flag: 'iterations', arg: 'n', type: 'int', min: 1, default: 40000, help: 'training iterations' },
  stabilityWeight: {
    flag: 'stability-weight',
    arg: 'λ',
    type: 'number',
    min: 0,
    default: 0,
    help: 'λ of the video stability term ‖f(x̃) − f(x)‖², x̃ = x shifted a few px plus noise (Gupta et al. 2017; 0: off). Each iteration then runs the network twice',
  },
  stabilityNoise: { flag: 'stability-noise', arg: 'σ', type: 'number', min: 0, default: DEFAULT_STABILITY_NOISE, help: 'σ of the stability term\'s noise (0–255 scale)' },
  stabilityShift: { flag: 'stability-shift', arg: 'px', type: 'int', min: 0, default: DEFAULT_STABILITY_SHIFT, help: "largest shift of the stability term's input, px (0: noise only, as Gupta et al.)" },
  gridWeight: {
    flag: 'grid-weight',
    arg: 'λ',
    type: 'number',
    min: 0,
    default: 0,
    help: "λ of the grid penalty: the energy of the output's 4×4 pattern fixed to the frame within each window, i.e. its spectrum at the 15 grid frequencies (src/losses/grid-loss.ts; 0: off)",
  },
  gridWindow: { flag: 'grid-window', arg: 'px', type: 'int', min: 4, help: `side of the grid penalty's windows, a multiple of 4 no larger than the training image (default: ${DEFAULT_GRID_WINDOW}, or the image side if smaller)` },
  edgePad: {
    flag: 'edge-pad',
    arg: 'px',
    type: 'int',
    min: 0,
    default: DEFAULT_EDGE_PAD,
    help: `mirror each training image outward by this many pixels for the network and crop the output back before the losses, as stylize does (src/infer/core/edge-pad.ts): the network cannot lower its style loss with a frame painted along the picture's border (0: off, the network's border is the picture's; at most ${MAX_EDGE_PAD})`,
  },
  init: { flag: 'init', arg: 'weights', type: 'string', help: 'start from these weights (a model folder or weights.safetensors whose tensors fit this network: the same architecture, or e.g. rcN → rbN, which the log then notes): fine-tuning' },
} as const satisfies OptionTable;

/** train-sr: Johnson et al. §4.2. */
export const SR_TRAIN_OPTIONS = {
  factor: { flag: 'factor', short: 'x', arg: 'f', type: 'int', choices: SR_FACTORS, required: true, help: `upscaling factor: ${SR_FACTORS.join(' | ')}` },
  ...COMMON_TRAIN_OPTIONS,
  dataDir: { ...COMMON_TRAIN_OPTIONS.dataDir, help: 'training photos with a shorter side ≥ the patch (e.g. MS-COCO); random patches are cropped from them' },
  valDir: { ...COMMON_TRAIN_OPTIONS.valDir, help: 'validation photos: centre crops give the validation PSNR/loss and the samples' },
  valCount: { ...COMMON_TRAIN_OPTIONS.valCount, help: 'validation crops' },
  loss: { flag: 'loss', arg: 'loss', type: 'string', choices: ['feat', 'pixel'], default: 'feat', help: "feat: ℓfeat at relu2_2 (the paper's perceptual models) | pixel: ℓpixel (its baseline)" },
  degradation: { flag: 'degradation', arg: 'd', type: 'string', choices: ['paper', 'bicubic'], default: 'paper', help: "LR inputs: 'paper' (blur σ=1 + bicubic, as the paper trained) | 'bicubic' (as the benchmarks' LR images)" },
  valCrop: { flag: 'val-crop', arg: 'px', type: 'int', min: 1, help: 'side of the validation centre crops (default: max(patch, 256))' },
  outDir: { flag: 'out', short: 'o', arg: 'dir', type: 'string', default: 'runs/sr', help: 'run folder: checkpoint, log.jsonl, losses.svg, samples/' },
  net: {
    flag: 'net',
    arg: 'net',
    type: 'string',
    choices: SR_NETS,
    default: 'paper',
    help: "paper: the paper's network (stride-½ convolutions, tanh output) | fast: all convolutions at the LR size, sub-pixel output, residual to bicubic (beyond the paper; ~12× cheaper at ×4)",
  },
  arch: { flag: 'arch', arg: 'arch', type: 'string', help: 'architecture string overriding the layers of --net' },
  vgg: { ...COMMON_TRAIN_OPTIONS.vgg, help: 'loss-network weights for ℓfeat (default: the first found, see `perceptual doctor`)' },
  tvWeight: { flag: 'tv-weight', arg: 'λ', type: 'number', min: 0, help: "λ_TV (default: the profile's SR value, 0)" },
  patch: { flag: 'patch', arg: 'px', type: 'int', min: 1, default: SR_PATCH, help: 'HR patch side (the LR input is patch/factor)' },
  batchSize: { ...COMMON_TRAIN_OPTIONS.batchSize, help: 'patches per step; with `perceptual launch` the global batch, split over the processes' },
  iterations: { flag: 'iterations', arg: 'n', type: 'int', min: 1, default: 200000, help: 'training iterations (the paper: 200k)' },
  seed: { ...COMMON_TRAIN_OPTIONS.seed, help: 'initialisation, data order and crop seed' },
  workers: { flag: 'workers', arg: 'n', type: 'int', min: 0, help: 'threads making LR/HR pairs (default: cores − 1, at most 4)' },
} as const satisfies OptionTable;

/** The library type of one option's value. */
export type OptionValue<D extends OptionDef> = D extends { choices: readonly (infer C)[] }
  ? C
  : D['type'] extends 'int' | 'number'
    ? number
    : D['type'] extends 'numbers'
      ? number | number[]
      : D['type'] extends 'boolean'
        ? boolean
        : string;

type Always<D> = D extends { required: true } ? true : D extends { default: unknown } ? true : false;

/** The options of a table as the library takes them after defaults: required and defaulted ones present, the rest optional. */
export type OptionValues<T extends OptionTable> = { -readonly [K in keyof T as Always<T[K]> extends true ? K : never]: OptionValue<T[K]> } & {
  -readonly [K in keyof T as Always<T[K]> extends true ? never : K]?: OptionValue<T[K]>;
};

/** The declared defaults of a table, typed. */
export type DefaultsOf<T extends OptionTable> = { [K in keyof T as T[K] extends { default: unknown } ? K : never]: T[K] extends { default: infer V } ? (V extends string ? string : V extends number ? number : V) : never };

/** `options` with every missing option that has a default filled in from `table`. */
export function withDefaults<T extends OptionTable, O extends object>(table: T, options: O): O & DefaultsOf<T> {
  const out: Record<string, unknown> = { ...(options as Record<string, unknown>) };
  for (const [key, def] of Object.entries(table)) if (out[key] === undefined && def.default !== undefined) out[key] = def.default;
  return out as O & DefaultsOf<T>;
}

/**
 * Check the options a table describes (type, choices, min, required), with errors that name
 * the operation and the option key. CLI flags are checked by the CLI itself.
 */
export function checkOptions(operation: string, table: OptionTable, options: Record<string, unknown>): void {
  for (const [key, def] of Object.entries(table)) {
    const v = options[key];
    if (v === undefined) {
      if (def.required) throw new Error(`${operation}: option '${key}' is required (${def.help})`);
      continue;
    }
    const bad = (what: string): never => {
      throw new Error(`${operation}: option '${key}' must be ${what}, got ${JSON.stringify(v)}`);
    };
    const checkNumber = (n: unknown, integer: boolean): void => {
      if (typeof n !== 'number' || !Number.isFinite(n) || (integer && !Number.isInteger(n))) bad(integer ? 'an integer' : 'a finite number');
      if (def.min !== undefined && (n as number) < def.min) bad(`≥ ${def.min === Number.MIN_VALUE ? '0 (and not 0)' : def.min}`);
    };
    if (def.type === 'int' || def.type === 'number') checkNumber(v, def.type === 'int');
    else if (def.type === 'numbers') {
      if (Array.isArray(v)) {
        if (v.length === 0) bad('a number or a non-empty list of numbers');
        v.forEach((n) => checkNumber(n, false));
      } else checkNumber(v, false);
    } else if (def.type === 'boolean') {
      if (typeof v !== 'boolean') bad('true or false');
    } else if (typeof v !== 'string' || v === '') bad('a non-empty string');
    if (def.choices && !def.choices.includes(v as string | number)) bad(`one of ${def.choices.map((c) => JSON.stringify(c)).join(', ')}`);
  }
}
