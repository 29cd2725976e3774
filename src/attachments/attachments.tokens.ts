/** The options after defaults and validation: what every provider reads. */
export const RESOLVED_ATTACHMENTS_OPTIONS = Symbol('ResolvedAttachmentsOptions');
