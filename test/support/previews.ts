import sharp, { type Metadata } from 'sharp';
import { DataSource } from 'typeorm';
import type { PreviewSharp } from '../../src/attachments/index.js';
import type { RunningApp } from './test-app.js';

/** The real sharp, counting how often a preview is made with it. */
export function countingSharp(): { sharp: PreviewSharp; calls: () => number } {
  let calls = 0;
  return {
    sharp: (input, options) => {
      calls += 1;
      return sharp(input, options);
    },
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
    sharp: ((input, options) => {
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
    }) as PreviewSharp,
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
