import { Logger, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import session, { type Store } from 'express-session';
import { fileURLToPath } from 'node:url';
import { documentAttachmentsRoutes } from './attachments/openapi.js';
import { AppModule, type DemoOverrides } from './app.module.js';
import { ephemeralSecret, type DemoConfig } from './demo-config.js';
import { openSessionStore } from './demo-session-store.js';

/** Builds the demo app (used by main.ts and by the end-to-end tests, so both run the same app). */
export async function createDemoApp(
  config: DemoConfig,
  options: DemoOverrides & { logger?: false; session?: boolean } = {},
): Promise<INestApplication> {
  const app = await NestFactory.create<NestExpressApplication>(AppModule.register(config, options), {
    ...(options.logger === false ? { logger: false } : {}),
  });
  // `session: false` is for the test that proves the module's message when it is missing.
  if (options.session !== false) {
    const sessions = await openSessionStore(config.sessionStore).catch(async (error: unknown) => {
      await app.close();
      throw error;
    });
    // The store's connections end with the HTTP server, which app.close() closes.
    app.getHttpServer().once('close', () => void sessions.close());
    app.use(sessionMiddleware(config, sessions.store));
  }
  // The demo page (public/): two drafts against the module's API.
  app.useStaticAssets(fileURLToPath(new URL('../../public', import.meta.url)));
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

function sessionMiddleware(config: DemoConfig, store: Store | undefined) {
  let secret = config.sessionSecret;
  if (!secret) {
    secret = ephemeralSecret();
    new Logger('Demo').warn('SESSION_SECRET is not set: using a random one, so sessions end when the process restarts');
  }
  return session({
    ...(store ? { store } : {}),
    name: 'attachments.sid',
    secret,
    resave: false,
    // No cookie until a visitor uses the attachments routes (they write the session).
    saveUninitialized: false,
    cookie: { httpOnly: true, sameSite: 'lax', secure: 'auto' },
  });
}
