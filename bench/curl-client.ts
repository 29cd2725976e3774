// The bench's client for big transfers: Debian's curl, one process per transfer, its own
// timing (`time_total`, from before the connection to the last byte; the process start is
// not counted).
//
// Why not Node's http client in the bench process: on these two cores the client shares the
// CPU with the server it measures, and Node's client cost about 3 ms of CPU per MiB sent
// (1.5 s per 512 MiB upload, measured with process.cpuUsage) and more per MiB received, as much
// as a server's own work. A 1 GiB upload or download then measured the client: the same upload
// to the ceiling server ran at 167 MiB/s from Node and 275 MiB/s from curl, and the module's
// download and express.static's both at about 110 MiB/s from Node, 682 and 508 MiB/s from curl.
import { execFile } from 'node:child_process';

export interface CurlTransfer {
  status: number;
  seconds: number;
  /** Bytes of the answer's body. */
  bytes: number;
  /** The answer's first Set-Cookie as `name=value`, else the cookie that was sent. */
  cookie: string | undefined;
}

/** Lines of `-w` output, one per transfer: status, seconds, body bytes, then one header. */
const WRITE_OUT = '%{http_code} %{time_total} %{size_download} %header{set-cookie}\\n';

function curl(args: string[]): Promise<string> {
  return new Promise((done, fail) =>
    execFile('curl', ['--silent', '--show-error', ...args], { maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) =>
      error ? fail(new Error(`curl failed: ${stderr || error.message}`)) : done(stdout),
    ),
  );
}

function parseLine(line: string, cookie: string | undefined): CurlTransfer {
  const [status, seconds, bytes, ...header] = line.split(' ');
  const setCookie = header.join(' ').split(';')[0];
  return { status: Number(status), seconds: Number(seconds), bytes: Number(bytes), cookie: setCookie || cookie };
}

const cookieHeader = (cookie: string | undefined) => (cookie ? ['--header', `cookie: ${cookie}`] : []);

/**
 * Uploads one file as multipart/form-data (field `file`), streamed from disk with its
 * Content-Length, as a browser's form does. `Expect: 100-continue` is not sent (curl would for a
 * big body, and wait for the server's go-ahead).
 */
export async function curlUpload(url: string, source: string, name: string, cookie?: string): Promise<CurlTransfer> {
  const output = await curl([
    '--output',
    '/dev/null',
    '--header',
    'Expect:',
    ...cookieHeader(cookie),
    '--form',
    `file=@${source};filename=${name};type=application/octet-stream`,
    '--write-out',
    WRITE_OUT,
    url,
  ]);
  return parseLine(output.trimEnd(), cookie);
}

/** Downloads `url` into nothing. */
export async function curlDownload(url: string, cookie?: string): Promise<CurlTransfer> {
  const output = await curl(['--output', '/dev/null', ...cookieHeader(cookie), '--write-out', WRITE_OUT, url]);
  return parseLine(output.trimEnd(), cookie);
}

/**
 * Several requests one after another on one kept-alive connection (curl's `--next`), each
 * waiting for the answer to the one before, each sending a file as its body (`--upload-file`,
 * streamed, with its Content-Length) with its own headers. Resolves with each request's
 * transfer and the value of `header` in its answer.
 */
export async function curlSequence(
  requests: Array<{ url: string; method: string; headers: Record<string, string>; body: string }>,
  header: string,
): Promise<Array<CurlTransfer & { header: string }>> {
  const args = requests.flatMap((request, index) => [
    ...(index === 0 ? [] : ['--next', '--silent', '--show-error']),
    '--output',
    '/dev/null',
    '--request',
    request.method,
    '--header',
    'Expect:',
    ...Object.entries(request.headers).flatMap(([name, value]) => ['--header', `${name}: ${value}`]),
    '--upload-file',
    request.body,
    '--write-out',
    `%{http_code} %{time_total} %{size_download} %header{${header}}\\n`,
    request.url,
  ]);
  const lines = (await curl(args)).trimEnd().split('\n');
  return lines.map((line) => {
    const [status, seconds, bytes, ...value] = line.split(' ');
    return { status: Number(status), seconds: Number(seconds), bytes: Number(bytes), cookie: undefined, header: value.join(' ') };
  });
}
