/**
 * The page: choose a model, drop or pick an image (or start the camera), see the result and
 * how long it took, download it. All inference goes through the worker ({@link InferenceClient}).
 */
import { copyPixels, decodeImage, draw } from './canvas-image.js';
import type { WebModel } from './catalogue.js';
import type { InferenceClient, RunHandle } from './inference-client.js';
import type { Pixels, RunResult } from './protocol.js';
import { WebcamLoop } from './webcam.js';
import { DEFAULT_DENOISE } from '../../src/video/temporal-denoise.js';

export type Mode = 'image' | 'webcam' | 'upscale';

export interface RunOptions {
  model?: WebModel;
  strength?: number;
  preserveColor?: boolean;
  tileSize?: number;
}

function $<T extends HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`the page has no #${id}`);
  return el as T;
}

export class App {
  mode: Mode = 'image';
  backend: string;
  /** The current input image (kept: each run transfers a copy to the worker). */
  image: Pixels | undefined;
  imageName = 'image';
  result: { pixels: Pixels; model: WebModel; ms: number } | undefined;
  readonly webcam: WebcamLoop;
  private current: RunHandle | undefined;
  private generation = 0;

  private readonly el = {
    backend: $<HTMLSpanElement>('backend'),
    model: $<HTMLSelectElement>('model'),
    strength: $<HTMLInputElement>('strength'),
    strengthValue: $<HTMLOutputElement>('strength-value'),
    preserve: $<HTMLInputElement>('preserve'),
    drop: $<HTMLDivElement>('drop'),
    file: $<HTMLInputElement>('file'),
    sample: $<HTMLButtonElement>('sample'),
    input: $<HTMLCanvasElement>('input-canvas'),
    inputCaption: $<HTMLElement>('input-caption'),
    result: $<HTMLCanvasElement>('result'),
    time: $<HTMLElement>('time'),
    progress: $<HTMLProgressElement>('progress'),
    download: $<HTMLButtonElement>('download'),
    imagePane: $<HTMLElement>('image-pane'),
    webcamPane: $<HTMLElement>('webcam-pane'),
    webcamToggle: $<HTMLButtonElement>('webcam-toggle'),
    webcamSize: $<HTMLSelectElement>('webcam-size'),
    webcamDenoise: $<HTMLInputElement>('webcam-denoise'),
    fps: $<HTMLElement>('fps'),
    video: $<HTMLVideoElement>('video'),
    webcamCanvas: $<HTMLCanvasElement>('webcam-canvas'),
    status: $<HTMLParagraphElement>('status'),
  };

  constructor(private readonly client: InferenceClient, readonly models: WebModel[], backend: string) {
    this.backend = backend;
    this.setBackend(backend);
    this.webcam = new WebcamLoop(
      client,
      this.el.video,
      this.el.webcamCanvas,
      () => ({ model: this.selectedModel()?.url ?? '', size: Number(this.el.webcamSize.value), strength: this.strength, preserveColor: this.el.preserve.checked, denoise: this.el.webcamDenoise.checked ? DEFAULT_DENOISE : 0 }),
      (fps, w, h, ms) => {
        this.el.fps.textContent = `${fps.toFixed(1)} fps · ${w}×${h} · ${ms.toFixed(0)} ms/frame`;
        this.el.fps.dataset.fps = String(fps);
      },
      (e) => {
        this.el.webcamToggle.textContent = 'Start camera';
        this.showError(e);
      },
    );
    this.wire();
    this.setMode('image');
    if (!models.some((m) => m.task === 'style')) this.status('No style models are installed on this server (models/<name>/card.json + model.onnx).', true);
  }

  get strength(): number {
    return Number(this.el.strength.value);
  }

  setBackend(label: string): void {
    this.backend = label;
    this.el.backend.textContent = label;
    this.el.backend.dataset.backend = label.startsWith('WebGPU') ? 'webgpu' : 'wasm';
  }

  /** The model chosen for the current mode. */
  selectedModel(): WebModel | undefined {
    return this.models.find((m) => m.url === this.el.model.value);
  }

  setMode(mode: Mode): void {
    if (mode !== 'webcam' && this.webcam.running) this.stopWebcam();
    this.mode = mode;
    const task = mode === 'upscale' ? 'sr' : 'style';
    for (const b of document.querySelectorAll<HTMLButtonElement>('.modes button')) {
      b.setAttribute('aria-selected', String(b.dataset.mode === mode));
      if (b.dataset.mode === 'upscale') {
        b.disabled = !this.models.some((m) => m.task === 'sr');
        b.title = b.disabled ? 'no super-resolution model is installed on this server' : '';
      }
    }
    const previous = this.el.model.value;
    this.el.model.replaceChildren(
      ...this.models.filter((m) => m.task === task).map((m) => new Option(m.task === 'sr' && m.scale ? `${m.title} (×${m.scale})` : m.title, m.url)),
    );
    if ([...this.el.model.options].some((o) => o.value === previous)) this.el.model.value = previous;
    for (const el of document.querySelectorAll<HTMLElement>('.style-only')) el.classList.toggle('disabled', task !== 'style');
    this.el.strength.disabled = this.el.preserve.disabled = task !== 'style';
    this.el.imagePane.hidden = mode === 'webcam';
    this.el.webcamPane.hidden = mode !== 'webcam';
    this.el.sample.hidden = !this.selectedModel()?.samples.length;
    if (mode !== 'webcam' && this.image) void this.runCurrent().catch(() => undefined);
  }

