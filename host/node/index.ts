// Node-only parts of the host: the file store. (Deno can use it through node: compat.)
export { loadImage, saveImage } from "./store.ts";
