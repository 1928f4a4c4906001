/**
 * Debian's headless Chromium through playwright-core, for the browser checks (tests and the
 * JupyterLab screenshot). Offline by construction: only file:, data: and loopback requests go
 * through; anything else is refused and recorded.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

/** The flags this machine needs: no sandbox as root, no GPU, no background network traffic. */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

export interface HeadlessBrowser {
  context: BrowserContext;
  page: Page;
  /** URLs the page asked for and was refused (CDN scripts and the like). */
  blocked: string[];
  close(): Promise<void>;
}

export interface HeadlessChromiumOptions {
  /** false: pages run no scripts (what a reader with JavaScript off sees). Default true. */
  javaScriptEnabled?: boolean;
  /** Chromium's environment, e.g. FONTCONFIG_FILE for a machine with other fonts. Default: this process's. */
  env?: Record<string, string | undefined>;
}

export async function openHeadlessChromium(
  viewport = { width: 1000, height: 900 },
  options: HeadlessChromiumOptions = {},
): Promise<HeadlessBrowser> {
  if (!fs.existsSync(CHROMIUM)) {
    throw new Error(
      `${CHROMIUM} is missing: install it with \`bash scripts/setup.sh --browser\` (Debian package chromium).`,
    );
  }
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'chromium-profile-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport,
    javaScriptEnabled: options.javaScriptEnabled ?? true,
    ...(options.env ? { env: options.env } : {}),
  });
  const blocked: string[] = [];
  await context.route('**/*', (route) => {
    const url = route.request().url();
    if (/^(file|data|blob):/.test(url) || /^(http|ws)s?:\/\/127\.0\.0\.1[:/]/.test(url)) return route.continue();
    blocked.push(url);
    return route.abort();
  });
  const page = context.pages()[0] ?? (await context.newPage());
  return {
    context,
    page,
    blocked,
    close: async () => {
      await context.close();
      fs.rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}
