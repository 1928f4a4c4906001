/**
 * The one bridge between the library and the tslab kernel's display channel.
 *
 * tslab's public `display.*` functions send one mime type per message. Jupyter lets one
 * display_data message carry several (a mime bundle): JupyterLab then renders the richest it
 * knows (e.g. the interactive vega-lite spec) and nbconvert's HTML uses the first it can show
 * statically (e.g. image/svg+xml). So we publish bundles through the writer tslab itself uses,
 * `lastWriteDisplayData` in tslab/dist/jupyter, which is set while a cell executes.
 */
import { randomUUID } from 'crypto';

/**
 * A Jupyter mime bundle: mime type to text, base64 for binary types such as image/png, or the
 * JSON object itself for JSON types such as application/vnd.vegalite.v5+json (a string there
 * would be read as a URL by vega-embed).
 */
export type MimeBundle = Record<string, string | object>;

interface DisplayContent {
  data: MimeBundle;
  metadata: Record<string, unknown>;
  transient: { display_id?: string };
}
type WriteDisplayData = (content: DisplayContent, update: boolean) => void;

function kernelWriter(): WriteDisplayData | undefined {
  try {
    // Internal module of tslab (no types); its writer is null outside a running kernel.
    // Loaded lazily, inside the try: a static import would load tslab's TypeScript compiler into every process
    // that uses lib/, and a tslab without this module must mean "no kernel", not a crash.
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- a lazy load on purpose, as said above
    const jupyter = require('tslab/dist/jupyter') as { lastWriteDisplayData?: WriteDisplayData | null };
    return jupyter.lastWriteDisplayData ?? undefined;
  } catch {
    return undefined;
  }
}

/** True while code runs inside a tslab notebook cell (JupyterLab, or a headless nbclient run). */
export function inKernel(): boolean {
  return kernelWriter() !== undefined;
}

/** Shows a mime bundle as a cell output. Returns false (and shows nothing) outside a kernel. */
export function publishBundle(bundle: MimeBundle, metadata: Record<string, unknown> = {}): boolean {
  const write = kernelWriter();
  write?.({ data: bundle, metadata, transient: {} }, false);
  return write !== undefined;
}

/**
 * One output that later calls replace in place (update_display_data), for progress bars and
 * live charts. Outside a kernel, `show` does nothing and returns false.
 */
export class LiveOutput {
  private readonly displayId = randomUUID();
  private shown = false;

  show(bundle: MimeBundle, metadata: Record<string, unknown> = {}): boolean {
    const write = kernelWriter();
    if (!write) return false;
    write({ data: bundle, metadata, transient: { display_id: this.displayId } }, this.shown);
    this.shown = true;
    return true;
  }
}
