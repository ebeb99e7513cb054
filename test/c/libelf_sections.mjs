// Runs the emcc build of test/c/libelf_sections.c under Node:
//   node test/c/libelf_sections.mjs MODULE.cjs MODULE.wasm OBJECT
// The ELF bytes are copied into the wasm heap and opened with elf_memory().
import fs from 'node:fs';
import { createRequire } from 'node:module';

const [cjs, wasm, object] = process.argv.slice(2);
const require = createRequire(import.meta.url);
const factory = require(fs.realpathSync(cjs));
let out = '';
const mod = await factory({
  wasmBinary: fs.readFileSync(wasm),
  print: (s) => { out += s + '\n'; },
  printErr: (s) => { process.stderr.write(s + '\n'); },
});
const bytes = fs.readFileSync(object);
const ptr = mod._malloc(bytes.length);
mod.HEAPU8.set(bytes, ptr);
const rc = mod._list_sections(ptr, bytes.length);
mod._free(ptr);
process.stdout.write(out);
process.exit(rc);
