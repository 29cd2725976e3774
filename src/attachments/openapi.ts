// `nestjs-session-attachments/openapi`: the module's routes and JSON described for
// @nestjs/swagger. A separate entry so that an app without Swagger never loads it.
export { documentAttachmentsRoutes } from './http/openapi.js';
export { AttachmentErrorJsonDto, AttachmentJsonDto } from './http/openapi-schemas.js';
