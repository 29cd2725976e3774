// (b) The baseline: what Nest's docs teach, written by hand. Multer's disk storage behind
// AnyFilesInterceptor, then a TypeORM insert of the same metadata. No sessions, no hashing.
import './exit-on-sigterm.js';
import 'reflect-metadata';
import { Controller, Get, Module, Param, Post, Res, UploadedFiles, UseInterceptors } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AnyFilesInterceptor } from '@nestjs/platform-express';
import { InjectRepository, TypeOrmModule } from '@nestjs/typeorm';
import type { Response } from 'express';
import { diskStorage } from 'multer';
import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn, type Repository } from 'typeorm';

const directory = process.env.UPLOAD_DIR ?? 'var/baseline';

@Entity('baseline_uploads')
@Index(['bundle', 'name'])
@Index(['created'])
export class Upload {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @Column() bundle!: string;
  @Column() name!: string;
  @Column() mimetype!: string;
  @Column('bigint') size!: number;
  @Column() path!: string;
  @CreateDateColumn({ type: 'timestamptz' }) created!: Date;
}

@Controller('baseline')
class UploadController {
  constructor(@InjectRepository(Upload) private readonly uploads: Repository<Upload>) {}

  @Post(':bundle')
  @UseInterceptors(AnyFilesInterceptor({ storage: diskStorage({ destination: directory }) }))
  async upload(@Param('bundle') bundle: string, @UploadedFiles() files: Express.Multer.File[]) {
    const rows = await this.uploads.save(
      files.map((file) =>
        this.uploads.create({ bundle, name: file.originalname, mimetype: file.mimetype, size: file.size, path: file.path }),
      ),
    );
    return rows.map(({ name, mimetype, size, created }) => ({ name, mimetype, size, created }));
  }

  @Get(':bundle')
  list(@Param('bundle') bundle: string) {
    return this.uploads.find({
      where: { bundle },
      order: { name: 'ASC' },
      select: { name: true, mimetype: true, size: true, created: true },
    });
  }

  @Get(':bundle/:name')
  async download(@Param('bundle') bundle: string, @Param('name') name: string, @Res() response: Response) {
    const row = await this.uploads.findOneByOrFail({ bundle, name });
    response.sendFile(row.path);
  }
}

@Module({
  imports: [
    TypeOrmModule.forRoot({ type: 'postgres', url: process.env.DATABASE_URL, entities: [Upload], synchronize: true }),
    TypeOrmModule.forFeature([Upload]),
  ],
  controllers: [UploadController],
})
class BaselineModule {}

const app = await NestFactory.create(BaselineModule, { logger: false });
await app.listen(Number(process.env.PORT), '127.0.0.1');
process.stdout.write('ready\n');
