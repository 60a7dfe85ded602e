// Each experiment's report renderer, by experiment name. The surfaces pass the
// renderer into a run (experiments never import reports: the layers only go
// down), so the pairing of an experiment with its page is written here, once.

import { renderAdditionReport } from './addition-report.js';
import { renderLmReport } from './lm-report.js';
import { renderSaeLmReport } from './sae-lm-report.js';
import { renderSaeReport } from './sae-report.js';
import { renderCrateReport } from './crate-report.js';
import { renderCrateMAEReport } from './crate-mae-report.js';
import { renderInteractionsReport } from './interactions-report.js';
import { renderScanSnapReport } from './scan-snap-report.js';
import { renderOversquashReport } from './oversquash-report.js';
import { renderJrtReport } from './jrt-report.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const REPORTS: Readonly<Record<string, (result: any, extra?: any) => string>> = {
  addition: renderAdditionReport,
  lm: renderLmReport,
  'sae-lm': renderSaeLmReport,
  'sae-addition': renderSaeReport,
  'crate-fashion': renderCrateReport,
  'crate-mae': renderCrateMAEReport,
  'interactions-addition': renderInteractionsReport,
  'scan-snap': renderScanSnapReport,
  oversquash: renderOversquashReport,
  jrt: renderJrtReport,
};
