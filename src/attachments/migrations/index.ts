import { CreateSessionAttachments1764057600000 } from './1764057600000-create-session-attachments.js';

/** The module's migrations, in order: add them to the host DataSource's `migrations`. */
export const attachmentsMigrations = [CreateSessionAttachments1764057600000];
