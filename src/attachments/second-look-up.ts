import { isAttachmentsException } from './attachments.errors.js';

/**
 * Uses what `find` looks up; when `use` finds its bytes gone (`not_found`: a replace or delete
 * committed between the look-up and the read took the old bytes away), looks the name up once
 * more and uses what it is now. A `not_found` of the look-up itself is the answer. The download,
 * `AttachmentsService.open` and the preview route all read this way.
 */
export async function withSecondLookUp<Found, Result>(
  find: () => Promise<Found>,
  use: (found: Found) => Promise<Result>,
): Promise<Result> {
  const first = await find();
  try {
    return await use(first);
  } catch (error) {
    if (!isAttachmentsException(error, 'not_found')) throw error;
  }
  return use(await find());
}
