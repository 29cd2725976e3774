// `nestjs-session-attachments/cli`: the command for a host's nest-commander root. A separate
// entry so that an HTTP app never loads nest-commander or cli-progress.
export { RemoveOutdatedAttachmentsCommand } from './expiry/remove-outdated-attachments.command.js';
