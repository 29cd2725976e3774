import { CreateSessionAttachments1764057600000 } from './1764057600000-create-session-attachments.js';
import { SessionAttachmentsPutFunction1764144000000 } from './1764144000000-session-attachments-put-function.js';
import { ClaimsAndSessionPutFunction1764230400000 } from './1764230400000-claims-and-session-put-function.js';
import { OwnerAdoptions1764316800000 } from './1764316800000-owner-adoptions.js';
import { InlineContent1764403200000 } from './1764403200000-inline-content.js';
import { SessionAttachmentPreviews1796157146965 } from './1796157146965-session-attachment-previews.js';
import { PutFunctionReportsAdoption1796240000000 } from './1796240000000-put-function-reports-adoption.js';
import { ResumableUploads1796500000000 } from './1796500000000-resumable-uploads.js';
import { PutFunctionRemovesPreviews1796600000000 } from './1796600000000-put-function-removes-previews.js';
import { PutFunctionUpdatesInPlace1796700000000 } from './1796700000000-put-function-updates-in-place.js';

/** The module's migrations, in order: add them to the host DataSource's `migrations`. */
export const attachmentsMigrations = [
  CreateSessionAttachments1764057600000,
  SessionAttachmentsPutFunction1764144000000,
  ClaimsAndSessionPutFunction1764230400000,
  OwnerAdoptions1764316800000,
  InlineContent1764403200000,
  SessionAttachmentPreviews1796157146965,
  PutFunctionReportsAdoption1796240000000,
  ResumableUploads1796500000000,
  PutFunctionRemovesPreviews1796600000000,
  PutFunctionUpdatesInPlace1796700000000,
];
