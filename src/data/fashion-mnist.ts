// Fashion-MNIST from its IDX files: 28×28 grey images of ten kinds of clothing,
// 60,000 for training and 10,000 for test. Debian's `dataset-fashion-mnist`
// installs them (gzipped) under /usr/share/datasets/fashion-mnist/; `--data DIR`
// points elsewhere. Plain or .gz files are both read.
//
// IDX layout (big-endian): a magic word 0x000008TT (TT = dimension count: 3 for
// images, 1 for labels), one u32 per dimension, then the u8 values row-major.

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';

export const DEFAULT_FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';

export const FASHION_MNIST_CLASSES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'] as const;

/** Mean and standard deviation of the training pixels scaled to [0, 1] (the figures the field uses). */
export const FASHION_MNIST_MEAN = 0.286;
export const FASHION_MNIST_STD = 0.353;

export type Split = 'train' | 'test';

export interface ImageSet {
  /** Pixels, u8, image after image, row-major. */
  pixels: Uint8Array;
  labels: Uint8Array;
  count: number;
  rows: number;
  cols: number;
}

const FILES: Record<Split, { images: string; labels: string }> = {
  train: { images: 'train-images-idx3-ubyte', labels: 'train-labels-idx1-ubyte' },
  test: { images: 't10k-images-idx3-ubyte', labels: 't10k-labels-idx1-ubyte' },
};

export class DatasetMissingError extends Error {
  constructor(dir: string, file: string) {
    super(
      `Fashion-MNIST not found: no ${file} (or ${file}.gz) in ${dir}. ` +
        `Install it with \`sudo apt-get install dataset-fashion-mnist\` (files land in ${DEFAULT_FASHION_MNIST_DIR}), or pass --data DIR with the four IDX files.`,
    );
    this.name = 'DatasetMissingError';
  }
}

function readMaybeGz(dir: string, base: string): { path: string; bytes: Uint8Array } {
  for (const name of [base, `${base}.gz`]) {
    const path = join(dir, name);
    if (!existsSync(path)) continue;
    let bytes: Uint8Array = readFileSync(path);
    if (name.endsWith('.gz')) {
      try {
        bytes = gunzipSync(bytes);
      } catch (e) {
        throw new Error(`${path}: not a valid gzip file (${(e as Error).message})`);
      }
    }
    return { path, bytes };
  }
  throw new DatasetMissingError(dir, base);
}

/** Parse one IDX buffer, checking the magic word, the dimension count and that the sizes fill the file exactly. */
export function parseIdx(bytes: Uint8Array, expectDims: number, path: string): { dims: number[]; values: Uint8Array } {
  if (bytes.length < 4) throw new Error(`${path}: ${bytes.length} bytes is too short for an IDX header`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = view.getUint32(0, false);
  const expectMagic = 0x00000800 | expectDims;
  if (magic !== expectMagic) {
    throw new Error(`${path}: bad IDX magic 0x${magic.toString(16).padStart(8, '0')}, expected 0x${expectMagic.toString(16).padStart(8, '0')} (u8 data, ${expectDims} dimensions)`);
  }
  const header = 4 + 4 * expectDims;
  if (bytes.length < header) throw new Error(`${path}: ${bytes.length} bytes is too short for a ${expectDims}-dimension IDX header`);
  const dims: number[] = [];
  for (let i = 0; i < expectDims; i++) dims.push(view.getUint32(4 + 4 * i, false));
  const n = dims.reduce((a, b) => a * b, 1);
  if (bytes.length !== header + n) {
    throw new Error(`${path}: the header promises ${dims.join('×')} = ${n} values but the file holds ${bytes.length - header}`);
  }
  return { dims, values: bytes.subarray(header) };
}

/** Load one split (optionally only its first `limit` images), validated. */
export function loadFashionMnist(split: Split, opts: { dir?: string; limit?: number } = {}): ImageSet {
  const dir = opts.dir ?? DEFAULT_FASHION_MNIST_DIR;
  if (!existsSync(dir)) throw new DatasetMissingError(dir, FILES[split].images);
  const img = readMaybeGz(dir, FILES[split].images);
  const lab = readMaybeGz(dir, FILES[split].labels);
  const images = parseIdx(img.bytes, 3, img.path);
  const labels = parseIdx(lab.bytes, 1, lab.path);
  const [count, rows, cols] = images.dims;
  if (labels.dims[0] !== count) throw new Error(`${lab.path}: ${labels.dims[0]} labels for the ${count} images of ${img.path}`);
  for (let i = 0; i < count; i++) {
    if (labels.values[i] > 9) throw new Error(`${lab.path}: label ${labels.values[i]} at index ${i} is outside 0-9`);
  }
  const n = opts.limit === undefined ? count : Math.min(count, opts.limit);
  return { pixels: images.values.slice(0, n * rows * cols), labels: labels.values.slice(0, n), count: n, rows, cols };
}

/**
 * Images `idx` as a normalised f32 batch [B, 1, rows, cols]: (pixel/255 − mean)/std.
 */
export function imageBatch(set: ImageSet, idx: ArrayLike<number>): { pixels: Float32Array; labels: Int32Array } {
  const P = set.rows * set.cols;
  const B = idx.length;
  const pixels = new Float32Array(B * P);
  const labels = new Int32Array(B);
  const scale = 1 / (255 * FASHION_MNIST_STD);
  const shift = -FASHION_MNIST_MEAN / FASHION_MNIST_STD;
  for (let b = 0; b < B; b++) {
    const i = idx[b];
    const src = i * P;
    for (let p = 0; p < P; p++) pixels[b * P + p] = set.pixels[src + p] * scale + shift;
    labels[b] = set.labels[i];
  }
  return { pixels, labels };
}

/** The default directory, or the one given; exported for CLIs that want to say where they looked. */
export function fashionMnistDir(dir?: string): string {
  return dir ?? DEFAULT_FASHION_MNIST_DIR;
}
