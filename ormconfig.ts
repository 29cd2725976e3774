// The DataSource for the TypeORM CLI (migrations), from the same environment variables as
// `npm start`: `npm run migration:run` (it builds first, then runs
// `typeorm migration:run -d dist/ormconfig.js`).
import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { databaseOptionsFromEnv } from './src/database.js';

export default new DataSource(databaseOptionsFromEnv());
