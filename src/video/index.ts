/** Video: stylise clips through ffmpeg, smooth instance-norm statistics over frames, measure flicker. */
export { stylizeVideo, stylizeFrames, type StylizeVideoOptions, type StylizeVideoResult, type VideoProgress } from './stylize-video.js';
export { probeVideo, decodeFrames, filterFrames, denoiseFilter, VideoEncoder, isVideoFile, videoOutputSize, DEFAULT_CRF, DEFAULT_PRESET, DEFAULT_DENOISE, type VideoInfo } from './ffmpeg.js';
export { loadFrameRunner, DEFAULT_SMOOTHING, type FrameRunner, type FrameRunnerOptions, type Smoothing } from './frame-runner.js';
export { temporalOnnx, TemporalStats, DEFAULT_STATS_MOMENTUM } from './temporal-onnx.js';
export { EngineStatsSmoother } from './engine-temporal.js';
export { flicker, shiftedMeanAbsDiff, panClip, stillClip, addSensorNoise, type Shift, type FlickerResult, type Clip } from './flicker.js';
