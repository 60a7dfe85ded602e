// The constants the kernels share, as the same f64 values as
// src/engine/constants.ts (AssemblyScript cannot import the TypeScript
// modules): 1/ln 2, and ln 2 in two parts for exact range reduction
// (LN2_HI has 32 significant bits, so k * LN2_HI is exact for |k| < 2^21).

export const INV_LN2: f64 = 1.4426950408889634;
export const LN2_HI: f64 = 0.6931471803691238;
export const LN2_LO: f64 = 1.9082149292705877e-10;
