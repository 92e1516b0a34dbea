/** The image transformation networks and the rebuilding of one from its model card config. */
import { TransformerNet, type TransformerNetConfig } from './transformer-net.js';

export * from './architecture.js';
export * from './transformer-net.js';
export * from './sr-net.js';

/** Registry entry point: rebuild any network from its (JSON) `config`. */
export function modelFromConfig(config: unknown): TransformerNet {
  return TransformerNet.fromConfig(config);
}
export type ModelConfig = TransformerNetConfig;
