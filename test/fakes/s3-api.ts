// A fake S3 on 127.0.0.1 for the shared deploy history: the runner's real S3 client reaches
// it through AWS_ENDPOINT_URL_S3 with path-style addressing (/bucket/key). It keeps objects
// in memory with an ETag each and honours the conditional writes bakery relies on
// (If-Match, If-None-Match: *), answering 412 PreconditionFailed as S3 does. Only GET, PUT
// and DELETE of an object are implemented; everything else answers an error.

import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeS3Request {
  method: string;
  /** bucket/key */
  path: string;
  ifMatch?: string;
  ifNoneMatch?: string;
  encryption?: string;
  status: number;
}

export interface FakeS3Options {
  /**
   * Runs before each PUT is judged: a test stands in for another run here, changing the
   * object between this run's read and its write.
   */
  beforePut?: (path: string, s3: FakeS3) => void;
  /** Answer every request with this S3 error code and HTTP status (AccessDenied, 403). */
  refuse?: { code: string; status: number };
  /** Store this many PUTs and still answer 500, as when the answer is lost on the way. */
  loseAnswers?: number;
}

export class FakeS3 {
  readonly objects = new Map<string, { body: string; etag: string }>();
  readonly requests: FakeS3Request[] = [];
  private server?: Server;

  constructor(private readonly options: FakeS3Options = {}) {}

  /** Stores an object as if some run had written it. */
  put(path: string, body: string): void {
    this.objects.set(path, { body, etag: `"${createHash('md5').update(body).digest('hex')}"` });
  }

  async start(): Promise<string> {
    this.server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => this.answer(request, Buffer.concat(chunks).toString('utf8'), response));
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.server?.closeAllConnections();
      this.server?.close(() => resolve());
    });
  }

  private answer(request: IncomingMessage, body: string, response: ServerResponse): void {
    const path = decodeURIComponent(new URL(request.url ?? '/', 'http://fake').pathname.slice(1));
    const reply = (status: number, headers: Record<string, string> = {}, text = ''): void => {
      this.requests.push({
        method: request.method ?? '',
        path,
        ...header(request, 'if-match', 'ifMatch'),
        ...header(request, 'if-none-match', 'ifNoneMatch'),
        ...header(request, 'x-amz-server-side-encryption', 'encryption'),
        status,
      });
      response.writeHead(status, headers).end(text);
    };
    const fail = (status: number, code: string): void =>
      reply(
        status,
        { 'content-type': 'application/xml' },
        `<Error><Code>${code}</Code><Message>${code}</Message></Error>`,
      );

    if (this.options.refuse) return fail(this.options.refuse.status, this.options.refuse.code);
    if (request.method === 'GET') {
      const object = this.objects.get(path);
      if (!object) return fail(404, 'NoSuchKey');
      return reply(200, { etag: object.etag, 'content-type': 'application/x-ndjson' }, object.body);
    }
    if (request.method === 'PUT') {
      this.options.beforePut?.(path, this);
      const current = this.objects.get(path);
      const ifMatch = request.headers['if-match'];
      const ifNoneMatch = request.headers['if-none-match'];
      if ((ifMatch !== undefined && current?.etag !== ifMatch) || (ifNoneMatch === '*' && current))
        return fail(412, 'PreconditionFailed');
      this.put(path, body);
      if ((this.options.loseAnswers ?? 0) > 0) {
        this.options.loseAnswers = (this.options.loseAnswers ?? 0) - 1;
        return fail(500, 'InternalError');
      }
      return reply(200, { etag: this.objects.get(path)?.etag ?? '' });
    }
    if (request.method === 'DELETE') {
      // S3 answers 204 whether or not the object existed; If-Match guards a conditional delete.
      const current = this.objects.get(path);
      const ifMatch = request.headers['if-match'];
      if (ifMatch !== undefined && current?.etag !== ifMatch) return fail(412, 'PreconditionFailed');
      this.objects.delete(path);
      return reply(204);
    }
    fail(405, 'MethodNotAllowed');
  }
}

function header<K extends string>(request: IncomingMessage, name: string, key: K): Partial<Record<K, string>> {
  const value = request.headers[name];
  return typeof value === 'string' ? ({ [key]: value } as Record<K, string>) : {};
}
