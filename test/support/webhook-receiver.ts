/**
 * A real HTTP receiver of webhook deliveries for tests: it can be down (not
 * listening), answer 500, or acknowledge; it checks every delivery's
 * signature with the SDK and keeps what arrived.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { WebhookBatch } from "../../gen/chat/v1/webhook_pb.js";
import { verifyWebhook } from "../../sdk/src/webhooks.js";

/** One delivery as it arrived. */
export interface Delivery {
  id: string;
  batch: WebhookBatch | undefined;
  /** Why the SDK refused it, if it did. */
  invalid?: string;
  status: number;
}

/** The receiver. */
export class WebhookReceiver {
  private server: Server | undefined;
  /** What the next deliveries are answered with. */
  status = 200;
  readonly deliveries: Delivery[] = [];

  constructor(
    private readonly secret: string,
    /** Fixed port (the URL registered while it is down), or 0. */
    public port = 0,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}/hook`;
  }

  /** Acknowledged deliveries' batches. */
  get acknowledged(): WebhookBatch[] {
    return this.deliveries.flatMap((d) => (d.status < 300 && d.batch ? [d.batch] : []));
  }

  /** Starts listening (on its fixed port once it had one). */
  async start(): Promise<void> {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const body = Buffer.concat(chunks).toString("utf8");
        const status = this.status;
        verifyWebhook({ secret: this.secret, headers: req.headers, body }).then(
          (batch) => {
            this.deliveries.push({ id: batch.id, batch, status });
            res.writeHead(status).end();
          },
          (err: unknown) => {
            this.deliveries.push({
              id: String(req.headers["webhook-id"]),
              batch: undefined,
              invalid: String(err),
              status: 400,
            });
            res.writeHead(400).end();
          },
        );
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.port, "127.0.0.1", () => resolve());
    });
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
  }

  /** Stops listening: deliveries fail with a refused connection. */
  async stop(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (!s) return;
    s.closeAllConnections();
    await new Promise((resolve) => s.close(resolve));
  }
}
