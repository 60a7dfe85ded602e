// linalg: small dense linear algebra in f64 with a fixed loop order, for
// quantities such as the coding rate (log det of I + a*Z Z^T). Inputs may be
// f32 or f64; all arithmetic is f64 and the result does not depend on the
// input's array type beyond its values.

import * as dm from './detmath.js';

/** A square matrix in row-major order, n*n entries. */
export type SquareMatrix = Float64Array | Float32Array | readonly number[];

/** Thrown when a matrix given as symmetric positive-definite is not (numerically). */
export class NotPositiveDefiniteError extends Error {
  constructor(
    readonly pivotIndex: number,
    readonly pivotValue: number,
  ) {
    super(
      `cholesky: matrix is not positive-definite: pivot ${pivotIndex} is ${pivotValue} ` +
        `(it must be > 0; check symmetry, conditioning, or add a ridge to the diagonal)`,
    );
    this.name = 'NotPositiveDefiniteError';
  }
}

function checkSquare(a: SquareMatrix, n: number, fn: string): void {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`${fn}: n must be a non-negative integer, got ${n}`);
  if (a.length !== n * n) throw new RangeError(`${fn}: expected ${n}x${n} = ${n * n} entries, got ${a.length}`);
}

/**
 * Cholesky factor-and-pivots of an SPD matrix. Returns L (row-major, lower
 * triangle, zeros above the diagonal) with A = L L^T, and the pivots
 * d_i = L_ii^2 (before the square root). Only the lower triangle of A is read.
 * Order (Cholesky-Banachiewicz): rows i ascending; within a row, j ascending;
 * each dot product sums k ascending from 0.
 */
function factor(a: SquareMatrix, n: number, fn: string): { l: Float64Array; pivots: Float64Array } {
  checkSquare(a, n, fn);
  const l = new Float64Array(n * n);
  const pivots = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const ri = i * n;
    for (let j = 0; j <= i; j++) {
      const rj = j * n;
      let sum = +a[ri + j];
      for (let k = 0; k < j; k++) sum -= l[ri + k] * l[rj + k];
      if (i === j) {
        if (!(sum > 0) || sum === Infinity) throw new NotPositiveDefiniteError(i, sum);
        pivots[i] = sum;
        l[ri + i] = Math.sqrt(sum);
      } else {
        l[ri + j] = sum / l[rj + j];
      }
    }
  }
  return { l, pivots };
}

/**
 * The lower Cholesky factor L of a symmetric positive-definite n x n matrix A
 * (row-major), A = L L^T, as a row-major Float64Array with zeros above the
 * diagonal. Only the lower triangle of A is read. Throws
 * NotPositiveDefiniteError naming the first pivot that is not > 0.
 */
export function cholesky(a: SquareMatrix, n: number): Float64Array {
  return factor(a, n, 'cholesky').l;
}

/**
 * log det A for a symmetric positive-definite n x n matrix A (row-major), as
 * sum_i log(d_i) over the Cholesky pivots d_i = L_ii^2 (i ascending, f64,
 * detmath.log). log det of the 0 x 0 matrix is 0. Throws
 * NotPositiveDefiniteError naming the failing pivot.
 */
export function choleskyLogdet(a: SquareMatrix, n: number): number {
  const { pivots } = factor(a, n, 'choleskyLogdet');
  let s = 0;
  for (let i = 0; i < n; i++) s += dm.log(pivots[i]);
  return s;
}
