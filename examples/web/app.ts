// The page of examples/web: runs program.ts in the browser, draws its tasklets, and
// freezes/thaws it through IndexedDB, a downloaded file, or the Node server (server.ts).
// The state survives a reload: while running it is kept in IndexedDB every second, and
// the page thaws it on load.
import { Program, Runtime, StasisError } from "../../host/index.ts";
import { deleteImage, loadImage, saveImage } from "../../host/browser/index.ts";

const KEY = "walkers";
const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const canvas = $<HTMLCanvasElement>("world");
const context = canvas.getContext("2d")!;

interface Walkers {
  positionsPointer(): number;
  walkerCount(): number;
  currentGeneration(): number;
  totalGenerations(): number;
  checksum(): number;
}

let program: Program;
let rt: Runtime;
let running = false;
let lastKept = 0;
/** Saves run one after another, so the last image asked for is the one kept. */
let saves: Promise<void> = Promise.resolve();
const keep = (image: Uint8Array) => (saves = saves.then(() => saveImage(KEY, image)));

const walkers = () => rt.exports as unknown as Walkers;
const say = (text: string) => ($("status").textContent = text);

function draw(): void {
  const w = walkers();
  const positions = new Int32Array(rt.memory.buffer, w.positionsPointer(), w.walkerCount() * 2);
  context.fillStyle = "rgba(255, 255, 255, 0.35)";
  context.fillRect(0, 0, canvas.width, canvas.height);
  for (let i = 0; i < positions.length; i += 2) {
    context.fillStyle = `hsl(${(i * 11) % 360} 70% 45%)`;
    context.fillRect(positions[i], positions[i + 1], 1, 1);
  }
  $("generation").textContent = String(w.currentGeneration());
  $("total").textContent = String(w.totalGenerations());
  $("checksum").textContent = rt.done ? String(w.checksum()) : "–";
}

function frame(): void {
  if (running && !rt.done) {
    if (rt.step({ budget: 400 }) === "done") {
      running = false;
      $("run").textContent = "Run";
      say("finished");
    }
    if (performance.now() - lastKept > 1000) {
      lastKept = performance.now();
      void keep(rt.snapshot());
    }
  }
  draw();
  requestAnimationFrame(frame);
}

async function adopt(image: Uint8Array, how: string): Promise<void> {
  rt = await Runtime.restore(program, image, { print: (line) => console.log(line) });
  running = false;
  $("run").textContent = "Run";
  say(`${how}: generation ${walkers().currentGeneration()}, paused (${image.length.toLocaleString()} bytes)`);
}

async function fresh(): Promise<void> {
  rt = await Runtime.start(program, { print: (line) => console.log(line), seed: 1 });
  running = false;
}

function guard(action: () => Promise<void>): () => void {
  return () => {
    action().catch((error: unknown) => say(error instanceof StasisError ? `${error.code}: ${error.message}` : String(error)));
  };
}

$("run").onclick = () => {
  running = !running;
  $("run").textContent = running ? "Pause" : "Run";
  say(running ? "running" : "paused");
};
$("freeze").onclick = guard(async () => {
  running = false;
  $("run").textContent = "Run";
  const image = rt.snapshot();
  await keep(image);
  say(`frozen at generation ${walkers().currentGeneration()} into this browser (${image.length.toLocaleString()} bytes); reload the page and thaw`);
});
$("download").onclick = () => {
  const link = document.createElement("a");
  link.href = URL.createObjectURL(new Blob([rt.snapshot()]));
  link.download = "walkers.img";
  link.click();
};
$("thaw").onclick = guard(async () => adopt(await loadImage(KEY), "thawed from this browser"));
$("upload").onclick = () => $("file").click();
$("file").onchange = guard(async () => {
  const file = ($<HTMLInputElement>("file").files ?? [])[0];
  if (file) await adopt(new Uint8Array(await file.arrayBuffer()), `thawed from ${file.name}`);
});
$("server").onclick = guard(async () => {
  running = false;
  say("continuing on the server…");
  const response = await fetch("/continue?steps=40", { method: "POST", body: rt.snapshot() });
  if (!response.ok) throw new Error(await response.text());
  await adopt(new Uint8Array(await response.arrayBuffer()), "back from the server");
});
$("reset").onclick = guard(async () => {
  await deleteImage(KEY);
  await fresh();
  say("started over");
});

async function main(): Promise<void> {
  program = await Program.load(new Uint8Array(await (await fetch("/program.wasm")).arrayBuffer()));
  try {
    await adopt(await loadImage(KEY), "restored from this browser after a reload");
  } catch (error) {
    if (!(error instanceof StasisError)) throw error;
    await fresh();
    say(error.code === "NOT_FROZEN" ? "ready: press Run" : `ignored the stored state (${error.code}); ready`);
  }
  (window as unknown as { walkers: unknown }).walkers = {
    generation: () => walkers().currentGeneration(),
    done: () => rt.done,
    checksum: () => walkers().checksum(),
  };
  requestAnimationFrame(frame);
  document.title = "Stasis — walkers (ready)";
}

void main();
