/**
 * Loss profiles: which loss network, which layers and which weights, per task. Every λ below
 * assumes this project's normalisations — feature loss = mean squared difference
 * (‖Δφ‖²/(C·H·W), batch mean), style loss = Σ_j ‖ΔG_j‖²_F with G = ψψᵀ/(C·H·W) (batch mean),
 * TV = plain sum over neighbour pairs (batch mean). Change a normalisation and the λs change.
 */
import type { VggArch } from '../models/vgg/layers.js';
import type { Vgg } from '../models/vgg/vgg.js';
import { PerceptualLoss, type PerceptualLossConfig } from './perceptual-loss.js';

export interface LossProfile {
  name: string;
  /** The loss network the profile is meant for. */
  arch: VggArch;
  description: string;
  /** Style transfer: content + style + TV. */
  style: PerceptualLossConfig;
  /** Super-resolution: feature reconstruction only. */
  sr: PerceptualLossConfig;
  /** Where the numbers come from, and what they assume. */
  notes: string;
}

/** Super-resolution in every profile: the paper's ℓfeat at relu2_2 alone (§4.1). */
const PAPER_SR: PerceptualLossConfig = {
  contentLayers: ['relu2_2'],
  contentWeight: 1,
  styleLayers: [],
  styleWeights: [],
  tvWeight: 0,
  pixelWeight: 0,
};

const PAPER_STYLE_LAYERS = ['relu1_2', 'relu2_2', 'relu3_3', 'relu4_3'];
/** Channels of those layers in VGG-16. */
const PAPER_STYLE_CHANNELS = [64, 128, 256, 512];

/**
 * λ_style per layer of `paper-vgg19`: the paper's released code (fast-neural-style, style weight 5
 * on the mean squared error of Grams normalised by C·H·W, i.e. 5/C_j² on our ‖ΔG_j‖²_F), the same
 * numbers as `paper`. Measured on the shared weights (README "Loss profiles"): with these, the
 * style term of a photo against each painting is 6–20× its content term's typical value, and
 * relu3_3 carries most of it, as in fast-neural-style.
 */
export const PAPER_VGG19_STYLE_WEIGHTS: readonly number[] = PAPER_STYLE_CHANNELS.map((c) => 5 / (c * c));
/**
 * λ_style per layer of `gatys`, equal for every layer as in Gatys et al.: their α/β = 1e-3 with
 * E_l = ‖ΔG‖²/(4N²M²) (= ‖ΔG_ours‖²/4), w_l = 1/5 and content ½‖ΔF‖² (= ours × C·H·W/2) gives
 * λ_style = β·w_l/4 · 2/(C·H·W) of relu4_2 ≈ 1.9e-4 at 256² (4.8e-5 at 512²); 1e-4 in between.
 */
export const GATYS_STYLE_WEIGHT = 1e-4;

