// `npm run web`: serves examples/web on http://127.0.0.1:8080 (PORT to change) and
// continues computations for the page: POST /continue?steps=N with an image thaws it
// here in Node, runs N more steps, and answers with the new image — a running
// computation moved from the browser to a server and back. GET /expected.json: the
// checksum of an uninterrupted run; GET /program.wasm: the module the page runs.
import { readFile } from "node:fs/promises";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { extname, join, normalize } from "node:path";
import { buildProgram } from "../../build/index.ts";
import { packageRoot } from "../../build/paths.ts";
import { Program, Runtime, StasisError } from "../../host/index.ts";

const TYPES: Record<string, string> = { ".html": "text/html", ".js": "text/javascript", ".wasm": "application/wasm", ".map": "application/json" };
/** Only these trees are served: the page, the compiled host, and the loader. */
const SERVED = ["/dist/", "/node_modules/@assemblyscript/loader/"];

async function body(request: IncomingMessage): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return new Uint8Array(Buffer.concat(chunks));
}

export async function startWebServer(port = 8080): Promise<{ server: Server; url: string }> {
  const root = packageRoot();
  const built = await buildProgram(join(root, "examples", "web", "program.ts"));
  const program = await Program.load(built.wasm);
  // The checksum of an uninterrupted run, for the page to show beside the one it computes.
  const expected = Runtime.start(program, { print: () => {} }).then(async (rt) => {
    await rt.run();
    return (rt.exports.checksum as () => number)();
  });

  const handle = async (request: IncomingMessage, response: ServerResponse) => {
    const url = new URL(request.url ?? "/", "http://localhost");
    if (request.method === "POST" && url.pathname === "/continue") {
      const steps = Math.min(Number(url.searchParams.get("steps") ?? 40), 10_000);
      const rt = await Runtime.restore(program, await body(request), { print: (line) => console.log(`[server] ${line}`) });
      for (let i = 0; i < steps && rt.step({ budget: 400 }) !== "done"; i++);
      response.writeHead(200, { "content-type": "application/octet-stream" }).end(rt.snapshot());
      return;
    }
    if (url.pathname === "/expected.json") {
      response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ checksum: await expected }));
      return;
    }
    if (url.pathname === "/program.wasm") {
      response.writeHead(200, { "content-type": "application/wasm" }).end(built.wasm);
      return;
    }
    const path = url.pathname === "/" ? "/examples/web/index.html" : normalize(url.pathname);
    if (path !== "/examples/web/index.html" && !SERVED.some((prefix) => path.startsWith(prefix))) {
      response.writeHead(404).end();
      return;
    }
    const file = await readFile(join(root, path)).catch(() => null);
    if (!file) {
      response.writeHead(404).end();
      return;
    }
    response.writeHead(200, { "content-type": TYPES[extname(path)] ?? "application/octet-stream" }).end(file);
  };

  const server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      const status = error instanceof StasisError ? 400 : 500;
      response.writeHead(status, { "content-type": "text/plain" }).end(error instanceof StasisError ? `${error.code}: ${error.message}` : String(error));
    });
  });
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as { port: number }).port}/` };
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/\\/g, "/"))) {
  const { url } = await startWebServer(Number(process.env.PORT ?? 8080));
  console.log(`Stasis walkers: open ${url}`);
}
