import { hasherSuite } from "./_hasher_suite_test.ts";
import { wasmHasher } from "./wasm_hasher.ts";

hasherSuite("wasmHasher", wasmHasher);
