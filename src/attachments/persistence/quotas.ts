/** The quotas checked inside the session's lock, so parallel uploads cannot overrun them. */
export interface BundleQuotas {
  filesPerBundle: number;
  bytesPerSession: number;
  bundlesPerSession: number;
}

/** What a session holds, read inside the session's lock just before a write. */
export interface SessionUsage {
  /** Files in the bundle being written. */
  filesInBundle: number;
  /** Distinct bundles of the session. */
  bundles: number;
  /** Bytes over all of the session's bundles. */
  bytes: number;
  /** Files of the bundle that the write replaces (same names), and their bytes. */
  filesReplaced: number;
  bytesReplaced: number;
}

export type QuotaRefusal = 'bundle_full' | 'too_many_bundles' | 'session_quota_exceeded';

/**
 * The quota a write of `incoming` files would break, if any. The PostgreSQL function
 * `session_attachments_put` applies the same rules in SQL (see its migration).
 */
export function quotaRefusal(
  usage: SessionUsage,
  incoming: { files: number; bytes: number },
  quotas: BundleQuotas,
): QuotaRefusal | undefined {
  if (usage.filesInBundle - usage.filesReplaced + incoming.files > quotas.filesPerBundle) return 'bundle_full';
  if (usage.filesInBundle === 0 && usage.bundles >= quotas.bundlesPerSession) return 'too_many_bundles';
  if (usage.bytes - usage.bytesReplaced + incoming.bytes > quotas.bytesPerSession) return 'session_quota_exceeded';
  return undefined;
}
