import { Logger, type INestApplication, type NestApplicationOptions } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import session, { type Store } from 'express-session';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TUS_EXPOSED_HEADERS } from './attachments/index.js';
import { documentAttachmentsRoutes } from './attachments/openapi.js';
import { AppModule, type DemoOverrides } from './app.module.js';
import { ephemeralSecret, type DemoConfig } from './demo-config.js';
import { openSessionStore } from './demo-session-store.js';

/** How the demo serves pages of another origin (the tests' SPA setups). */
export interface DemoServing {
  logger?: false;
  session?: boolean;
  /** CORS for a front end on another origin: `{ origin, credentials: true }`. */
  cors?: Exclude<NestApplicationOptions['cors'], boolean | undefined>;
  /** Serve HTTPS with this key and certificate (cross-site front ends need `Secure` cookies). */
  https?: { key: string | Buffer; cert: string | Buffer };
  /** The session cookie's SameSite: `lax` (the default) or `none` for a cross-site front end (HTTPS only). */
  sameSite?: 'lax' | 'none';
}

/** Builds the demo app (used by main.ts and by the end-to-end tests, so both run the same app). */
export async function createDemoApp(config: DemoConfig, options: DemoOverrides & DemoServing = {}): Promise<INestApplication> {
  const app = await NestFactory.create<NestExpressApplication>(AppModule.register(config, options), {
    ...(options.logger === false ? { logger: false } : {}),
    ...(options.https ? { httpsOptions: options.https } : {}),
    // No route of the demo reads a JSON or form body (uploads are multipart, read by the
    // module; tus PATCHes are raw): Nest's global parsers would only inspect every request.
    bodyParser: false,
  });
  // A resumable upload's client on another origin reads the tus headers (offsets, Location).
  if (options.cors) app.enableCors({ exposedHeaders: [...TUS_EXPOSED_HEADERS], ...options.cors });
  // `session: false` is for the test that proves the module's message when it is missing.
  if (options.session !== false) {
    const sessions = await openSessionStore(config.sessionStore).catch(async (error: unknown) => {
      await app.close();
      throw error;
    });
    // The store's connections end with the HTTP server, which app.close() closes.
    app.getHttpServer().once('close', () => void sessions.close());
    app.use(sessionMiddleware(config, sessions.store, options.sameSite ?? 'lax'));
  }
  // The demo page (public/): two drafts against the module's API.
  app.useStaticAssets(fileURLToPath(new URL('../../public', import.meta.url)));
  // Its resumable switch uploads with tus-js-client's browser bundle, served from the package.
  app.useStaticAssets(dirname(fileURLToPath(import.meta.resolve('tus-js-client/dist/tus.min.js'))), {
    prefix: '/vendor/tus-js-client/',
  });
  // The OpenAPI document at /api-json and its UI at /api, the module's routes described in it.
  documentAttachmentsRoutes();
  const document = () =>
    SwaggerModule.createDocument(
      app,
      new DocumentBuilder()
        .setTitle('nestjs-session-attachments demo')
        .setDescription('Temporary, session-owned file attachments')
        .build(),
    );
  SwaggerModule.setup('api', app, document);
  app.enableShutdownHooks();
  return app;
}

function sessionMiddleware(config: DemoConfig, store: Store, sameSite: 'lax' | 'none') {
  let secret = config.sessionSecret;
  if (!secret) {
    secret = ephemeralSecret();
    new Logger('Demo').warn('SESSION_SECRET is not set: using a random one, so sessions end when the process restarts');
  }
  return session({
    store,
    name: 'attachments.sid',
    secret,
    resave: false,
    // No cookie until a visitor uses the attachments routes (they write the session).
    saveUninitialized: false,
    // `none` lets a page of another site send the cookie, and browsers then demand `Secure`;
    // `Partitioned` keeps it where third-party cookies are blocked (it is kept per top-level
    // site: the front end's, which is the one that uses it).
    cookie:
      sameSite === 'none'
        ? { httpOnly: true, sameSite, secure: true, partitioned: true }
        : { httpOnly: true, sameSite, secure: 'auto' },
  });
}
