/**
 * S3 for the bootstrap's bash tests: an HTTP proxy on loopback that answers
 * GET and HEAD of /<bucket>/<key> for the objects it holds, on an endpoint
 * whose host name never resolves, so that only the proxy reaches it (as boto3
 * with AWS_ENDPOINT_URL and http(s)_proxy set asks for it), and AccessDenied
 * as S3 answers for any other key.
 */
import * as fs from 'fs';
import * as http from 'http';
import { AddressInfo } from 'net';

/** A host name that never resolves (RFC 6761): reachable through the proxy only. */
export const S3_ENDPOINT = 'http://s3.assets.invalid';

/** An HTTP proxy on loopback that plays S3 for the .invalid endpoint: GET /<bucket>/<key> of the objects it holds. */
export async function fakeS3Proxy(objects: Map<string, string>): Promise<{ url: string; requests: string[]; close: () => Promise<void> }> {
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    const url = new URL(req.url ?? '/', 'http://x');
    const file = req.url?.startsWith(`${S3_ENDPOINT}/`) ? objects.get(decodeURIComponent(url.pathname).slice(1)) : undefined;
    if (req.method === 'HEAD' || req.method === 'GET') {
      if (file === undefined) {
        res.writeHead(403, { 'Content-Type': 'application/xml' });
        res.end('<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>');
        return;
      }
      const body = fs.readFileSync(file);
      res.writeHead(200, { 'Content-Length': body.length, 'Content-Type': 'application/zip', ETag: '"e"', 'Last-Modified': new Date(0).toUTCString() });
      res.end(req.method === 'GET' ? body : undefined);
      return;
    }
    res.writeHead(405).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, requests, close: () => new Promise((resolve) => server.close(() => resolve())) };
}
