// What a renderer may need beyond the decision: where the config lives and
// which of its lines defines what a finding is about (for formats that need a
// location for every finding), and the folder paths are relative to.
import type { DefinedIds } from '../engine/config/definitions.ts';

export interface RenderContext {
  /** The config file, as given; made relative to `root`. */
  configFile?: string;
  /** The config line that defines a finding's entitlement, exception or product. */
  configLine?: (ids: DefinedIds) => number;
  /** Absolute paths are shown relative to this folder (the repository root); default the working directory. */
  root?: string;
}
