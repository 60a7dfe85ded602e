// Mathematical constants of the numeric path, each defined once, as literals.
// They are the correctly rounded f64 values (Math.LN2 and friends hold the
// same bits), written out so the numeric code never depends on what an
// engine computes at run time, and so a reader sees the number being used.

/** ln 2. */
export const LN2 = 0.6931471805599453;
/** log2 e = 1 / ln 2: nats to bits. */
export const LOG2E = 1.4426950408889634;
/** ln 10 and ln 9: the entropy in nats of a uniform decimal digit, and of a non-zero one. */
export const LN10 = 2.302585092994046;
export const LN9 = 2.1972245773362196;
/** log2 10, log2 9 and log2 14, the same entropies in bits (14: the addition task's vocabulary). */
export const LOG2_10 = 3.321928094887362;
export const LOG2_9 = 3.169925001442312;
export const LOG2_14 = 3.807354922057604;

/**
 * ln 2 split for exact range reduction (Cody and Waite; fdlibm's e_exp.c):
 * LN2_HI keeps 32 significant bits, so k * LN2_HI is exact for |k| < 2^21,
 * and LN2_HI + LN2_LO is ln 2 to about 2^-85.
 */
export const LN2_HI = 6.93147180369123816490e-1; // 0x3fe62e42 fee00000
export const LN2_LO = 1.90821492927058770002e-10; // 0x3dea39ef 35793c76
