#!/usr/bin/env node
// Published entry point: runs the compiled CLI from dist/ (npm run build).
import "../dist/cli/main.js";
