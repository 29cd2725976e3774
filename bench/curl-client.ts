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
import { percentile } from './support.js';

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

/** What `curlRepeat` measured: each request's seconds, in the order sent, and their p50 and p99 in ms. */
export interface RepeatedRequests {
  seconds: number[];
  p50: number;
  p99: number;
}

/**
 * `count` GETs of `url` one after another on one kept-alive connection, each answer read into
 * nothing, each timed by curl (`time_total`); any answer but 200 fails the run.
 *
 * Why curl and not autocannon for a list: autocannon turns every answer's body into a string
 * (`body += chunk`, after parsing HTTP in JavaScript), in the bench's own process, so a bigger
 * answer brought more collections of the client's heap, and a list that met one of those took
 * 5 to 14 ms longer. In a probe of 8 s of the module's lists, all 21 of the slowest 2% met a
 * collection of the client and 2 one of the server: the p99 was the client's, and it punished
 * the module's answer for being three times the stock code's (it carries each file's hash,
 * URL and update time). curl reads into nothing and has no collector.
 */
export async function curlRepeat(url: string, count: number, cookie?: string): Promise<RepeatedRequests> {
  // The requests go to curl as a config file on its standard input: one url and one output per request.
  const config = `url = "${url}"\noutput = "/dev/null"\n`.repeat(count);
  const output = await new Promise<string>((done, fail) => {
    const child = execFile(
      'curl',
      ['--silent', '--show-error', ...cookieHeader(cookie), '--write-out', '%{http_code} %{time_total}\\n', '--config', '-'],
      { maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => (error ? fail(new Error(`curl failed: ${stderr || error.message}`)) : done(stdout)),
    );
    child.stdin!.end(config);
  });
  const seconds = output
    .trimEnd()
    .split('\n')
    .map((line) => {
      const [status, time] = line.split(' ');
      if (status !== '200') throw new Error(`${url} answered ${status}`);
      return Number(time);
    });
  if (seconds.length !== count) throw new Error(`curl made ${seconds.length} of ${count} requests to ${url}`);
  const ms = seconds.map((value) => value * 1000);
  return { seconds, p50: percentile(ms, 50), p99: percentile(ms, 99) };
}
