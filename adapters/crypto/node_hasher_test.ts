import { hasherSuite } from "../../src/digest/_hasher_suite_test.ts";
import { nodeHasher } from "./node_hasher.ts";

hasherSuite("nodeHasher", nodeHasher);
