/**
 * How far a style network's input is mirrored outward — in training (src/train/style-task.ts) and
 * when stylising (src/infer/core/edge-pad.ts) alike — so that the network's zero-padded border lies
 * outside the picture. Declared here, below both, so the two use one number.
 *
 * Why 8: twice the total stride (the 4-px lattice keeps its phase against the picture) and past
 * the frame the networks trained without it paint (4–6 px); README "Grid artefacts".
 */
export const DEFAULT_EDGE_PAD = 8;
/** The largest edge padding accepted (the frame is a few pixels; more only costs time). */
export const MAX_EDGE_PAD = 256;
