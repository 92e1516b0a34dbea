/** The perceptual losses of Johnson et al. and the profiles that choose their layers and weights. */
export { featureLoss } from './feature-loss.js';
export { gram } from './gram.js';
export { gramLoss, styleLoss } from './style-loss.js';
export { pixelLoss } from './pixel-loss.js';
export { tvLoss } from './tv-loss.js';
export { PerceptualLoss, type PerceptualLossConfig, type LossTerms } from './perceptual-loss.js';
export { LOSS_PROFILES, createPerceptualLoss, lossProfile, type LossProfile, type LossProfileName, type LossTask } from './profiles.js';
