// Browser-only parts of the host: the IndexedDB image store.
export { deleteImage, loadImage, saveImage } from "./store.ts";
