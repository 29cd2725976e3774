import sharp, { type Metadata } from 'sharp';
import { DataSource } from 'typeorm';
import type { PreviewInputOptions, PreviewPipeline, PreviewSharp, PreviewSharpVersions } from '../../src/attachments/index.js';
import { renderVersion } from '../../src/attachments/previews/preview-render.js';
import type { RunningApp } from './test-app.js';

/**
 * A wrapper of sharp as the host would pass it: with sharp's `versions` (the real ones unless
 * told otherwise, to play a host that upgraded sharp).
 */
export function withSharpVersions(
  render: (input: Buffer, options: PreviewInputOptions) => PreviewPipeline,
  versions: PreviewSharpVersions = sharp.versions,
): PreviewSharp {
  return Object.assign(render, { versions });
}

/** The ETag of a preview of this content at this size, made with the real sharp's versions. */
export function previewETag(sha256: string, size: number): string {
  return `"${sha256}-${size}-${renderVersion(sharp)}"`;
}

/** The real sharp, counting how often a preview is made with it. */
export function countingSharp(versions?: PreviewSharpVersions): { sharp: PreviewSharp; calls: () => number } {
  let calls = 0;
  return {
    sharp: withSharpVersions((input, options) => {
      calls += 1;
      return sharp(input, options);
    }, versions),
    calls: () => calls,
  };
}

/** The real sharp, each run held until the test lets it go; counts the runs under way. */
export function heldSharp() {
  const held: Array<() => void> = [];
  const control = {
    running: 0,
    most: 0,
    held,
    sharp: withSharpVersions((input, options) => {
      const pipeline = sharp(input, options);
      const toBuffer = pipeline.toBuffer.bind(pipeline);
      control.running += 1;
      control.most = Math.max(control.most, control.running);
      return Object.assign(pipeline, {
        toBuffer: async () => {
          await new Promise<void>((resolve) => held.push(resolve));
          try {
            return await toBuffer();
          } finally {
            control.running -= 1;
          }
        },
      });
    }),
  };
  return control;
}

/** Rows in the previews table, once the deletions that follow a replacing upload have finished. */
export async function previewRowCount(running: RunningApp): Promise<number> {
  await running.replacedDeleted();
  const [row] = await running.app
    .get(DataSource)
    .query<Array<{ n: string | number }>>('SELECT COUNT(*) AS n FROM session_attachment_previews');
  return Number(row?.n);
}

/** What a preview answer's body is, read back with sharp. */
export async function previewOf(response: Response): Promise<Metadata> {
  return sharp(Buffer.from(await response.arrayBuffer())).metadata();
}
