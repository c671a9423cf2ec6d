// Node-only parts of the host: the file store. (Deno can use it through node: compat.)
export { CheckpointWriter, loadImage, loadImageChain, type CheckpointChainOptions, lockPathFor, maxImageFileBytes, readRegularFile, saveImage, sweepTemporaries } from "./store.ts";
