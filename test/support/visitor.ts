/**
 * A browser-like visitor over real HTTP: it keeps the session cookie it is given (or none,
 * until a response sets one), like curl's cookie jar.
 */
export class Visitor {
  cookie: string | undefined;

  constructor(private readonly baseUrl: string) {}

  async request(method: string, path: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    if (this.cookie) headers.set('cookie', this.cookie);
    const response = await fetch(this.baseUrl + path, { ...init, method, headers, redirect: 'manual' });
    const setCookie = response.headers.get('set-cookie');
    if (setCookie) this.cookie = setCookie.split(';')[0];
    return response;
  }

  get(path: string, headers: Record<string, string> = {}): Promise<Response> {
    return this.request('GET', path, { headers });
  }

  async json<T = unknown>(path: string): Promise<T> {
    const response = await this.get(path);
    if (response.status !== 200) throw new Error(`GET ${path}: ${response.status} ${await response.text()}`);
    return (await response.json()) as T;
  }

  /** The names in a bundle's list, in the order the server gives them. */
  async names(bundle: string): Promise<string[]> {
    return (await this.json<AttachmentBody[]>(`/attachments/${bundle}`)).map((attachment) => attachment.name);
  }

  async text(path: string): Promise<string> {
    return (await this.get(path)).text();
  }

  /** Uploads files as multipart/form-data: [field, file name, content] each. */
  upload(
    path: string,
    files: Array<[field: string, name: string, content: string | Uint8Array]>,
    fields: Record<string, string> = {},
  ): Promise<Response> {
    const form = new FormData();
    for (const [key, value] of Object.entries(fields)) form.append(key, value);
    for (const [field, name, content] of files)
      form.append(field, new Blob([typeof content === 'string' ? content : new Uint8Array(content)]), name);
    return this.request('POST', path, { body: form });
  }

  post(path: string): Promise<Response> {
    return this.request('POST', path);
  }

  delete(path: string): Promise<Response> {
    return this.request('DELETE', path);
  }
}

export interface AttachmentBody {
  name: string;
  mimetype: string;
  size: number;
  created: string;
  updated: string;
  sha256: string;
  url: string;
  preview?: string;
}
