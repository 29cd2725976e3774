import { crc32, deflateSync } from 'node:zlib';
import sharp, { type Sharp } from 'sharp';

/** A noisy test image (noise keeps the encoders from making it trivially small). */
export function testImage(width: number, height: number): Sharp {
  return sharp({
    create: {
      width,
      height,
      channels: 3,
      background: { r: 40, g: 120, b: 200 },
      noise: { type: 'gaussian', mean: 128, sigma: 30 },
    },
  });
}

/** A test image of one colour: small in any format. */
export function flatImage(width: number, height: number, colour = 'teal'): Sharp {
  return sharp({ create: { width, height, channels: 3, background: colour } });
}

/** Two frames, red then blue, joined into an animated GIF. */
export async function animatedGif(width: number, height: number): Promise<Buffer> {
  const frame = (colour: string) => flatImage(width, height, colour).png().toBuffer();
  return sharp([await frame('red'), await frame('blue')], { join: { animated: true } })
    .gif()
    .toBuffer();
}

/**
 * A decompression bomb: a PNG of a few hundred bytes whose header declares `width` × `height`
 * RGB pixels (50,000 × 50,000 is 7.5 GB decoded). Its data is a little deflated zeros.
 */
export function pngBomb(width: number, height: number): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    const checksum = Buffer.alloc(4);
    checksum.writeUInt32BE(crc32(body));
    return Buffer.concat([length, body, checksum]);
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 2, 0, 0, 0], 8); // 8 bits, RGB, deflate, no filter, not interlaced
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(Buffer.alloc(4096))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}
