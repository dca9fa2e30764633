// The action's entry (action.yml `main`, bundled to action/dist/index.js).
import { run } from './run.ts';

await run();
