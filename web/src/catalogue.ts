/**
 * The models the server offers: `models/index.json`, which `perceptual serve` generates from
 * the model folders (see `src/infer/node/catalogue.ts`). Paths in it are relative to it.
 */
export interface WebModel {
  name: string;
  task: 'style' | 'sr';
  title: string;
  scale?: number;
  /** Absolute URL of the `.onnx` file. */
  url: string;
  /** Absolute URLs of sample images. */
  samples: string[];
}

export async function fetchCatalogue(indexUrl: string): Promise<WebModel[]> {
  const response = await fetch(indexUrl, { cache: 'no-cache' });
  if (!response.ok) throw new Error(`cannot list the models: ${indexUrl} answered HTTP ${response.status}`);
  const body = (await response.json()) as { models?: { name: string; task: string; title?: string; scale?: number; model: string; samples?: string[] }[] };
  return (body.models ?? [])
    .filter((m) => m.task === 'style' || m.task === 'sr')
    .map((m) => ({
      name: m.name,
      task: m.task as 'style' | 'sr',
      title: m.title || m.name,
      scale: m.scale,
      url: new URL(m.model, indexUrl).href,
      samples: (m.samples ?? []).map((s) => new URL(s, indexUrl).href),
    }));
}
