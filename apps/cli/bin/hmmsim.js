#!/usr/bin/env node
// The installed `hmmsim` command: the compiled CLI (run `pnpm build` first when working in the
// repository, where `pnpm hmmsim` runs the TypeScript sources instead).
import { main } from '../dist/main.js';

await main(process.argv);
