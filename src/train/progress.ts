/**
 * Progress for long runs: a live bar (loss, images/s, ETA) on a terminal, and a plain line
 * every few iterations when output goes to a file or CI log (a bar would be unreadable there).
 */
import cliProgress from 'cli-progress';

export interface ProgressFields {
  loss: number;
  imagesPerSecond: number;
  [key: string]: number | string;
}

export interface ProgressReporter {
  start(total: number, startValue: number): void;
  update(value: number, fields: ProgressFields): void;
  log(message: string): void;
  stop(): void;
}

export function formatEta(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : m > 0 ? `${m}m${String(r).padStart(2, '0')}s` : `${r}s`;
}

export function createProgress(options: { label: string; stream?: NodeJS.WriteStream; lineEvery?: number; quiet?: boolean }): ProgressReporter {
  const stream = options.stream ?? process.stderr;
  if (options.quiet) return { start() {}, update() {}, log() {}, stop() {} };
  let total = 0, started = 0, startValue = 0;
  const eta = (value: number) => {
    const rate = (value - startValue) / ((Date.now() - started) / 1000);
    return formatEta((total - value) / rate);
  };
  if (!stream.isTTY) {
    const every = options.lineEvery ?? 10;
    return {
      start(t, s) {
        total = t;
        startValue = s;
        started = Date.now();
      },
      update(value, f) {
        if (value % every !== 0 && value !== total) return;
        stream.write(`${options.label} ${value}/${total} loss ${f.loss.toPrecision(5)} ${f.imagesPerSecond.toFixed(2)} img/s ETA ${eta(value)}\n`);
      },
      log: (m) => void stream.write(m + '\n'),
      stop() {},
    };
  }
  const bar = new cliProgress.SingleBar(
    {
      format: `${options.label} {bar} {value}/{total} | loss {loss} | {ips} img/s | ETA {etaText}`,
      stream,
      hideCursor: true,
      clearOnComplete: false,
    },
    cliProgress.Presets.shades_classic,
  );
  return {
    start(t, s) {
      total = t;
      startValue = s;
      started = Date.now();
      bar.start(t, s, { loss: '-', ips: '-', etaText: '?' });
    },
    update(value, f) {
      bar.update(value, { loss: f.loss.toPrecision(5), ips: f.imagesPerSecond.toFixed(2), etaText: eta(value) });
    },
    log(m) {
      bar.stop();
      stream.write(m + '\n');
      bar.start(total, startValue, {});
    },
    stop: () => bar.stop(),
  };
}
