import { assertEquals } from "../../test/_assert.ts";
import { storeCapabilities } from "./capabilities.ts";
import { MemoryStore } from "./memory_store.ts";

Deno.test("storeCapabilities() reads what a store declares, else resume and a per-writer read-back", () => {
  const memory = new MemoryStore();
  assertEquals(storeCapabilities(memory), { resume: true, readWhileWriting: true });
  assertEquals(storeCapabilities({ blobs: memory.blobs, references: memory.references }), { resume: true });
  assertEquals(
    storeCapabilities({
      blobs: memory.blobs,
      references: memory.references,
      capabilities: { resume: false, readWhileWriting: false },
    }),
    { resume: false, readWhileWriting: false },
  );
});
