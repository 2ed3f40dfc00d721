import { randomBytes, randomUUID } from 'crypto';
import * as http from 'http';
import type { Socket } from 'net';

/**
 * A client of Jupyter Server's own API (REST and the kernel channels'
 * WebSocket, RFC 6455), reaching the server through an SSH tunnel whose local
 * end is a Unix socket: what a browser does through the handout's tunnel,
 * without a browser. Node 20 has no WebSocket client, hence the small framing
 * code below (text frames, client-masked, as RFC 6455 section 5 requires).
 */
export class JupyterClient {
  constructor(private readonly socketPath: string, private readonly token: string) {}

  /** An HTTP request to the server; resolves with the status and the parsed JSON body (if any). */
  request(method: string, path: string, body?: unknown, token: string | null = this.token): Promise<{ status: number; json: any }> { // eslint-disable-line @typescript-eslint/no-explicit-any
    const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    return new Promise((resolve, reject) => {
      const req = http.request(
        {
          socketPath: this.socketPath,
          method,
          path,
          headers: {
            Host: '127.0.0.1',
            ...(token !== null ? { Authorization: `token ${token}` } : {}),
            ...(data ? { 'Content-Type': 'application/json', 'Content-Length': data.length } : {}),
          },
          timeout: 30000,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let json: unknown;
            try {
              json = text ? JSON.parse(text) : undefined;
            } catch {
              json = text;
            }
            resolve({ status: res.statusCode ?? 0, json });
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no answer in 30 s`)));
      req.on('error', reject);
      req.end(data);
    });
  }

  /**
   * Runs each code cell of a notebook in a new session's kernel, in order,
   * over the kernel's WebSocket channels; returns each cell's stream output
   * and any error. The session is deleted afterwards.
   */
  async runNotebook(path: string, timeoutMs = 180000): Promise<{ cell: number; output: string; error?: string }[]> {
    const notebook = await this.request('GET', `/api/contents/${encodePath(path)}?content=1`);
    if (notebook.status !== 200) throw new Error(`GET ${path}: ${notebook.status} ${JSON.stringify(notebook.json)}`);
    const session = await this.request('POST', '/api/sessions', { path, type: 'notebook', name: '', kernel: { name: 'python3' } });
    if (session.status !== 201) throw new Error(`POST /api/sessions: ${session.status} ${JSON.stringify(session.json)}`);
    const kernelId: string = session.json.kernel.id;
    const channel = await KernelChannel.open(this.socketPath, `/api/kernels/${kernelId}/channels?token=${encodeURIComponent(this.token)}`);
    try {
      const results: { cell: number; output: string; error?: string }[] = [];
      const cells: any[] = notebook.json.content.cells; // eslint-disable-line @typescript-eslint/no-explicit-any
      for (const [i, cell] of cells.entries()) {
        if (cell.cell_type !== 'code') continue;
        const source = Array.isArray(cell.source) ? cell.source.join('') : cell.source;
        results.push({ cell: i, ...(await channel.execute(source, timeoutMs)) });
      }
      return results;
    } finally {
      channel.close();
      await this.request('DELETE', `/api/sessions/${session.json.id}`);
    }
  }
}

function encodePath(path: string): string {
  return path.split('/').map(encodeURIComponent).join('/');
}

/** One kernel's channels over a WebSocket. */
class KernelChannel {
  private buffer = Buffer.alloc(0);
  private readonly listeners = new Set<(message: any) => void>(); // eslint-disable-line @typescript-eslint/no-explicit-any
  private readonly session = randomUUID();

  private constructor(private readonly socket: Socket, head: Buffer) {
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    if (head.length) this.receive(head);
  }

  static open(socketPath: string, path: string): Promise<KernelChannel> {
    return new Promise((resolve, reject) => {
      const req = http.request({
        socketPath,
        path,
        headers: {
          Host: '127.0.0.1',
          Connection: 'Upgrade',
          Upgrade: 'websocket',
          'Sec-WebSocket-Version': '13',
          'Sec-WebSocket-Key': randomBytes(16).toString('base64'),
        },
      });
      req.on('upgrade', (_res, socket, head) => resolve(new KernelChannel(socket, head)));
      req.on('response', (res) => reject(new Error(`WebSocket ${path.replace(/token=[^&]+/, 'token=***')}: HTTP ${res.statusCode}`)));
      req.on('error', reject);
      req.end();
    });
  }

  /** Runs code; resolves with its stream output and error once the kernel is idle again. */
  execute(code: string, timeoutMs: number): Promise<{ output: string; error?: string }> {
    const msgId = randomUUID();
    return new Promise((resolve, reject) => {
      let output = '';
      let error: string | undefined;
      const timer = setTimeout(() => {
        this.listeners.delete(listener);
        reject(new Error(`no result in ${timeoutMs} ms for: ${code}\n(output so far: ${output})`));
      }, timeoutMs);
      const listener = (message: any) => { // eslint-disable-line @typescript-eslint/no-explicit-any
        if (message.parent_header?.msg_id !== msgId) return;
        const type = message.msg_type ?? message.header?.msg_type;
        if (type === 'stream') output += message.content.text;
        if (type === 'execute_result') output += message.content.data?.['text/plain'] ?? '';
        if (type === 'error') error = `${message.content.ename}: ${message.content.evalue}`;
        if (type === 'status' && message.content.execution_state === 'idle') {
          clearTimeout(timer);
          this.listeners.delete(listener);
          resolve({ output, error });
        }
      };
      this.listeners.add(listener);
      this.send({
        header: { msg_id: msgId, msg_type: 'execute_request', session: this.session, username: 'twin', version: '5.3', date: new Date().toISOString() },
        parent_header: {},
        metadata: {},
        content: { code, silent: false, store_history: true, user_expressions: {}, allow_stdin: false, stop_on_error: true },
        channel: 'shell',
        buffers: [],
      });
    });
  }

  close(): void {
    this.socket.end(frame(0x8, Buffer.alloc(0)));
    this.socket.destroy();
  }

  private send(message: unknown): void {
    this.socket.write(frame(0x1, Buffer.from(JSON.stringify(message))));
  }

  /** Parses whole frames out of the buffer; text messages go to the listeners. */
  private receive(chunk: Buffer): void {
    this.buffer = Buffer.concat([this.buffer, chunk]);
    for (;;) {
      if (this.buffer.length < 2) return;
      const opcode = this.buffer[0] & 0x0f;
      let length = this.buffer[1] & 0x7f;
      let offset = 2;
      if (length === 126) {
        if (this.buffer.length < 4) return;
        length = this.buffer.readUInt16BE(2);
        offset = 4;
      } else if (length === 127) {
        if (this.buffer.length < 10) return;
        length = Number(this.buffer.readBigUInt64BE(2));
        offset = 10;
      }
      // Servers do not mask their frames (RFC 6455 section 5.1).
      if (this.buffer.length < offset + length) return;
      const payload = this.buffer.subarray(offset, offset + length);
      this.buffer = this.buffer.subarray(offset + length);
      if (opcode === 0x1) {
        const message = JSON.parse(payload.toString('utf8'));
        for (const listener of [...this.listeners]) listener(message);
      } else if (opcode === 0x9) {
        this.socket.write(frame(0xa, payload));
      }
    }
  }
}

/** A final, masked client frame. */
function frame(opcode: number, payload: Buffer): Buffer {
  const mask = randomBytes(4);
  const length = payload.length;
  const header = length < 126 ? Buffer.from([0x80 | opcode, 0x80 | length]) : length < 65536 ? Buffer.alloc(4) : Buffer.alloc(10);
  if (length >= 126 && length < 65536) {
    header[0] = 0x80 | opcode;
    header[1] = 0x80 | 126;
    header.writeUInt16BE(length, 2);
  } else if (length >= 65536) {
    header[0] = 0x80 | opcode;
    header[1] = 0x80 | 127;
    header.writeBigUInt64BE(BigInt(length), 2);
  }
  const masked = Buffer.alloc(length);
  for (let i = 0; i < length; i++) masked[i] = payload[i] ^ mask[i % 4];
  return Buffer.concat([header, mask, masked]);
}
