/**
 * The models the server offers: `models/index.json`, which `perceptual serve` generates from
 * the model folders (see `src/infer/node/catalogue.ts`; the card type is
 * `src/models/model-folder.ts`'s `ModelCard`). Paths in it are relative to it.
 */
import type { CatalogueEntry } from '../../src/infer/node/catalogue.js';
import type { ModelCard, ModelTask } from '../../src/models/model-folder.js';

export interface WebModel {
  name: ModelCard['name'];
  task: ModelTask;
  title: ModelCard['title'];
  /** Upscaling factor of an SR model. */
  scale?: number;
  /** Absolute URL of the `.onnx` file. */
  url: string;
  /** Absolute URLs of sample images. */
  samples: string[];
}

export async function fetchCatalogue(indexUrl: string): Promise<WebModel[]> {
  const response = await fetch(indexUrl, { cache: 'no-cache' });
  if (!response.ok) throw new Error(`cannot list the models: ${indexUrl} answered HTTP ${response.status}`);
  // Untrusted JSON: typed as the catalogue writes it, but each field is still checked.
  const body = (await response.json()) as { models?: Partial<CatalogueEntry>[] };
  return (body.models ?? [])
    .filter((m): m is CatalogueEntry => (m.task === 'style' || m.task === 'sr') && typeof m.name === 'string' && typeof m.model === 'string')
    .map((m) => ({
      name: m.name,
      task: m.task,
      title: m.title || m.name,
      scale: m.task === 'sr' && typeof m.scale === 'number' ? m.scale : undefined,
      url: new URL(m.model, indexUrl).href,
      samples: (m.samples ?? []).map((s) => new URL(s, indexUrl).href),
    }));
}
