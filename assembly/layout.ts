// Layout constants for the stack decoder (host/stacks.ts), which reads tasklets straight
// out of linear memory: byte offsets of the fields it needs, as the compiler laid them
// out. `stasis build` reads these constant globals into the `stasis.frames` section and
// drops the exports (build/frames-section.ts), so they cost nothing at run time.
import { Tasklet } from "./tasklet";
import { SavedStack } from "./switch";
import { PendingCall } from "./hostcall";

export const __stasis_layout_tasklet_id: usize = offsetof<Tasklet>("id");
export const __stasis_layout_tasklet_task: usize = offsetof<Tasklet>("task");
export const __stasis_layout_tasklet_status: usize = offsetof<Tasklet>("status");
export const __stasis_layout_tasklet_waitingFor: usize = offsetof<Tasklet>("waitingFor");
export const __stasis_layout_tasklet_failed: usize = offsetof<Tasklet>("failed");
export const __stasis_layout_tasklet_saved: usize = offsetof<Tasklet>("saved");
export const __stasis_layout_tasklet_joiners: usize = offsetof<Tasklet>("joiners");
export const __stasis_layout_tasklet_queueAddress: usize = offsetof<Tasklet>("queueAddress");
export const __stasis_layout_tasklet_nextLive: usize = offsetof<Tasklet>("nextLive");
export const __stasis_layout_tasklet_hostCallAddress: usize = offsetof<Tasklet>("hostCallAddress");
export const __stasis_layout_tasklet_error: usize = offsetof<Tasklet>("error");
export const __stasis_layout_saved_asyncBytes: usize = offsetof<SavedStack>("asyncBytes");
export const __stasis_layout_saved_shadowBytes: usize = offsetof<SavedStack>("shadowBytes");
export const __stasis_layout_saved_data: usize = offsetof<SavedStack>();
export const __stasis_layout_call_name: usize = offsetof<PendingCall>("name");
export const __stasis_layout_call_payload: usize = offsetof<PendingCall>("payload");
