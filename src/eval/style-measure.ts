/**
 * Which loss a style is measured with, outside training (the Figure-5 bench, the gallery's Gatys
 * results): one profile for every style (`paper-vgg19`, the loss the shipped styles train with)
 * and the style's own λs from its card when the card was trained with that profile, else the
 * profile's defaults — said in `lambdaNote`. Gatys runs depend on this spec, the style image and
 * the photo, not on the network, so they are cached under {@link gatysKey} across retrainings.
 */
import path from 'node:path';
import { lossProfile, type LossProfile } from '../losses/profiles.js';
import { sharedDataDir } from '../util/paths.js';

/** The profile used to compare styles with Gatys (issue 13: the paper's layers on VGG-19). */
export const MEASURE_PROFILE = 'paper-vgg19';

/** The card fields this needs (a style model's card.json). */
export interface StyleCardFields {
  lossProfile?: string;
  styleImage?: string;
  styleSize?: number;
  iterations?: number;
  lambda?: { content: number | readonly number[]; style: number | readonly number[]; tv: number };
}

export interface StyleMeasureSpec {
  profile: string;
  /** λs, one per layer of the profile's content and style layers. */
  overrides: { contentWeight: readonly number[]; styleWeights: readonly number[]; tvWeight: number };
  lambdaNote: string;
  /** The painting, in the shared data's styles/ folder. */
  styleImage: string;
  /** Longer side the painting is resized to for its Gram targets (the card's, else `fallbackSize`). */
  styleSize: number;
}

/**
 * The spec for a style model's card. `profileName`: the wanted profile; when it does not exist
 * (older trees), the card's own profile, and `warn` is told why.
 */
export function styleMeasureSpec(card: StyleCardFields, where: string, fallbackSize: number, profileName = MEASURE_PROFILE, warn: (msg: string) => void = console.error): StyleMeasureSpec {
  if (!card.styleImage) throw new Error(`${where}: the card names no styleImage, so the style cannot be measured`);
  let p: LossProfile;
  try {
    p = lossProfile(profileName);
  } catch (e) {
    const own = card.lossProfile ?? 'vgg19-conv3';
    warn(`note: ${(e as Error).message}; measuring ${where} with its card's profile ${own}`);
    p = lossProfile(own);
  }
  const own = card.lossProfile === p.name && card.lambda;
  // One form per loss (a λ per layer), so equal losses give equal cache keys whichever way a card wrote them.
  const perLayer = (w: number | readonly number[], layers: readonly string[], what: string): number[] => {
    const ws = typeof w === 'number' ? layers.map(() => w) : [...w];
    if (ws.length !== layers.length) throw new Error(`${where}: ${ws.length} ${what} λs for ${layers.length} layers (${layers.join(', ')}) of profile ${p.name}`);
    return ws;
  };
  const l = own ? { content: card.lambda!.content, style: card.lambda!.style, tv: card.lambda!.tv } : { content: p.style.contentWeight, style: p.style.styleWeights, tv: p.style.tvWeight };
  return {
    profile: p.name,
    overrides: { contentWeight: perLayer(l.content, p.style.contentLayers, 'content'), styleWeights: perLayer(l.style, p.style.styleLayers, 'style'), tvWeight: l.tv },
    lambdaNote: own ? `${p.name}, the card's λs` : `${p.name}, its default λs (the network was trained with ${card.lossProfile ?? '?'})`,
    styleImage: path.join(sharedDataDir(), 'styles', card.styleImage),
    styleSize: card.styleSize ?? fallbackSize,
  };
}

/** Cache key of a Gatys run: everything its result depends on (unconstrained pixels unless `clampPixels`). */
export function gatysKey(spec: StyleMeasureSpec, photo: string, size: number, run: { precision: string; seed: number; init: string; iterations?: number; clampPixels?: boolean }): string {
  return [
    `${path.basename(spec.styleImage)}@${spec.styleSize}`,
    `${path.basename(photo)}@${size}`,
    spec.profile,
    `λ${JSON.stringify(spec.overrides)}`,
    run.precision,
    `seed${run.seed}`,
    run.init,
    ...(run.iterations ? [`${run.iterations}it`] : []),
    ...(run.clampPixels ? ['clamped'] : []),
  ].join('|');
}

/**
 * A model folder's name in a bench's table (and the Figure-5 bench's feed-forward key): its own
 * name, with its parent's where another folder of `dirs` has the same one (e.g. runs' `model/`).
 */
export function modelLabel(dir: string, dirs: readonly string[]): string {
  const name = path.basename(dir);
  return dirs.filter((d) => path.basename(d) === name).length > 1 ? `${path.basename(path.dirname(dir))}/${name}` : name;
}