export const LOSS_PROFILES = {
  /**
   * Johnson et al. with VGG-16. Content at relu3_3 as in the released code (train.lua
   * `-content_layers 16`, layer 16 of the Caffe VGG-16 being relu3_3); the paper's §4.1 text
   * names relu2_2 instead — pass contentLayers ['relu2_2'] to follow the text.
   *
   * The paper gives no λ_content/λ_style. These are fast-neural-style's defaults
   * (content 1, style 5, TV 1e-6) converted to our normalisation: its StyleLoss is the MSE
   * between Grams, i.e. ‖ΔG‖²_F / C², so its style weight 5 is 5/C_j² per layer here. Its
   * content loss is the same MSE as ours. Its TV differs in form (see tv-loss.ts); 1e-6 is
   * kept as the starting point the paper's range [1e-6, 1e-4] also begins with.
   */
  paper: {
    name: 'paper',
    arch: 'vgg16',
    description: 'Johnson et al. 2016 with VGG-16: content relu3_3, style relu1_2/relu2_2/relu3_3/relu4_3; SR relu2_2',
    style: {
      contentLayers: ['relu3_3'],
      contentWeight: 1,
      styleLayers: PAPER_STYLE_LAYERS,
      styleWeights: PAPER_STYLE_CHANNELS.map((c) => 5 / (c * c)),
      tvWeight: 1e-6,
      pixelWeight: 0,
    },
    sr: PAPER_SR,
    notes:
      'Needs complete VGG-16 weights (relu4_3). Style λ_j = 5/C_j² (fast-neural-style default 5 converted from its ' +
      'MSE-over-Gram-entries to the squared Frobenius norm); content λ = 1; λ_TV = 1e-6. SR: relu2_2 feature loss only, as in the paper.',
  },
  /**
   * Johnson et al.'s layers on VGG-19 (the complete VGG-19 available here: float32 conv1–3,
   * uint8-quantised conv4–5): content relu3_3 (the released code), style relu1_2, relu2_2,
   * relu3_3, relu4_3 (the paper's §3.2), SR relu2_2. VGG-19's extra convolutions are the fourth
   * of blocks 3–5, so relu1_2 … relu3_3 sit at exactly the depth they have in VGG-16 and relu4_3
   * one convolution (conv3_4) deeper, where it adds the larger-scale structure (brush strokes,
   * swirls) that relu3_3 alone misses. λs: the paper's code's (see PAPER_VGG19_STYLE_WEIGHTS),
   * checked against measured loss magnitudes (README "Loss profiles"). Per-layer λs: a
   * `styleWeight` override must give one value per layer (a single number is refused).
   */
  'paper-vgg19': {
    name: 'paper-vgg19',
    arch: 'vgg19',
    description: 'Johnson et al. 2016 on VGG-19: content relu3_3, style relu1_2/relu2_2/relu3_3/relu4_3; SR relu2_2',
    style: {
      contentLayers: ['relu3_3'],
      contentWeight: 1,
      styleLayers: PAPER_STYLE_LAYERS,
      styleWeights: PAPER_VGG19_STYLE_WEIGHTS,
      tvWeight: 1e-6,
      pixelWeight: 0,
    },
    sr: PAPER_SR,
    notes:
      'Needs VGG-19 up to conv4_3 (shared/data/vgg19-keras + vgg19-full-uint8 combined). λ_content 1, λ_style_j = 5/C_j² ' +
      '(fast-neural-style\'s defaults in our normalisation, as `paper`), λ_TV 1e-6; valid only with this project\'s Gram normalisation G = ψψᵀ/(C·H·W).',
  },
  /**
   * Gatys, Ecker & Bethge (CVPR 2016): content relu4_2, style relu1_1, relu2_1, relu3_1,
   * relu4_1, relu5_1 with equal weights — the layer set of lengstrom/fast-style-transfer, whose
   * models ml5 ships. Gatys's E_l = ‖ΔG‖²/(4N²M²) with unnormalised G is ‖ΔG‖²/4 with our
   * G/(C·H·W) (N = C, M = H·W), so equal per-layer weights mean the same thing here.
   */
  gatys: {
    name: 'gatys',
    arch: 'vgg19',
    description: 'Gatys et al. 2016: content relu4_2, style relu1_1/relu2_1/relu3_1/relu4_1/relu5_1; SR relu2_2',
    style: {
      contentLayers: ['relu4_2'],
      contentWeight: 1,
      styleLayers: ['relu1_1', 'relu2_1', 'relu3_1', 'relu4_1', 'relu5_1'],
      styleWeights: GATYS_STYLE_WEIGHT,
      tvWeight: 1e-6,
      pixelWeight: 0,
    },
    sr: PAPER_SR,
    notes:
      'Needs VGG-19 up to conv5_1. Equal style weights per layer as in Gatys et al.; λ_style = 1e-4 from their α/β = 1e-3 ' +
      'converted to our normalisations at 256–512 px (see GATYS_STYLE_WEIGHT).',
  },
  /**
   * The fallback for VGG-19 weights that stop at conv3_4 (no relu4_x; the only copy this project
   * had before the uint8 conv4–5 arrived, and what the first shipped styles used): the paper's
   * layers that exist, from the same network family. Defaults measured as a starting point
   * with the Gatys optimisation at 320 px (not with feed-forward training): λ_content = 1 with
   * the mean-squared relu3_3 loss, λ_style = 2e-5 per layer with G/(C·H·W) and the squared
   * Frobenius norm, λ_TV = 1e-6 with TV as a plain sum. relu3_4 may be added as a style layer.
   */
  'vgg19-conv3': {
    name: 'vgg19-conv3',
    arch: 'vgg19',
    description: 'VGG-19 conv1–conv3 only: content relu3_3, style relu1_2/relu2_2/relu3_3; SR relu2_2',
    style: {
      contentLayers: ['relu3_3'],
      contentWeight: 1,
      styleLayers: ['relu1_2', 'relu2_2', 'relu3_3'],
      styleWeights: 2e-5,
      tvWeight: 1e-6,
      pixelWeight: 0,
    },
    sr: PAPER_SR,
    notes:
      'Deviation from the paper: no relu4_3 (the VGG-19 weights at hand end at conv3_4), so style uses relu1_2, relu2_2, relu3_3 ' +
      '(optionally relu3_4). λs measured with the Gatys optimisation at 320 px (λ_content 1, λ_style 2e-5 per layer, λ_TV 1e-6) ' +
      'and valid only with this project\'s Gram normalisation G = ψψᵀ/(C·H·W); kept as defaults until measured for feed-forward training.',
  },
} as const satisfies Record<string, LossProfile>;

export type LossProfileName = keyof typeof LOSS_PROFILES;

export function lossProfile(name: string): LossProfile {
  if (!Object.hasOwn(LOSS_PROFILES, name)) {
    throw new Error(`unknown loss profile '${name}' (available: ${Object.keys(LOSS_PROFILES).join(', ')})`);
  }
  return LOSS_PROFILES[name as LossProfileName];
}

export type LossTask = 'style' | 'sr';

/**
 * The PerceptualLoss of a profile for a task, on a loss network of the profile's architecture
 * (the λs are tuned for it). `overrides` replace single config fields (e.g. tvWeight).
 */
export function createPerceptualLoss(vgg: Vgg, profile: string | LossProfile, task: LossTask, overrides: Partial<PerceptualLossConfig> = {}): PerceptualLoss {
  const p = typeof profile === 'string' ? lossProfile(profile) : profile;
  if (vgg.arch !== p.arch) {
    throw new Error(`loss profile '${p.name}' is meant for ${p.arch}, but the loss network is ${vgg.arch} (${vgg.file}); pick a profile for ${vgg.arch}`);
  }
  return new PerceptualLoss(vgg, { ...p[task], ...overrides });
}
