/**
 * What the style and super-resolution datasets share: a folder of images listed once, a
 * {@link BatchLoader} that shuffles, decodes ahead and skips unreadable files, and the resume
 * position. Subclasses say how a file becomes a sample (`startLoader`'s `decode`) and how samples
 * become a batch (`next`).
 */
import { listImages } from './image-folder.js';
import { BatchLoader, type LoaderPosition, type LoaderStats } from './batch-loader.js';

export interface FolderDatasetOptions {
  dir: string;
  /** Samples per batch (default 4, the paper's). */
  batchSize?: number;
  /** Shuffle seed; epoch e is shuffled with seed + e (default 0). */
  seed?: number;
  /** Resume from the `position` of the last batch consumed. */
  position?: LoaderPosition;
  /** Batches prepared ahead (default 3). */
  prefetch?: number;
  /** Called once for each file left out (unreadable, or unusable for the task). */
  onSkip?: (file: string, reason: string) => void;
  signal?: AbortSignal;
  /** Data-parallel training: this rank's share of the stream (see BatchLoaderOptions.shard). */
  shard?: { rank: number; worldSize: number };
}

export abstract class FolderDataset<Sample, Options extends FolderDatasetOptions = FolderDatasetOptions> {
  readonly dir: string;
  readonly batchSize: number;
  readonly seed: number;
  protected files: string[] = [];
  protected loader?: BatchLoader<Sample>;

  constructor(
    protected readonly options: Options,
    defaultBatchSize: number,
    private readonly label: string,
  ) {
    this.dir = options.dir;
    this.batchSize = options.batchSize ?? defaultBatchSize;
    this.seed = options.seed ?? 0;
  }

  /** List the folder (once) and start preparing batches ahead with `decode`. */
  protected async startLoader(what: string, decode: (file: string, seed: number) => Promise<Sample>, signal?: AbortSignal): Promise<void> {
    this.files = await listImages(this.dir, { signal: signal ?? this.options.signal });
    this.loader = new BatchLoader<Sample>({
      files: this.files,
      batchSize: this.batchSize,
      seed: this.seed,
      position: this.options.position,
      prefetch: this.options.prefetch,
      onSkip: this.options.onSkip,
      signal: this.options.signal,
      shard: this.options.shard,
      name: `${what} in ${this.dir}`,
      decode: ({ file, seed }) => decode(file, seed),
    });
  }

  /** Number of image files found (usable or not). */
  get length(): number {
    return this.files.length;
  }

  /** Where to resume: the position after the last batch returned. */
  get position(): LoaderPosition {
    return this.ready().position;
  }

  /** Distinct files skipped so far. */
  get skipped(): number {
    return this.loader?.skipped ?? 0;
  }

  stats(): LoaderStats {
    return this.ready().stats();
  }

  /** Stop preparing batches. */
  close(): void {
    this.loader?.close();
  }

  protected ready(): BatchLoader<Sample> {
    if (!this.loader) throw new Error(`${this.label}: call init() before using it`);
    return this.loader;
  }
}
