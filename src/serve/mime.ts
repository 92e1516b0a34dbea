/**
 * Content types for what `perceptual serve` hands out. Why a table rather than a package: the
 * set is small and fixed (a Vite build, onnxruntime-web's files, models and sample images), and
 * two entries are load-bearing — browsers compile WebAssembly with `instantiateStreaming` only
 * from `application/wasm`, and load ES modules (ort's `.mjs` workers) only with a JavaScript type.
 */
const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.onnx': 'application/octet-stream',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
  '.woff2': 'font/woff2',
};

/** The Content-Type for a file name (by extension, case-insensitive); unknown types are opaque bytes. */
export function contentType(file: string): string {
  const dot = file.lastIndexOf('.');
  return (dot >= 0 && TYPES[file.slice(dot).toLowerCase()]) || 'application/octet-stream';
}