  /** Use `pixels` as the input image and run the current model on it. */
  async setImage(pixels: Pixels, name: string, options?: RunOptions): Promise<RunResult | undefined> {
    this.image = pixels;
    this.imageName = name.replace(/\.[^.]+$/, '') || 'image';
    draw(this.el.input, pixels);
    this.el.inputCaption.textContent = `${name} · ${pixels.width}×${pixels.height}`;
    return this.runCurrent(options);
  }

  /** Run the current (or given) model on the current image; a newer run cancels an older one. */
  async runCurrent(options: RunOptions = {}): Promise<RunResult | undefined> {
    const image = this.image;
    const model = options.model ?? this.selectedModel();
    if (!image || !model) return undefined;
    this.current?.cancel();
    const generation = ++this.generation;
    const upscale = model.task === 'sr';
    this.status(`${upscale ? 'Upscaling' : 'Stylising'} ${image.width}×${image.height} with ${model.title}…`);
    this.el.progress.hidden = false;
    this.el.progress.removeAttribute('value'); // indeterminate until the first tile reports
    const handle = this.client.run(
      {
        type: upscale ? 'upscale' : 'stylize',
        model: model.url,
        scale: model.scale,
        image: copyPixels(image),
        strength: options.strength ?? this.strength,
        preserveColor: options.preserveColor ?? this.el.preserve.checked,
        tileSize: options.tileSize,
      },
      (done, total) => {
        if (generation !== this.generation) return;
        this.el.progress.max = total;
        this.el.progress.value = done;
      },
    );
    this.current = handle;
    try {
      const result = await handle.result;
      if (generation !== this.generation) return result; // superseded: do not overwrite the newer result
      this.result = { pixels: result.image, model, ms: result.ms };
      draw(this.el.result, result.image);
      this.el.time.textContent = `${model.title} · ${result.image.width}×${result.image.height} · ${result.ms.toFixed(0)} ms`;
      this.el.time.dataset.ms = String(result.ms);
      this.el.download.disabled = false;
      this.status(`Done in ${(result.ms / 1000).toFixed(2)} s on ${this.backend}.`);
      return result;
    } catch (e) {
      if (generation === this.generation) this.showError(e as Error);
      throw e;
    } finally {
      if (generation === this.generation) {
        this.el.progress.hidden = true;
        this.current = undefined;
      }
    }
  }

  async startWebcam(): Promise<void> {
    if (this.mode !== 'webcam') this.setMode('webcam');
    this.el.webcamToggle.textContent = 'Stop camera';
    this.status('Starting the camera…');
    try {
      await this.webcam.start();
      this.status(`Stylising the camera live on ${this.backend}.`);
    } catch (e) {
      this.el.webcamToggle.textContent = 'Start camera';
      this.showError(e as Error);
      throw e;
    }
  }

  stopWebcam(): void {
    this.webcam.stop();
    this.el.webcamToggle.textContent = 'Start camera';
    this.status('Camera stopped.');
  }

  status(text: string, error = false): void {
    this.el.status.textContent = text;
    this.el.status.classList.toggle('error', error);
  }

  private showError(e: Error): void {
    if (e.message === 'cancelled') return;
    this.status(e.message, true);
  }

  private async openFile(file: File): Promise<void> {
    try {
      await this.setImage(await decodeImage(file), file.name);
    } catch (e) {
      this.showError(e as Error);
    }
  }

  private wire(): void {
    const { el } = this;
    for (const b of document.querySelectorAll<HTMLButtonElement>('.modes button')) {
      b.addEventListener('click', () => this.setMode(b.dataset.mode as Mode));
    }
    el.model.addEventListener('change', () => {
      el.sample.hidden = !this.selectedModel()?.samples.length;
      if (this.mode !== 'webcam') void this.runCurrent().catch(() => undefined);
    });
    el.strength.addEventListener('input', () => (el.strengthValue.textContent = this.strength.toFixed(2)));
    // Re-run when the slider is released, not on every step of a drag.
    el.strength.addEventListener('change', () => void this.runCurrent().catch(() => undefined));
    el.preserve.addEventListener('change', () => void this.runCurrent().catch(() => undefined));
    el.file.addEventListener('change', () => {
      const f = el.file.files?.[0];
      if (f) void this.openFile(f);
      el.file.value = '';
    });
    el.drop.addEventListener('dragover', (e) => {
      e.preventDefault();
      el.drop.classList.add('over');
    });
    el.drop.addEventListener('dragleave', () => el.drop.classList.remove('over'));
    el.drop.addEventListener('drop', (e) => {
      e.preventDefault();
      el.drop.classList.remove('over');
      const f = [...(e.dataTransfer?.files ?? [])].find((x) => x.type.startsWith('image/')) ?? e.dataTransfer?.files[0];
      if (f) void this.openFile(f);
    });
    el.sample.addEventListener('click', () => {
      const url = this.selectedModel()?.samples[0];
      if (url) void decodeImage(url).then((p) => this.setImage(p, url.split('/').pop() ?? 'sample'), (e: Error) => this.showError(e));
    });
    el.download.addEventListener('click', () => {
      const r = this.result;
      if (!r) return;
      el.result.toBlob((blob) => {
        if (!blob) return this.status('the browser could not encode the result', true);
        const a = document.createElement('a');
        a.href = URL.createObjectURL(blob);
        a.download = `${this.imageName}-${r.model.name}.png`;
        a.click();
        setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
      }, 'image/png');
    });
    el.webcamToggle.addEventListener('click', () => {
      if (this.webcam.running) this.stopWebcam();
      else void this.startWebcam().catch(() => undefined);
    });
  }
}
