// Images in the browser: an IndexedDB object store, so a frozen computation survives a
// page reload (or a browser restart). One record per key; a put is one transaction, so
// a tab closed mid-write leaves the previous image.
import { StasisError } from "../errors.ts";
import { verifyImage } from "../image/index.ts";

const DATABASE = "stasis";
const STORE = "images";

function open(): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(DATABASE, 1);
    request.onupgradeneeded = () => request.result.createObjectStore(STORE);
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

async function transact<T>(mode: IDBTransactionMode, use: (store: IDBObjectStore) => IDBRequest<T>): Promise<T> {
  const db = await open();
  try {
    return await new Promise<T>((resolve, reject) => {
      const tx = db.transaction(STORE, mode);
      const request = use(tx.objectStore(STORE));
      tx.oncomplete = () => resolve(request.result);
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error);
    });
  } finally {
    db.close();
  }
}

export async function saveImage(key: string, image: Uint8Array): Promise<void> {
  await transact("readwrite", (store) => store.put(image.slice(), key));
}

/** Reads an image and checks its header and checksum; NOT_FROZEN if there is none. */
export async function loadImage(key: string): Promise<Uint8Array<ArrayBuffer>> {
  const stored = await transact<unknown>("readonly", (store) => store.get(key));
  if (!(stored instanceof Uint8Array)) throw new StasisError("NOT_FROZEN", `no image stored under "${key}" in this browser`);
  const image = new Uint8Array(stored);
  verifyImage(image);
  return image;
}

export async function deleteImage(key: string): Promise<void> {
  await transact("readwrite", (store) => store.delete(key));
}
