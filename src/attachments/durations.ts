import bytes from 'bytes';
import ms from 'ms';

/**
 * Durations and sizes as people write them (`15m`, `36h`, `50MB`) or as plain numbers
 * (milliseconds, bytes). Returns undefined for anything else, so callers can name the option
 * or argument that was wrong.
 */
export function parseDuration(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? value : undefined;
  if (typeof value !== 'string' || value.trim() === '') return undefined;
  const text = value.trim();
  const parsed = /^\d+(\.\d+)?$/.test(text) ? Number(text) : ms(text as ms.StringValue);
  return typeof parsed === 'number' && Number.isFinite(parsed) && parsed >= 0 ? parsed : undefined;
}

export function parseByteSize(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isSafeInteger(value) && value >= 0 ? value : undefined;
  if (typeof value !== 'string' || value.trim() === '') return undefined;
  const parsed = bytes.parse(value.trim());
  return typeof parsed === 'number' && Number.isSafeInteger(parsed) && parsed >= 0 ? parsed : undefined;
}

export function formatDuration(milliseconds: number): string {
  return ms(Math.round(milliseconds), { long: false });
}

export function formatBytes(size: number): string {
  return bytes.format(size, { unitSeparator: ' ' }) ?? `${size} B`;
}
