/**
 * Fold an inference-mode batch norm into the convolution before it, so the exported graph
 * has one op instead of two (and no statistics to keep in sync):
 *
 *   BN(conv(x)) = γ·(W∗x + b − μ)/√(σ²+ε) + β = (W·k)∗x + ((b − μ)·k + β),  k = γ/√(σ²+ε)
 *
 * per output channel. Computed in float64 and rounded once.
 */
export interface FoldedConv {
  weight: Float32Array;
  bias: Float32Array;
}

export interface FoldBatchNormOptions {
  /**
   * Which weight axis is the output channel: 0 for Conv (OIHW), 1 for ConvTranspose
   * (`[in, out, kh, kw]`, group 1).
   */
  outChannelAxis?: 0 | 1;
  /** The weight's shape; required with `outChannelAxis: 1`, where the length alone is ambiguous. */
  shape?: readonly number[];
}

/**
 * @param convW conv weight, OIHW (or `[in, out, kh, kw]` with `outChannelAxis: 1`)
 * @param convB conv bias, or null for a bias-free conv
 * @param gamma, beta, mean, variance per output channel
 */
export function foldBatchNorm(
  convW: Float32Array,
  convB: Float32Array | null,
  gamma: Float32Array,
  beta: Float32Array,
  mean: Float32Array,
  variance: Float32Array,
  eps: number,
  options: FoldBatchNormOptions = {},
): FoldedConv {
  const outC = gamma.length;
  for (const [label, a] of [['beta', beta], ['mean', mean], ['variance', variance]] as const) {
    if (a.length !== outC) throw new Error(`foldBatchNorm: ${label} has ${a.length} channels, gamma has ${outC}`);
  }
  if (convB && convB.length !== outC) throw new Error(`foldBatchNorm: conv bias has ${convB.length} channels, gamma has ${outC}`);
  if (outC === 0 || convW.length % outC !== 0) throw new Error(`foldBatchNorm: ${convW.length} weights do not split into ${outC} output channels`);

  const k = new Float64Array(outC);
  const bias = new Float32Array(outC);
  for (let o = 0; o < outC; o++) {
    k[o] = gamma[o]! / Math.sqrt(variance[o]! + eps);
    bias[o] = ((convB ? convB[o]! : 0) - mean[o]!) * k[o]! + beta[o]!;
  }

  const weight = new Float32Array(convW.length);
  if ((options.outChannelAxis ?? 0) === 0) {
    const per = convW.length / outC;
    for (let i = 0; i < convW.length; i++) weight[i] = convW[i]! * k[Math.floor(i / per)]!;
  } else {
    // [in, out, kh, kw]: the output channel index cycles every kh·kw elements.
    const shape = options.shape;
    if (!shape || shape.length !== 4 || shape[1] !== outC || shape.reduce((a, b) => a * b, 1) !== convW.length) {
      throw new Error(`foldBatchNorm: outChannelAxis 1 needs shape [in, ${outC}, kh, kw] matching ${convW.length} weights, got [${shape?.join(', ') ?? ''}]`);
    }
    const spatial = shape[2]! * shape[3]!;
    for (let i = 0; i < convW.length; i++) weight[i] = convW[i]! * k[Math.floor(i / spatial) % outC]!;
  }
  return { weight, bias };
}
