/**
 * A server on 127.0.0.1 in front of moto, for EC2 behaviour moto does not
 * have: a subclass answers the requests it chooses as EC2 would, and every
 * other request goes on to moto unchanged.
 */
import * as http from 'http';
import { AddressInfo } from 'net';

export abstract class Ec2Proxy {
  url = '';
  private readonly server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      if (this.answer(new URLSearchParams(body.toString()), res)) return;
      const target = new URL(this.motoEndpoint);
      const forward = http.request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers }, (upstream) => {
        res.writeHead(upstream.statusCode ?? 502, upstream.headers);
        upstream.pipe(res);
      });
      forward.end(body);
    });
  });

  constructor(private readonly motoEndpoint: string) {}

  /** Answers a request (EC2's query parameters) itself and returns true, or returns false to forward it to moto. */
  protected abstract answer(params: URLSearchParams, res: http.ServerResponse): boolean;

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  stop(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/** Answers with an EC2 error response, as EC2's query API writes one. */
export function answerEc2Error(res: http.ServerResponse, status: number, code: string, message: string): void {
  res.writeHead(status, { 'content-type': 'text/xml' });
  res.end(
    `<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error><Code>${code}</Code>` +
      `<Message>${message}</Message></Error></Errors><RequestID>ec2-proxy</RequestID></Response>`,
  );
}
