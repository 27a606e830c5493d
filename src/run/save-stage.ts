/**
 * --save in the run: the save directory made (and on --resume cleaned of the temporary files a
 * killed run left), each input's directories made before it is fetched, and, on --resume, an
 * input whose file an earlier run renamed into place but died before recording taken from that
 * file, with no request.
 */
import type { SaveBody } from '../http/body-sink.js';
import type { PlannedRequest } from '../plan/planner.js';
import { compileSaveTemplate } from '../plan/save-path.js';
import { expectedStatus, type ResponseChecks } from '../record/checks.js';
import { unsentRecord, type FetchRecord } from '../record/record.js';
import type { Redactor } from '../record/redact.js';
import { SaveDir } from '../save/save-dir.js';

/** What --resume knows of the files an earlier run saved. */
export interface SavedFilesResume {
  /** True when an earlier record saw the file at `path` with another size: it is fetched again, not taken as it is. */
  isChanged(path: string): boolean;
}

export interface SaveStage {
  /** One attempt's way to the input's file. */
  bodyFor(path: string): SaveBody;
  /** The record of an input settled without a request, or undefined to fetch it. */
  beforeFetch(plan: PlannedRequest): Promise<FetchRecord | undefined> | undefined;
}

export async function saveStage(
  template: string,
  maxFileBytes: number,
  checks: ResponseChecks,
  redactor: Redactor,
  resume: SavedFilesResume | undefined,
): Promise<SaveStage> {
  const dir = new SaveDir({ dir: compileSaveTemplate(template).dir, maxBytes: maxFileBytes, accepts: expectedStatus(checks) });
  await dir.open();
  if (resume !== undefined) await dir.removeStaleTemps();

  async function settle(plan: PlannedRequest, path: string): Promise<FetchRecord | undefined> {
    if (resume !== undefined && !resume.isChanged(path)) {
      const saved = await dir.found(path);
      if (saved !== undefined) return unsentRecord(plan, { saved }, redactor);
    }
    const refusal = await dir.prepare(path);
    return refusal && unsentRecord(plan, { failure: refusal, final: refusal.final }, redactor);
  }

  return {
    bodyFor: (path) => dir.bodyFor(path),
    beforeFetch: (plan) => (plan.save === undefined ? undefined : settle(plan, plan.save)),
  };
}
