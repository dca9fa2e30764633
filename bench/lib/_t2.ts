import { measureInventory } from './memory.ts';
const n = Number(process.argv[2]);
console.log(n, JSON.stringify(await measureInventory(n, 'examples/entitlegate.yaml', process.argv.slice(3))));
