// The page of examples/web: runs program.ts in the browser, draws its tasklets, and
// freezes/thaws it through IndexedDB, a downloaded file, or the Node server (server.ts).
// The state survives a reload: while running it is kept in IndexedDB every second and
// when the page is hidden, in localStorage when the page is left (pagehide), and the
// page thaws the newest on load. It shows
// each tasklet's state, the size of the last image, and its checksum beside the one of
// an uninterrupted run (the server's /expected.json).
import { Program, Runtime, StasisError } from "../../host/index.ts";
import { deleteImage, loadImage, saveImage } from "../../host/browser/index.ts";

const KEY = "walkers";
/** localStorage key of the image written when the page was left (see pagehide below). */
const LEFT_KEY = "stasis-walkers-left";
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
const keep = (image: Uint8Array) => {
  showImageSize(image.length);
  return (saves = saves.then(() => saveImage(KEY, image)));
};
/** The checksum of an uninterrupted run, once the server answered. */
let expected: number | undefined;
let shownTasklets = "";

const walkers = () => rt.exports as unknown as Walkers;
const toBase64 = (bytes: Uint8Array) => {
  let text = "";
  for (let i = 0; i < bytes.length; i += 0x8000) text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(text);
};
const fromBase64 = (text: string) => Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
const say = (text: string) => ($("status").textContent = text);
const showImageSize = (bytes: number) => ($("image-size").textContent = `${bytes.toLocaleString("en-US")} bytes`);

/** One chip per live tasklet, ascending id, coloured by state (redrawn only on a change). */
function drawTasklets(): void {
  const list = rt.tasklets().sort((a, b) => a.id - b.id);
  const signature = list.map((t) => `${t.id}:${t.status}:${t.waitingFor}`).join(",");
  if (signature === shownTasklets) return;
  shownTasklets = signature;
  $("tasklet-count").textContent = String(list.length);
  $("tasklets").replaceChildren(
    ...list.map((t) => {
      const chip = document.createElement("li");
      chip.className = t.status;
      chip.textContent = `${t.id} ${t.status}`;
      chip.title = t.status === "normal" ? `tasklet ${t.id} waits for a ${t.waitingFor}` : `tasklet ${t.id}: ${t.status}`;
      return chip;
    }),
  );
}

/** Run is for unfinished runs only; a finished one says so and whether its checksum is right. */
function showFinished(): void {
  running = false;
  const run = $<HTMLButtonElement>("run");
  run.textContent = "Finished";
  run.disabled = true;
  const sum = walkers().checksum();
  const verdict = expected === undefined ? "" : sum === expected ? " — equals an uninterrupted run's" : ` — DIFFERS from an uninterrupted run's ${expected}`;
  say(`finished: all ${walkers().totalGenerations()} generations, checksum ${sum}${verdict}`);
}

function showUnfinished(): void {
  const run = $<HTMLButtonElement>("run");
  run.disabled = false;
  run.textContent = running ? "Pause" : "Run";
}

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
  $("expected").textContent = expected === undefined ? "?" : String(expected);
  const verdict = $("verdict");
  verdict.textContent = !rt.done || expected === undefined ? "" : w.checksum() === expected ? "✓ same" : "✗ different";
  verdict.className = !rt.done || expected === undefined ? "" : w.checksum() === expected ? "ok" : "bad";
  drawTasklets();
}

function frame(): void {
  if (running && !rt.done) {
    if (rt.step({ budget: 400 }) === "done") showFinished();
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
  showImageSize(image.length);
  if (rt.done) return showFinished();
  showUnfinished();
  say(`${how}: generation ${walkers().currentGeneration()}, paused (${image.length.toLocaleString("en-US")} bytes)`);
}

async function fresh(): Promise<void> {
  rt = await Runtime.start(program, { print: (line) => console.log(line), seed: 1 });
  rt.step({ budget: 1 }); // main places the walkers: something to draw at generation 0
  running = false;
  showUnfinished();
}

function guard(action: () => Promise<void>): () => void {
  return () => {
    action().catch((error: unknown) => say(error instanceof StasisError ? `${error.code}: ${error.message}` : String(error)));
  };
}

$("run").onclick = () => {
  if (rt.done) return;
  running = !running;
  $("run").textContent = running ? "Pause" : "Run";
  say(running ? "running" : "paused");
};
$("freeze").onclick = guard(async () => {
  running = false;
  if (!rt.done) showUnfinished();
  const image = rt.snapshot();
  await keep(image);
  say(`frozen at generation ${walkers().currentGeneration()} into this browser (${image.length.toLocaleString()} bytes); reload the page and thaw`);
});
$("download").onclick = () => {
  const link = document.createElement("a");
  const image = rt.snapshot();
  showImageSize(image.length);
  link.href = URL.createObjectURL(new Blob([image]));
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
  localStorage.removeItem(LEFT_KEY);
  await deleteImage(KEY);
  await fresh();
  say("started over");
});

async function main(): Promise<void> {
  program = await Program.load(new Uint8Array(await (await fetch("/program.wasm")).arrayBuffer()));
  const left = localStorage.getItem(LEFT_KEY);
  if (left !== null) {
    await saveImage(KEY, fromBase64(left)); // the image of the last pagehide is the newest
    localStorage.removeItem(LEFT_KEY);
  }
  try {
    await adopt(await loadImage(KEY), "restored from this browser after a reload");
  } catch (error) {
    if (!(error instanceof StasisError)) throw error;
    await fresh();
    say(error.code === "NOT_FROZEN" ? "ready: press Run" : `ignored the stored state (${error.code}); ready`);
  }
  fetch("/expected.json")
    .then((response) => response.json() as Promise<{ checksum: number }>)
    .then(({ checksum }) => {
      expected = checksum;
      if (rt.done) showFinished();
    })
    .catch(() => {}); // without the server's answer the page just shows no expectation
  // Leaving or hiding the page keeps the state, Freeze or not. A tab that is only hidden
  // lives on, so IndexedDB is fine; a page being left does not wait for IndexedDB (its
  // write is lost), so pagehide also writes the image to localStorage, synchronously.
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "hidden" && rt) void keep(rt.snapshot());
  });
  addEventListener("pagehide", () => {
    if (!rt) return;
    try {
      localStorage.setItem(LEFT_KEY, toBase64(rt.snapshot()));
    } catch {
      // Larger than localStorage allows: the last IndexedDB save stands.
    }
  });
  (window as unknown as { walkers: unknown }).walkers = {
    generation: () => walkers().currentGeneration(),
    done: () => rt.done,
    checksum: () => walkers().checksum(),
  };
  requestAnimationFrame(frame);
  document.title = "Stasis — walkers (ready)";
}

void main();
